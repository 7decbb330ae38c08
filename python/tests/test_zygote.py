"""The zygote of --preload: a real zygote process with its control channel and one slot, as
src/pool/zygote.ts starts it; a worker forked from it, and an app it could not import."""

import json
import os
import socket
import subprocess
import tempfile
import unittest

from tests.linkclient import PYTHON_DIR
from tests.test_worker import PYTHON
from cask_worker import protocol as p
from cask_worker import zygote as z

APP = "def application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n"


class Zygote:
    """A zygote on fds 3 (control) and 4-6 (slot 0), the other ends kept here."""

    def __init__(self, app_dir, app):
        self.control, control_child = socket.socketpair()
        self.out, out_child = socket.socketpair()
        self.err, err_child = socket.socketpair()
        self.link, link_child = socket.socketpair()
        fds = [c.fileno() for c in (control_child, out_child, err_child, link_child)]
        for fd in fds:
            os.set_inheritable(fd, True)

        def arrange():
            # Each end to its place: first out of the way, then down to 3, 4, 5, 6.
            moved = [os.dup(fd) for fd in fds]
            for target, fd in enumerate(moved, start=3):
                os.dup2(fd, target)

        self.process = subprocess.Popen(
            [PYTHON, "-m", "cask_worker.zygote", "--slots", "1", "--",
             "--app", app, "--chdir", app_dir],
            env=dict(os.environ, PYTHONPATH=PYTHON_DIR), close_fds=False, preexec_fn=arrange,
            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for sock in (control_child, out_child, err_child, link_child):
            sock.close()
        self.lines = self.control.makefile("rb")

    def message(self):
        return json.loads(self.lines.readline())

    def send(self, message):
        self.control.sendall(json.dumps(message).encode() + b"\n")

    def link_frames(self):
        decoder = p.FrameDecoder()
        self.link.settimeout(10)
        frames = []
        while not frames:
            frames = decoder.feed(self.link.recv(65536))
        return frames

    def close(self):
        # The file object holds the socket open too: both go, or the zygote never sees EOF.
        self.lines.close()
        self.control.close()
        self.process.wait(timeout=10)
        self.process.stderr.close()
        for sock in (self.out, self.err, self.link):
            sock.close()


class ZygoteTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        with open(os.path.join(self.dir.name, "tiny.py"), "w") as out:
            out.write(APP)

    def test_a_forked_worker_says_ready_on_its_link_and_its_exit_is_reported(self):
        zygote = Zygote(self.dir.name, "tiny:application")
        self.addCleanup(zygote.close)
        ready = zygote.message()
        self.assertEqual(ready, {"ready": zygote.process.pid})
        zygote.send({"fork": 0, "argv": ["--app", "tiny:application", "--age", "1"]})
        forked = zygote.message()
        self.assertEqual(forked["forked"], 0)
        self.assertNotEqual(forked["pid"], zygote.process.pid)
        self.assertEqual(zygote.link_frames()[0][1], p.READY)
        os.kill(forked["pid"], 15)
        exited = zygote.message()
        self.assertEqual((exited["exit"], exited["pid"]), (0, forked["pid"]))

    def test_an_app_that_does_not_import_fails_each_fork_with_load_error(self):
        zygote = Zygote(self.dir.name, "missing_module:application")
        self.addCleanup(zygote.close)
        self.assertIn("ModuleNotFoundError", zygote.message()["error"])
        zygote.send({"fork": 0, "argv": []})
        self.assertEqual(zygote.message(), {"exit": 0, "pid": None, "code": 4, "signal": None})
        self.assertEqual(zygote.link_frames()[0][1], p.LOAD_ERROR)


class ArgvTests(unittest.TestCase):
    def test_slots_come_before_the_worker_arguments(self):
        self.assertEqual(z.split_argv(["--slots", "3", "--", "--app", "a:b"]), (3, ["--app", "a:b"]))
        with self.assertRaises(SystemExit):
            z.split_argv(["--app", "a:b"])


if __name__ == "__main__":
    unittest.main()
