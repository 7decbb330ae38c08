"""A response's final frame waits on the link only while the worker has another request
queued, and never longer than HOLD_SECONDS (Runner.send_end), over a real socket pair with
the runner's own threads."""

import select
import threading
import time
import unittest
from unittest import mock

from tests.linkclient import InProcessWorker, environ_for, wait_until
from cask_worker import protocol as p
from cask_worker import runner as runner_module


def _requests(*paths):
    """REQUEST frames for `paths` (ids 1, 2, ...), as one write: the reader queues them all."""
    return b"".join(
        p.encode_frame(rid, p.REQUEST, p.FLAG_END, p.encode_environ(environ_for(path)))
        for rid, path in enumerate(paths, start=1))


def _link_is_empty(sock):
    """Whether nothing has arrived on `sock` yet (polled, not read)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable


class HeldFinalFramesTest(unittest.TestCase):
    def start(self, app, threads=1):
        worker = InProcessWorker(app, threads=threads)
        self.addCleanup(worker.close)
        return worker

    def test_a_final_frame_leaves_with_the_next_queued_requests_answer(self):
        seen = {}
        worker = None

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            path = environ["PATH_INFO"]
            if path == "/a":
                # The second request is in the queue before this one answers.
                wait_until(lambda: not worker.runner.queue.empty())
            else:
                seen["first answer on the link while the second ran"] = not _link_is_empty(
                    worker.client.sock)
            return [path.encode()]

        with mock.patch.object(runner_module, "HOLD_SECONDS", 30.0):
            worker = self.start(app)
            started = time.monotonic()
            worker.client.sock.sendall(_requests("/a", "/b"))
            first = worker.client.response(1, timeout=10)
            second = worker.client.response(2, timeout=10)
        self.assertEqual((first.status, bytes(first.body)), ("200 OK", b"/a"))
        self.assertEqual((second.status, bytes(second.body)), ("200 OK", b"/b"))
        self.assertEqual(seen, {"first answer on the link while the second ran": False})
        # Both left with the second answer, not at the 30-second deadline.
        self.assertLess(time.monotonic() - started, 10)

    def test_a_held_frame_leaves_by_its_deadline_while_the_next_request_runs(self):
        release = threading.Event()
        self.addCleanup(release.set)
        worker = None

        def app(environ, start_response):
            start_response("200 OK", [])
            if environ["PATH_INFO"] == "/a":
                wait_until(lambda: not worker.runner.queue.empty())
            else:
                release.wait(30)  # a slow request: the first answer must not wait for it
            return [environ["PATH_INFO"].encode()]

        with mock.patch.object(runner_module, "HOLD_SECONDS", 0.2):
            worker = self.start(app)
            worker.client.sock.sendall(_requests("/a", "/b"))
            first = worker.client.response(1, timeout=10)
            self.assertFalse(release.is_set())
            release.set()
            second = worker.client.response(2, timeout=10)
        self.assertEqual((bytes(first.body), bytes(second.body)), (b"/a", b"/b"))

    def test_with_nothing_queued_a_final_frame_is_written_at_once(self):
        def app(environ, start_response):
            start_response("200 OK", [])
            return [b"only"]

        with mock.patch.object(runner_module, "HOLD_SECONDS", 30.0):
            worker = self.start(app, threads=2)
            for rid in (1, 2, 3):
                worker.client.request(rid, environ_for("/"))
                response = worker.client.response(rid, timeout=5)
                self.assertEqual(bytes(response.body), b"only")

    def test_a_stopping_worker_sends_what_it_holds_before_it_exits(self):
        worker = None

        def app(environ, start_response):
            start_response("200 OK", [])
            if environ["PATH_INFO"] == "/a":
                wait_until(lambda: not worker.runner.queue.empty())
            return [environ["PATH_INFO"].encode()]

        with mock.patch.object(runner_module, "HOLD_SECONDS", 30.0):
            worker = self.start(app)
            # The STOP's sentinel is queued behind /b, so /b's answer is held too.
            worker.client.sock.sendall(_requests("/a", "/b") + p.encode_frame(0, p.STOP, 0, b""))
            code = []
            waiter = threading.Thread(target=lambda: code.append(worker.runner.wait()))
            waiter.start()
            waiter.join(10)
            first = worker.client.response(1, timeout=2)
            second = worker.client.response(2, timeout=2)
        self.assertEqual(code, [runner_module.EXIT_STOPPED])
        self.assertEqual((bytes(first.body), bytes(second.body)), (b"/a", b"/b"))


if __name__ == "__main__":
    unittest.main()
