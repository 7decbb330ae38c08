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


@unittest.skipUnless(Guard.available, "no way to raise in a thread on this interpreter")
class TailTimeoutTests(RunnerCase):
    """--timeout for what an app runs after its response ended, which the front no longer
    times: the runner's tail watch stops it in its thread, and asks to be replaced (RETIRE)
    when the thread does not come back."""

    threads = 1  # a thread kept by a tail would hold up every later request
    # Well above the short tail's 0.1 s, so that a slow machine does not stop it.
    tail_timeout = 0.5
    tail_grace = 0.5

    def setUp(self):
        super().setUp()
        del slow.started[:]
        del slow.finished[:]

    def assert_stopped_after_its_response(self, path):
        started = time.monotonic()
        response = self.client.response(self.get(path, query="10", headers=[("X-Tag", "tail")]))
        self.assertEqual((response.status, bytes(response.body)), ("200 OK", b"done"))
        # The one thread is back: the next request is answered well before the tail's 10 s.
        self.assertEqual(self.client.response(self.get("/echo"), timeout=5).status, "200 OK")
        self.assertLess(time.monotonic() - started, 3)
        self.assertEqual(slow.finished, ["tail"])
        errors = self.worker.errors.getvalue()
        self.assertIn(
            "Request stopped after the timeout, its response already sent: GET %s?10" % path, errors)
        self.assertIn("RequestTimeout", errors)
        self.assertIn("in _work", errors)

    def test_the_rest_of_an_iterable_is_stopped_after_the_timeout(self):
        self.assert_stopped_after_its_response("/slow/busy_after")

    def test_a_close_running_past_the_timeout_is_stopped(self):
        self.assert_stopped_after_its_response("/slow/busy_close")

    def test_a_tail_shorter_than_the_timeout_is_left_to_finish(self):
        rid = self.get("/slow/busy_after", query="0.1", headers=[("X-Tag", "short")])
        self.assertEqual(bytes(self.client.response(rid).body), b"done")
        self.assertEqual(self.fetch("/echo").status, "200 OK")
        wait_until(lambda: slow.finished == ["short"])
        self.assertNotIn("stopped", self.worker.errors.getvalue())
        self.assertEqual(self.client.link_frames, [])

    def test_a_tail_blocked_in_a_c_call_makes_the_worker_ask_to_be_replaced_once(self):
        rid = self.get("/slow/blocked_after", query="3", headers=[("X-Tag", "stuck")])
        self.assertEqual(bytes(self.client.response(rid).body), b"done")
        frame = self.client.link_frame(timeout=5)
        self.assertEqual(frame.kind, p.RETIRE)
        reason = frame.payload.decode()
        self.assertIn("a thread still runs GET /slow/blocked_after?3", reason)
        self.assertIn("after its response ended, past the 0.5 s timeout and its 0.5 s grace", reason)
        errors = self.worker.errors.getvalue()
        self.assertIn("Stuck after its response: GET /slow/blocked_after?3", errors)
        self.assertIn("in _work", errors)
        # Once the C call returns, the exception lands and the thread serves again; the
        # worker asked only once.
        self.assertEqual(self.client.response(self.get("/echo"), timeout=5).status, "200 OK")
        self.assertEqual(slow.finished, ["stuck"])
        self.assertEqual(self.client.link_frames, [])


class UntimedTailTests(RunnerCase):
    threads = 1

    def test_without_a_timeout_the_tail_runs_to_its_end(self):
        del slow.finished[:]
        rid = self.get("/slow/busy_after", query="0.8", headers=[("X-Tag", "long")])
        self.assertEqual(bytes(self.client.response(rid).body), b"done")
        self.assertEqual(self.client.response(self.get("/echo"), timeout=5).status, "200 OK")
        self.assertEqual(slow.finished, ["long"])
        self.assertNotIn("stopped", self.worker.errors.getvalue())
        self.assertEqual(
            [t.name for t in threading.enumerate() if t.name == "cask-tail-watch"], [])


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

    def test_the_worker_takes_the_timeout_from_its_command_line(self):
        worker = WorkerProcess("router", "--threads", "1", "--timeout", "0.3",
                               "--timeout-grace", "0.3", python=PYTHON)
        try:
            client = worker.client
            client.ready()
            client.request(1, environ_for("/slow/busy_after", query="10"))
            self.assertEqual(bytes(client.response(1).body), b"done")
            client.request(2, environ_for("/echo"))
            self.assertEqual(client.response(2, timeout=5).status, "200 OK")
            worker.stderr.wait_for("its response already sent: GET /slow/busy_after?10")
        finally:
            worker.close()

    def test_a_negative_timeout_is_refused(self):
        worker = WorkerProcess("router", "--timeout", "-1", python=PYTHON)
        try:
            self.assertEqual(worker.wait(), 2)
            self.assertIn("--timeout and --timeout-grace must be 0 or more", worker.stderr.text)
        finally:
            worker.close()


if __name__ == "__main__":
    unittest.main()
