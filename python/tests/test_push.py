"""Push streams (cask_worker/push.py) through a real Runner over a socketpair: the head
leaves with DETACHED and the thread is free, bytes sent from another thread arrive within
the window, and a stream ends once, whatever ends it (close, a client that stops reading,
CANCEL, TIMEOUT, STOP)."""

import threading
import unittest

from tests.linkclient import InProcessWorker, Response, environ_for, wait_until
from cask_worker import protocol as p
from cask_worker.errors import ResponseStateError
from cask_worker.push import MAX_PENDING


class PushApp:
    """Registers every stream it makes; /plain is an ordinary request."""

    def __init__(self):
        self.streams = []
        self.ended = []       # ids of streams whose close callbacks ran, in order
        self.closed = []      # ids of streams whose iterable's close() ran (PEP 3333)
        self.kept = None      # environ["cask.push_stream"] of the last /plain request

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/plain":
            self.kept = environ["cask.push_stream"]
            start_response("200 OK", [("Content-Length", "2")])
            return [b"ok"]
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        stream = environ["cask.push_stream"]()
        index = len(self.streams)
        self.streams.append(stream)
        stream.on_close(lambda: self.ended.append(index))
        if environ["PATH_INFO"] == "/early":
            stream.send(b"before the thread let go\n")
        elif environ["PATH_INFO"] == "/overflow":
            while stream.send(b"z" * 65536):
                pass
        return Wrapped(stream, lambda: self.closed.append(index))


class Wrapped:
    """An iterable around the stream with its own close(), as frameworks return."""

    def __init__(self, stream, on_close):
        self.stream = stream
        self.on_close = on_close

    def __iter__(self):
        return iter(self.stream)

    def close(self):
        self.on_close()


class PushCase(unittest.TestCase):
    """A Runner with one thread serving PushApp; the client grants windows if `auto_window`."""

    auto_window = True

    def setUp(self):
        self.app = PushApp()
        self.worker = InProcessWorker(self.app, threads=1, auto_window=self.auto_window)
        self.client = self.worker.client
        self.next_id = 1

    def tearDown(self):
        if self.worker.runner.exit_code is None:
            self.assertEqual(self.worker.stop(), 0)
        else:
            self.worker.close()

    def open(self, path="/events"):
        rid = self.next_id
        self.next_id += 1
        self.client.request(rid, environ_for(path))
        head = self.client.next_frame(rid)
        self.assertEqual(head.kind, p.HEAD)
        self.assertEqual(head.flags, p.FLAG_DETACHED)
        self.client.apply(self.client.responses.setdefault(rid, Response(rid)), head)
        return rid

    def plain(self):
        rid = self.next_id
        self.next_id += 1
        self.client.request(rid, environ_for("/plain"))
        return self.client.response(rid)


