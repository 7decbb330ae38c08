"""TIMEOUT: a request past the front's timeout is stopped inside its own thread
(RequestTimeout), the other threads go on, and the exception never reaches another request."""

import signal
import threading
import time
import unittest

from tests.linkclient import RunnerCase, WorkerProcess, environ_for, wait_until
import slow
from cask_worker import interrupt
from cask_worker import protocol as p
from cask_worker.interrupt import Guard, RequestTimeout
from tests.test_worker import PYTHON


@unittest.skipUnless(Guard.available, "no way to raise in a thread on this interpreter")
class TimeoutTests(RunnerCase):
    threads = 2

    def setUp(self):
        super().setUp()
        del slow.started[:]
        del slow.finished[:]

    def test_a_busy_request_unwinds_through_finally_and_ends_with_error(self):
        busy = self.get("/slow/busy", query="10", headers=[("X-Tag", "victim")])
        wait_until(lambda: "victim" in slow.started)
        started = time.monotonic()
        self.client.send(busy, p.TIMEOUT)
        response = self.client.response(busy, timeout=5)
        self.assertLess(time.monotonic() - started, 2)
        self.assertEqual(response.error, "timed out")
        self.assertEqual(slow.finished, ["victim"])
        errors = self.worker.errors.getvalue()
        self.assertIn("Request stopped after the timeout GET /slow/busy", errors)
        self.assertIn("RequestTimeout", errors)
        self.assertIn("in busy", errors)

    def test_the_other_thread_keeps_serving_while_one_request_is_stopped(self):
        busy = self.get("/slow/busy", query="10", headers=[("X-Tag", "victim")])
        other = self.get("/slow/busy", query="0.4", headers=[("X-Tag", "innocent")])
        wait_until(lambda: len(slow.started) == 2)
        self.client.send(busy, p.TIMEOUT)
        self.assertEqual(self.client.response(busy, timeout=5).error, "timed out")
        response = self.client.response(other, timeout=5)
        self.assertEqual(response.status, "200 OK", response)
        self.assertEqual(bytes(response.body), b"done")

    def test_the_exception_never_reaches_the_next_request_of_the_thread(self):
        # TIMEOUT racing with the end of the request, over and over: every request gets
        # exactly one final frame and the next one on the same thread is untouched.
        for index in range(40):
            rid = self.get("/slow/busy", query="0.004")
            time.sleep(0.004 if index % 2 else 0.0)
            self.client.send(rid, p.TIMEOUT)
            first = self.client.response(rid, timeout=5)
            self.assertTrue(first.error == "timed out" or first.status == "200 OK", first)
            after = self.fetch("/echo")
            self.assertEqual(after.status, "200 OK", (index, after))
        self.assertNotIn("crashed", self.worker.errors.getvalue())

    def test_a_queued_request_is_answered_without_running(self):
        ids = [self.get("/slow/busy", query="0.3", headers=[("X-Tag", "t%d" % i)])
               for i in range(3)]
        wait_until(lambda: len(slow.started) == 2)
        self.client.send(ids[2], p.TIMEOUT)
        self.assertEqual(self.client.response(ids[2], timeout=5).error, "timed out")
        for rid in ids[:2]:
            self.assertEqual(self.client.response(rid, timeout=5).status, "200 OK")
        self.assertNotIn("t2", slow.started)

    def test_a_thread_waiting_for_window_is_woken_not_interrupted(self):
        self.client.auto_window = False
        rid = self.get("/stream/big")
        self.client.response(rid, until_final=False)  # HEAD with the first window's bytes
        time.sleep(0.05)
        self.client.send(rid, p.TIMEOUT)
        response = self.client.response(rid, timeout=5)
        self.assertEqual(response.error, "timed out")
        self.client.auto_window = True
        self.assertEqual(self.fetch("/echo").status, "200 OK")

    def test_an_app_that_swallows_the_exception_still_ends_with_error(self):
        rid = self.get("/slow/stubborn", query="0.3")
        time.sleep(0.05)
        self.client.send(rid, p.TIMEOUT)
        self.assertEqual(self.client.response(rid, timeout=5).error, "timed out")
        self.assertEqual(self.fetch("/echo").status, "200 OK")

    def test_timeout_for_an_unknown_request_is_ignored(self):
        self.client.send(999, p.TIMEOUT)
        self.assertEqual(self.fetch("/echo").status, "200 OK")


class GuardTests(unittest.TestCase):
    class Exchange:
        thread = None
        interrupted = False
        timed_out = False

    def test_interrupt_raises_only_while_the_thread_is_inside(self):
        if not Guard.available:
            self.skipTest("no way to raise in a thread on this interpreter")
        guard = Guard()
        exchange = self.Exchange()
        self.assertFalse(guard.interrupt(exchange))
        inside = threading.Event()
        caught = []

        def run():
            try:
                exchange.thread = threading.get_ident()
                inside.set()
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    time.sleep(0.001)
            except RequestTimeout:
                caught.append(True)
            guard.leave(exchange)

        thread = threading.Thread(target=run)
        thread.start()
        inside.wait(5)
        self.assertTrue(guard.interrupt(exchange))
        self.assertFalse(guard.interrupt(exchange), "only once per exchange")
        thread.join(5)
        self.assertEqual(caught, [True])
        self.assertIsNone(exchange.thread)

    def test_the_method_is_named(self):
        self.assertIn(interrupt.METHOD, (
            "PyThreadState_SetAsyncExc", "__pypy__.thread._raise_in_thread", None))


class AbortTests(unittest.TestCase):
    def test_sigabrt_prints_the_busy_threads_and_exits_5(self):
        worker = WorkerProcess("router", "--threads", "2", python=PYTHON)
        try:
            client = worker.client
            client.ready()
            client.request(1, environ_for("/slow/blocked", query="30"))
            worker.stdout.wait_for("blocked")
            worker.proc.send_signal(signal.SIGABRT)
            self.assertEqual(worker.wait(), 5)
            text = worker.stderr.text
            self.assertIn("Request GET /slow/blocked?30 still running in thread", text)
            self.assertIn("in blocked", text)
        finally:
            worker.close()


if __name__ == "__main__":
    unittest.main()
