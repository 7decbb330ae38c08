"""The development error page (cask_worker.devpage) and the source-file report
(cask_worker.sources): frames, source, locals and their masking, escaping, chained
exceptions, a SyntaxError's own line, JSON, and which files count as the app's."""

import json
import os
import shutil
import sys
import tempfile
import unittest

from tests.linkclient import PYTHON_DIR  # noqa: F401  (puts cask_worker on sys.path)
from cask_worker import devpage, protocol as p
from cask_worker.sources import Sources, is_library, traceback_files


def raise_in_view(password="hun" + "ter2", n=3):
    # The values are built, so that the source shown on the page does not hold them.
    api_token = "tok" + "-123"
    settings = {"DATABASE_PASSWORD": "pw" + "-456", "DEBUG": True, "items": list(range(500))}
    long_text = "x" * 5000
    return n / 0


def capture(fn, *args):
    try:
        fn(*args)
    except BaseException:
        return sys.exc_info()
    raise AssertionError("did not raise")


def page_of(exc_info, environ=None, as_json=False):
    status, headers, body = p.decode_head(devpage.response(exc_info, environ, as_json))
    return status, dict(headers), body.decode("utf-8")


class PageTests(unittest.TestCase):
    def test_the_page_names_the_exception_and_each_frame_with_its_source(self):
        status, headers, html = page_of(capture(raise_in_view),
                                        {"REQUEST_METHOD": "GET", "RAW_URI": "/x"})
        self.assertEqual(status, "500 Internal Server Error")
        self.assertEqual(headers["Content-Type"], "text/html; charset=utf-8")
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertEqual(int(headers["Content-Length"]), len(html.encode()))
        self.assertIn("<h1>ZeroDivisionError: division by zero</h1>", html)
        self.assertIn("while handling GET /x", html)
        self.assertIn('in <span class="fn">raise_in_view</span>', html)
        self.assertIn("return n / 0", html)
        self.assertIn('<span class="here">', html)
        self.assertIn("<textarea readonly>Traceback (most recent call last)", html)

    def test_locals_are_shown_and_secret_looking_names_masked(self):
        _, _, html = page_of(capture(raise_in_view))
        self.assertIn('<td class="name">n</td><td>3</td>', html)
        self.assertIn('<td class="name">password</td><td>********</td>', html)
        self.assertIn('<td class="name">api_token</td><td>********</td>', html)
        self.assertIn("&#x27;DATABASE_PASSWORD&#x27;: ********", html)
        self.assertIn("&#x27;DEBUG&#x27;: True", html)
        for secret in ("hunter2", "tok-123", "pw-456"):
            self.assertNotIn(secret, html)

    def test_a_long_repr_is_cut(self):
        _, _, body = page_of(capture(raise_in_view), as_json=True)
        frame = json.loads(body)["error"]["exceptions"][0]["frames"][-1]
        self.assertLessEqual(len(frame["locals"]["long_text"]), devpage.MAX_REPR)
        self.assertLessEqual(len(frame["locals"]["settings"]), devpage.MAX_REPR)
        self.assertIn(", ...]", frame["locals"]["settings"])

    def test_html_in_a_message_or_a_value_is_escaped(self):
        def view():
            markup = "<script>alert(1)</script>"
            raise ValueError("<img src=x onerror=alert(2)>")
        _, _, html = page_of(capture(view))
        self.assertNotIn("<script>alert(1)", html)
        self.assertNotIn("<img src=x", html)
        self.assertIn("&lt;img src=x onerror=alert(2)&gt;", html)

    def test_a_repr_that_raises_does_not_break_the_page(self):
        class Hostile:
            def __repr__(self):
                raise RuntimeError("no repr for you")

        def view():
            thing = Hostile()
            raise KeyError("k")
        _, _, html = page_of(capture(view))
        self.assertIn("KeyError", html)
        self.assertIn("&lt;Hostile instance at", html)

    def test_a_chained_exception_shows_both_oldest_first(self):
        def view():
            try:
                {}["missing"]
            except KeyError as error:
                raise RuntimeError("lookup failed") from error
        _, _, body = page_of(capture(view), as_json=True)
        exceptions = json.loads(body)["error"]["exceptions"]
        self.assertEqual([e["type"] for e in exceptions], ["KeyError", "RuntimeError"])
        self.assertIn("direct cause", exceptions[1]["link"])

    def test_a_syntax_error_shows_the_line_that_would_not_compile(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, "broken_mod_devpage.py")
        with open(path, "w") as f:
            f.write("x = 1\ndef f(:\n    pass\n")

        def load():
            with open(path) as f:
                compile(f.read(), path, "exec")
        _, _, html = page_of(capture(load))
        # The message differs between interpreters ("invalid syntax", PyPy's "parenthesis is
        # never closed ... lines 2-4"); the file and the line do not.
        self.assertRegex(html, r"<h1>SyntaxError: [^<]*\(broken_mod_devpage\.py, lines? 2")
        self.assertIn("broken_mod_devpage.py, line 2", html)
        self.assertIn("def f(:", html)

    def test_json_is_chosen_from_accept(self):
        exc_info = capture(raise_in_view)
        _, headers, body = page_of(exc_info, {"HTTP_ACCEPT": "application/json"}, as_json=None)
        self.assertEqual(headers["Content-Type"], "application/json")
        error = json.loads(body)["error"]
        self.assertEqual(error["type"], "ZeroDivisionError")
        self.assertEqual(error["exceptions"][0]["frames"][-1]["code"].strip(), "return n / 0")
        self.assertEqual(error["exceptions"][0]["frames"][-1]["locals"]["password"], "********")
        _, headers, _ = page_of(exc_info, {"HTTP_ACCEPT": "text/html,application/json"}, None)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))


