"""App specs: every form gunicorn users write, and the errors that name the problem."""

import os
import sys
import unittest

from tests.linkclient import APPS, REPO
from cask_worker.app import load_app, parse_object
from cask_worker.errors import AppLoadError


def call(app):
    seen = []
    body = b"".join(app({}, lambda status, headers, exc_info=None: seen.append(status)))
    return seen[0], body


class SpecTests(unittest.TestCase):
    def test_module_colon_callable(self):
        self.assertEqual(call(load_app("plain_module:application")), ("200 OK", b"plain application"))

    def test_module_alone_prefers_application_then_app(self):
        self.assertEqual(call(load_app("plain_module"))[1], b"plain application")
        self.assertEqual(call(load_app("factory"))[1], b"default app")

    def test_attribute_path(self):
        self.assertEqual(call(load_app("factory:holder.wsgi_app"))[1], b"from attribute")

    def test_factory_with_literal_arguments(self):
        app = load_app("factory:create_app('hi', n=2, extra={'a': [1, 2.5, None, True]})")
        self.assertEqual(call(app)[1], b"hihi|{'a': [1, 2.5, None, True]}")
        self.assertEqual(call(load_app("factory:create_app()"))[1], b"hello")

    def test_file_path_relative_to_the_cwd(self):
        cwd = os.getcwd()
        os.chdir(REPO)
        try:
            app = load_app("python/tests/apps/plain_module.py:application")
        finally:
            os.chdir(cwd)
        self.assertEqual(call(app)[1], b"plain application")
        self.assertIn(APPS, sys.path)

    def test_factory_arguments_must_be_literals(self):
        for spec, fragment in [
            ("factory:create_app(open('x'))", "open('x')"),
            ("factory:create_app(n=__import__('os'))", "__import__('os')"),
            ("factory:create_app(*[1])", "cannot use *"),
            ("factory:create_app(**{'n': 1})", "cannot use **"),
        ]:
            with self.subTest(spec):
                with self.assertRaises(AppLoadError) as caught:
                    load_app(spec)
                self.assertIn(fragment, str(caught.exception))

    def test_errors_name_the_module_and_the_attribute(self):
        cases = [
            ("factory:missing", "'missing' in 'factory'"),
            ("factory:holder.nothing", "'nothing' in 'factory:holder'"),
            ("factory:not_callable", "factory:not_callable is int"),
            ("factory:not_callable()", "Factory factory:not_callable is not callable"),
            ("echo:json", "must be callable: echo:json is module"),
            ("failing", "no 'application' or 'app'"),
            ("factory:1 + 2", "must be a name"),
            ("factory:create_app(", "not a name or a call"),
            ("factory:", "nothing after the colon"),
            (":app", "no module"),
            ("python/tests/apps/nope.py:app", "App file not found"),
        ]
        cwd = os.getcwd()
        os.chdir(REPO)
        try:
            for spec, fragment in cases:
                with self.subTest(spec):
                    with self.assertRaises(AppLoadError) as caught:
                        load_app(spec)
                    self.assertIn(fragment, str(caught.exception))
        finally:
            os.chdir(cwd)

    def test_import_errors_of_the_app_propagate_unchanged(self):
        with self.assertRaises(RuntimeError):
            load_app("broken_import:app")
        with self.assertRaises(ImportError):
            load_app("no_such_module_for_cask:app")

    def test_parse_object(self):
        self.assertEqual(parse_object("a"), (["a"], None))
        self.assertEqual(parse_object("a.b.c"), (["a", "b", "c"], None))
        self.assertEqual(parse_object("f(1, x='y')"), (["f"], ((1,), {"x": "y"})))
        self.assertEqual(parse_object("m.f(-1, (2, 3))"), (["m", "f"], ((-1, (2, 3)), {})))


if __name__ == "__main__":
    unittest.main()