class PushStreamTests(PushCase):
    def test_the_thread_is_let_go_and_bytes_from_another_thread_follow_until_close(self):
        rid = self.open("/early")
        # One thread, and it serves the next request while the stream stays open.
        self.assertEqual(bytes(self.plain().body), b"ok")
        stream = self.app.streams[0]
        sender = threading.Thread(target=lambda: [stream.send("event %d\n" % i) for i in range(3)])
        sender.start()
        sender.join()
        stream.close()
        response = self.client.response(rid)
        self.assertEqual(bytes(response.body),
                         b"before the thread let go\nevent 0\nevent 1\nevent 2\n")
        self.assertIsNone(response.error)
        self.assertEqual(p.DATA, response.kinds[-1])
        wait_until(lambda: self.app.ended == [0] and self.app.closed == [0])
        self.assertTrue(stream.closed)
        self.assertFalse(stream.send(b"after the end"))
        self.assertNotIn(rid, self.worker.runner.exchanges)

    def test_a_stream_cut_before_its_thread_let_go_fails_the_request_before_its_head(self):
        rid = self.next_id
        self.next_id += 1
        self.client.request(rid, environ_for("/overflow"))
        response = self.client.response(rid)
        self.assertIsNone(response.status)
        self.assertIn("Push stream cut: the client has taken none of the last", response.error)
        self.assertEqual(self.app.ended, [0])
        self.assertEqual(self.app.closed, [0])
        self.assertEqual(bytes(self.plain().body), b"ok")

    def test_a_piece_larger_than_the_bound_goes_as_far_as_the_window_takes_it(self):
        rid = self.open()
        stream = self.app.streams[0]
        piece = b"w" * (MAX_PENDING + 65536)
        sender = threading.Thread(target=lambda: self.assertTrue(stream.send(piece)))
        sender.start()
        wait_until(lambda: len(self.client.response(rid, timeout=5, until_final=False).body)
                   >= len(piece))
        sender.join()
        stream.close()
        self.assertIsNone(self.client.response(rid).error)
        self.assertEqual(bytes(self.client.responses[rid].body), piece)

    def test_cancel_ends_a_detached_stream_once_with_error(self):
        rid = self.open()
        self.client.cancel(rid)
        self.assertEqual(self.client.response(rid).error, "cancelled")
        wait_until(lambda: self.app.ended == [0])
        self.assertFalse(self.app.streams[0].send(b"x"))
        self.app.streams[0].close()
        self.assertEqual(self.app.ended, [0])
        self.assertEqual(self.app.closed, [0])

    def test_timeout_ends_a_detached_stream_and_interrupts_no_thread(self):
        rid = self.open()
        self.client.send(rid, p.TIMEOUT)
        self.assertEqual(self.client.response(rid).error, "timed out")
        wait_until(lambda: self.app.ended == [0])
        # The thread that had served it was not interrupted: it serves on.
        for _ in range(3):
            self.assertEqual(bytes(self.plain().body), b"ok")
        self.assertEqual(self.worker.errors.getvalue(), "")

    def test_stop_ends_every_detached_stream_with_its_last_frame(self):
        first, second = self.open(), self.open()
        self.app.streams[1].send(b"last words")
        self.client.send(0, p.STOP)
        wait_until(lambda: self.worker.runner.exit_code is not None)
        self.assertEqual(self.worker.runner.exit_code, 0)
        for rid in (first, second):
            response = self.client.response(rid)
            self.assertIsNone(response.error)
        self.assertEqual(bytes(self.client.responses[second].body), b"last words")
        self.assertEqual(sorted(self.app.ended), [0, 1])

    def test_a_push_stream_asked_for_after_the_response_ended_is_refused_by_name(self):
        self.assertEqual(bytes(self.plain().body), b"ok")
        # The response is out before its thread is done with the exchange.
        rid = self.next_id - 1
        wait_until(lambda: rid not in self.worker.runner.exchanges)
        with self.assertRaisesRegex(ResponseStateError, "after the response ended"):
            self.app.kept()
        self.assertEqual(bytes(self.plain().body), b"ok")

    def test_a_stack_dump_says_no_thread_holds_it(self):
        rid = self.open()
        self.client.send(rid, p.STACK_DUMP)
        frame = self.client.next_frame(rid)
        self.assertEqual(frame.kind, p.STACK)
        self.assertIn(b"push stream", frame.payload)
        self.app.streams[0].close()
        self.client.response(rid)

    def test_only_the_server_iterates_a_stream(self):
        self.open()
        with self.assertRaises(RuntimeError):
            next(iter(self.app.streams[0]))
        self.app.streams[0].close()


class PushStreamWindowTests(PushCase):
    """The front grants nothing unless the test says so."""

    auto_window = False

    def test_bytes_past_the_window_wait_for_it_and_past_the_bound_the_stream_is_cut(self):
        rid = self.open()
        stream = self.app.streams[0]
        piece = b"y" * 65536
        taken = []
        # Sent from another thread, as an app does: this one reads the link meanwhile.
        sender = threading.Thread(target=lambda: taken.extend(
            stream.send(piece) for _ in range(p.INITIAL_WINDOW // len(piece) + 1)))
        sender.start()
        wait_until(lambda: len(self.client.response(rid, timeout=5, until_final=False).body)
                   >= p.INITIAL_WINDOW)
        sender.join()
        self.assertEqual(taken, [True] * 17)
        response = self.client.responses[rid]
        self.assertEqual(len(response.body), p.INITIAL_WINDOW)
        # The grant lets the rest through.
        self.client.window(rid, 65536)
        wait_until(lambda: len(self.client.response(rid, timeout=5, until_final=False).body)
                   == p.INITIAL_WINDOW + 65536)
        # Nothing more granted: a bit past MAX_PENDING held, and the stream is cut.
        held = []

        def flood():
            while stream.send(piece):
                held.append(len(piece))

        sender = threading.Thread(target=flood)
        sender.start()
        sender.join(10)
        self.assertLessEqual(sum(held), MAX_PENDING)
        self.assertTrue(stream.closed)
        response = self.client.response(rid)
        self.assertIn("Push stream cut", response.error)
        wait_until(lambda: self.app.ended == [0] and self.app.closed == [0])


if __name__ == "__main__":
    unittest.main()
