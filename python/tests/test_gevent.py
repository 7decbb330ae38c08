"""The gevent worker (`--worker-class gevent`) as the front starts it, with an interpreter that
has gevent (Debian's python3-gevent, or this one if it has gevent): the standard library is
patched before the app is imported, requests run in greenlets, and a timeout stops only its own
request."""

import os
import subprocess
import sys
import time
import unittest

from tests.linkclient import WorkerProcess, environ_for
from cask_worker import protocol as p


def python_with_gevent():
    for python in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(python) and subprocess.call(
                [python, "-c", "import gevent; gevent.get_hub()"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL) == 0:
            return python
    return None


PYTHON = python_with_gevent()


@unittest.skipIf(PYTHON is None, "gevent is not installed (apt-get install python3-gevent)")
class GeventWorkerTests(unittest.TestCase):
    def setUp(self):
        self.worker = WorkerProcess("gevent_app:application", "--worker-class", "gevent",
                                    "--worker-connections", "200", python=PYTHON)
        self.client = self.worker.client
        self.info = self.client.ready()
        self.next_id = 1

    def tearDown(self):
        self.worker.close()

    def send(self, path, query=""):
        rid = self.next_id
        self.next_id += 1
        self.client.request(rid, environ_for(path, query=query))
        return rid

    def test_ready_says_gevent_and_its_greenlets(self):
        self.assertEqual(self.info["worker_class"], "gevent")
        self.assertEqual(self.info["concurrency"], 200)
        self.assertEqual(self.info["interface"], "wsgi")

    def test_the_app_is_imported_after_the_patching(self):
        self.assertEqual(bytes(self.client.response(self.send("/patched")).body), b"yes")

    def test_requests_that_wait_run_side_by_side(self):
        started = time.monotonic()
        ids = [self.send("/sleep", "0.5") for _ in range(100)]
        for rid in ids:
            self.assertEqual(bytes(self.client.response(rid).body), b"slept 0.5")
        self.assertLess(time.monotonic() - started, 3)

    def test_a_timeout_stops_only_its_own_request(self):
        slow = self.send("/sleep", "30")
        neighbour = self.send("/sleep", "1")
        self.worker.stdout.wait_for("sleeping 30")
        self.worker.stdout.wait_for("sleeping 1")
        self.client.send(slow, p.TIMEOUT)
        self.assertEqual(self.client.response(slow, timeout=5).error, "timed out")
        self.worker.stdout.wait_for("interrupted 30 by RequestTimeout")
        self.worker.stderr.wait_for("Request stopped after the timeout GET /sleep")
        self.assertEqual(bytes(self.client.response(neighbour).body), b"slept 1")
        self.assertEqual(bytes(self.client.response(self.send("/")).body), b"ok")

    def test_stack_dump_shows_the_greenlet(self):
        rid = self.send("/sleep", "2")
        self.worker.stdout.wait_for("sleeping 2")
        self.client.send(rid, p.STACK_DUMP)
        stack = self.client.next_frame(rid)
        self.assertEqual(stack.kind, p.STACK)
        self.assertIn("gevent_app.py", stack.payload.decode())


@unittest.skipIf(PYTHON is None, "gevent is not installed (apt-get install python3-gevent)")
class GeventRefusalTests(unittest.TestCase):
    def test_what_runs_after_the_response_is_stopped_after_the_timeout(self):
        worker = WorkerProcess("gevent_app:application", "--worker-class", "gevent",
                               "--timeout", "0.3", "--timeout-grace", "5", python=PYTHON)
        self.addCleanup(worker.close)
        worker.client.ready()
        worker.client.request(1, environ_for("/sleep-after", query="30"))
        self.assertEqual(bytes(worker.client.response(1).body), b"all of it")
        worker.stdout.wait_for("interrupted after 30.0 by RequestTimeout", timeout=5)
        worker.stderr.wait_for("its response already sent: GET /sleep-after?30", timeout=5)
        worker.client.request(2, environ_for("/"))
        self.assertEqual(bytes(worker.client.response(2).body), b"ok")

    def test_an_asgi_app_is_refused(self):
        worker = WorkerProcess("asgi_router:app", "--worker-class", "gevent", python=PYTHON)
        self.addCleanup(worker.close)
        frame = worker.client.link_frame()
        self.assertEqual(frame.kind, p.LOAD_ERROR)
        self.assertIn("--worker-class gevent runs WSGI apps", frame.payload.decode())
        self.assertEqual(worker.wait(), 4)


class GeventMissingTests(unittest.TestCase):
    @unittest.skipIf(python_with_gevent() == sys.executable, "this Python has gevent")
    def test_without_gevent_the_worker_says_how_to_get_it(self):
        worker = WorkerProcess("gevent_app:application", "--worker-class", "gevent")
        self.addCleanup(worker.close)
        frame = worker.client.link_frame()
        self.assertEqual(frame.kind, p.LOAD_ERROR)
        self.assertIn("apt-get install python3-gevent", frame.payload.decode())
        self.assertEqual(worker.wait(), 4)


if __name__ == "__main__":
    unittest.main()
