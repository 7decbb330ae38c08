"""The environ: constants, the per-request merge, --root-path, wsgi.input, FileWrapper."""

import io
import os
import shutil
import sys
import tempfile
import unittest

from tests.linkclient import environ_for
from cask_worker import protocol as p
from cask_worker.environ import (
    FileWrapper, apply_root_path, base_environ, build_environ, file_input, memory_input,
)
from cask_worker.errors import ProtocolError

BODY = b"first line\nsecond line\n\nlast line without newline"
INPUT_CALLS = [
    ("read", (), BODY),
    ("read", (-1,), BODY),
    ("read", (None,), BODY),
    ("read", (5,), BODY[:5]),
    ("read", (0,), b""),
    ("readline", (), b"first line\n"),
    ("readline", (3,), b"fir"),
    ("readline", (-1,), b"first line\n"),
    ("readlines", (), BODY.splitlines(True)),
    ("readlines", (12,), BODY.splitlines(True)[:2]),
    ("__iter__", (), BODY.splitlines(True)),
]


class BaseEnvironTests(unittest.TestCase):
    def test_base_has_the_pep_3333_constants(self):
        errors = io.StringIO()
        base = base_environ(4, True, errors)
        self.assertEqual(base["wsgi.version"], (1, 0))
        self.assertIs(base["wsgi.errors"], errors)
        self.assertIs(base["wsgi.multithread"], True)
        self.assertIs(base["wsgi.multiprocess"], True)
        self.assertIs(base["wsgi.run_once"], False)
        self.assertIs(base["wsgi.file_wrapper"], FileWrapper)
        self.assertIs(base["wsgi.input_terminated"], True)
        self.assertEqual(base["SERVER_SOFTWARE"], "Cask/0.1")
        single = base_environ(1, False)
        self.assertIs(single["wsgi.multithread"], False)
        self.assertIs(single["wsgi.multiprocess"], False)
        self.assertIs(single["wsgi.errors"], sys.stderr)

    def test_build_merges_the_request_onto_a_copy_of_the_base(self):
        base = base_environ(1, False)
        received = environ_for("/a/b", query="x=1", headers=[("X-Test", "\xe9")])
        environ = build_environ(base, p.encode_environ(received))
        for key, value in received.items():
            self.assertEqual(environ[key], value)
        self.assertEqual(environ["wsgi.version"], (1, 0))
        self.assertNotIn("PATH_INFO", base)
        self.assertEqual(build_environ(base, b""), base)

    def test_build_rejects_a_malformed_payload(self):
        with self.assertRaises(ProtocolError):
            build_environ({}, b"PATH_INFO\0/\0ORPHAN")


class RootPathTests(unittest.TestCase):
    def check(self, path, script_name, root, expected):
        environ = {"PATH_INFO": path, "SCRIPT_NAME": script_name}
        apply_root_path(environ, root)
        self.assertEqual((environ["SCRIPT_NAME"], environ["PATH_INFO"]), expected)

    def test_root_path_moves_a_matching_prefix_to_script_name(self):
        self.check("/app/users", "", "/app", ("/app", "/users"))
        self.check("/app", "", "/app", ("/app", ""))

    def test_root_path_keeps_a_path_the_proxy_already_stripped(self):
        self.check("/users", "", "/app", ("/app", "/users"))
        self.check("/application", "", "/app", ("/app", "/application"))

    def test_root_path_leaves_a_script_name_set_by_the_front(self):
        self.check("/x", "/mounted", "/app", ("/mounted", "/x"))

    def test_build_applies_root_path(self):
        environ = build_environ({}, p.encode_environ({"PATH_INFO": "/api/v1", "SCRIPT_NAME": ""}), "/api")
        self.assertEqual((environ["SCRIPT_NAME"], environ["PATH_INFO"]), ("/api", "/v1"))


class InputTests(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.path = os.path.join(self.folder, "body")
        with open(self.path, "wb") as f:
            f.write(BODY)

    def tearDown(self):
        shutil.rmtree(self.folder)

    def inputs(self):
        return [("memory", lambda: memory_input(BODY)), ("file", lambda: file_input(self.path))]

    def test_every_pep_3333_read_form_on_memory_and_file_bodies(self):
        for label, make in self.inputs():
            for name, args, expected in INPUT_CALLS:
                with self.subTest(body=label, call=name, args=args):
                    stream = make()
                    try:
                        if name == "__iter__":
                            self.assertEqual(list(stream), expected)
                        else:
                            self.assertEqual(getattr(stream, name)(*args), expected)
                    finally:
                        stream.close()

    def test_reads_end_exactly_at_the_end_of_the_body(self):
        for label, make in self.inputs():
            with self.subTest(body=label):
                stream = make()
                self.assertEqual(stream.read(len(BODY) + 100), BODY)
                self.assertEqual(stream.read(10), b"")
                self.assertEqual(stream.readline(), b"")
                stream.close()

    def test_empty_body(self):
        stream = memory_input(b"")
        self.assertEqual((stream.read(), stream.readline(), stream.readlines()), (b"", b"", []))


class FileWrapperTests(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.path = os.path.join(self.folder, "served.txt")
        with open(self.path, "wb") as f:
            f.write(b"0123456789" * 1000)

    def tearDown(self):
        shutil.rmtree(self.folder)

    def test_iterates_in_blocks_and_closes_the_file(self):
        f = open(self.path, "rb")
        wrapper = FileWrapper(f, 4096)
        blocks = list(wrapper)
        self.assertEqual([len(b) for b in blocks], [4096, 4096, 1808])
        wrapper.close()
        self.assertTrue(f.closed)
        FileWrapper(io.BytesIO(b"x")).close()  # a filelike without fileno/name is fine too
        FileWrapper(iter([])).close()          # and one without close()

    def test_sendfile_target_names_the_open_regular_file(self):
        with open(self.path, "rb") as f:
            f.seek(123)
            self.assertEqual(FileWrapper(f).sendfile_target(), (os.path.abspath(self.path), 123))

    def test_sendfile_target_resolves_a_relative_name(self):
        cwd = os.getcwd()
        os.chdir(self.folder)
        try:
            with open("served.txt", "rb") as f:
                self.assertEqual(FileWrapper(f).sendfile_target(), (os.path.abspath(self.path), 0))
        finally:
            os.chdir(cwd)

    def test_sendfile_target_refuses_what_the_front_cannot_open_by_name(self):
        with open(self.path, "rb") as f:
            os.rename(self.path, self.path + ".moved")
            with open(self.path, "wb") as other:
                other.write(b"another file under the old name")
            self.assertIsNone(FileWrapper(f).sendfile_target())
        self.assertIsNone(FileWrapper(io.BytesIO(b"memory")).sendfile_target())
        with open(self.path, "r") as text:
            self.assertIsNone(FileWrapper(text).sendfile_target())
        read_end, write_end = os.pipe()
        with os.fdopen(read_end, "rb") as pipe, os.fdopen(write_end, "wb"):
            self.assertIsNone(FileWrapper(pipe).sendfile_target())  # name is an int
        with tempfile.TemporaryFile() as anonymous:
            self.assertIsNone(FileWrapper(anonymous).sendfile_target())


if __name__ == "__main__":
    unittest.main()