class SourcesTests(unittest.TestCase):
    def test_the_standard_library_and_the_worker_are_library_files(self):
        self.assertTrue(is_library(os.__file__))
        self.assertTrue(is_library(devpage.__file__))
        self.assertTrue(is_library("<frozen importlib._bootstrap>"))
        self.assertTrue(is_library("/srv/venv/lib/python3.11/site-packages/flask/app.py"))
        self.assertFalse(is_library("/srv/project/app.py"))

    def test_new_files_reports_a_module_imported_since_the_last_call_once(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        with open(os.path.join(folder, "fresh_mod_sources.py"), "w") as f:
            f.write("VALUE = 1\n")
        sys.path.insert(0, folder)
        self.addCleanup(sys.path.remove, folder)
        self.addCleanup(sys.modules.pop, "fresh_mod_sources", None)
        sources = Sources()
        sources.new_files()
        import fresh_mod_sources  # noqa: F401
        self.assertEqual(sources.new_files(), [os.path.join(folder, "fresh_mod_sources.py")])
        self.assertEqual(sources.new_files(), [])

    def test_traceback_files_include_a_syntax_errors_file(self):
        error = SyntaxError("bad", ("/srv/app/broken.py", 3, 1, "def ("))
        try:
            raise error
        except SyntaxError:
            files = traceback_files(sys.exc_info()[1])
        self.assertIn("/srv/app/broken.py", files)
        self.assertIn(__file__, files)


if __name__ == "__main__":
    unittest.main()


class ConsoleTests(unittest.TestCase):
    def setUp(self):
        from cask_worker.console import Consoles
        self.consoles = Consoles()
        exc_info = capture(raise_in_view)
        self.payload = devpage.response(exc_info, {}, False, None, self.consoles)
        self.key = next(iter(self.consoles._tracebacks))
        self.frame = len(self.consoles._tracebacks[self.key]) - 1  # raise_in_view

    def test_the_page_carries_the_traceback_id_a_form_per_frame_and_a_nonced_script(self):
        _, headers, body = p.decode_head(self.payload)
        html = body.decode()
        policy = dict(headers)["Content-Security-Policy"]
        nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
        self.assertIn('<body data-console="%s">' % self.key, html)
        self.assertIn('<form class="console" data-frame="%d">' % self.frame, html)
        self.assertIn('<script nonce="%s">' % nonce, html)
        self.assertIn("connect-src 'self'", policy)
        self.assertTrue(self.key.startswith("%d-" % os.getpid()))

    def test_a_line_runs_in_the_frame_and_its_names_stay_for_the_next_one(self):
        run = self.consoles.run
        self.assertEqual(run(self.key, self.frame, "n * 2"), {"output": "6\n"})
        self.assertEqual(run(self.key, self.frame, "m = n + 1"), {"output": ""})
        self.assertEqual(run(self.key, self.frame, "print(m, password)"),
                         {"output": "4 hunter2\n"})
        self.assertEqual(run(self.key, self.frame, "import os as o\no.sep"),
                         {"output": repr(os.sep) + "\n"})

    def test_an_error_in_a_line_comes_back_as_its_traceback(self):
        output = self.consoles.run(self.key, self.frame, "n / 0")["output"]
        self.assertIn("ZeroDivisionError", output)
        self.assertIn('File "<console>", line 1', output)

    def test_an_unknown_traceback_or_frame_is_an_error(self):
        self.assertIn("gone", self.consoles.run("1-nope", 0, "1")["error"])
        self.assertIn("No frame", self.consoles.run(self.key, 99, "1")["error"])
        self.assertIn("No frame", self.consoles.run(self.key, "0", "1")["error"])

    def test_only_the_last_tracebacks_are_kept(self):
        from cask_worker import console
        for _ in range(console.MAX_TRACEBACKS):
            self.consoles.keep(capture(raise_in_view)[1])
        self.assertNotIn(self.key, self.consoles._tracebacks)
        self.assertEqual(len(self.consoles._tracebacks), console.MAX_TRACEBACKS)
