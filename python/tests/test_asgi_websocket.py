"""ASGI WebSockets in the worker, over a real link: the handshake answers, messages both
ways within their windows, closes from either side, and the final frame."""

import os
import unittest

from tests.linkclient import WorkerProcess, environ_for
from cask_worker import protocol as p


class WebSocketTests(unittest.TestCase):
    def setUp(self):
        self.worker = WorkerProcess("asgi_ws:app", "--worker-connections", "20")
        self.client = self.worker.client
        self.info = self.client.ready()
        self.next_id = 1

    def tearDown(self):
        self.worker.close()

    def open(self, path, query="", protocols=None):
        rid = self.next_id
        self.next_id += 1
        headers = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
        if protocols:
            headers.append(("Sec-WebSocket-Protocol", protocols))
        environ = environ_for(path, query=query, headers=headers)
        self.client.send(rid, p.WEBSOCKET, p.FLAG_END, p.encode_environ(environ))
        return rid

    def frame(self, rid):
        return self.client.next_frame(rid)

    def message(self, rid, data, binary=False):
        self.client.send(rid, p.WS_MESSAGE, p.FLAG_BINARY if binary else 0, data)

    def test_accept_with_a_subprotocol_and_headers_then_echo(self):
        rid = self.open("/echo", protocols="superchat, chat")
        accept = self.frame(rid)
        self.assertEqual(accept.kind, p.WS_ACCEPT)
        self.assertEqual(p.decode_ws_accept(accept.payload), ("chat", [("x-echo", "yes")]))
        self.message(rid, "h\u00e9llo".encode())
        echoed = self.frame(rid)
        self.assertEqual((echoed.kind, echoed.flags, echoed.payload),
                         (p.WS_SEND, 0, "h\u00e9llo".encode()))
        self.message(rid, b"\x00\xff", binary=True)
        echoed = self.frame(rid)
        self.assertEqual((echoed.kind, echoed.flags, echoed.payload),
                         (p.WS_SEND, p.FLAG_BINARY, b"\x00\xff"))
        self.client.send(rid, p.WS_CLOSED, 0, p.encode_ws_close(1001, "going"))
        self.worker.stdout.wait_for("disconnect 1001 /echo")
        final = self.frame(rid)
        self.assertEqual((final.kind, final.flags, final.payload), (p.WS_CLOSE, p.FLAG_END, b""))

    def test_close_before_accept_is_a_403(self):
        for path in ("/deny", "/no-accept"):
            rid = self.open(path)
            head = self.frame(rid)
            self.assertEqual((head.kind, head.flags), (p.HEAD, p.FLAG_END))
            self.assertEqual(p.decode_head(head.payload)[0], "403 Forbidden")

    def test_an_http_response_refuses_the_handshake(self):
        rid = self.open("/http-deny")
        head = self.frame(rid)
        status, headers, body = p.decode_head(head.payload)
        self.assertEqual((status, body, head.flags), ("401 Unauthorized", b"who are you", p.FLAG_END))

    def test_errors_before_and_after_accept(self):
        rid = self.open("/raise-before")
        error = self.frame(rid)
        self.assertEqual(error.kind, p.ERROR)
        self.assertIn("failed before accept", error.payload.decode())
        rid = self.open("/raise-after")
        self.assertEqual(self.frame(rid).kind, p.WS_ACCEPT)
        error = self.frame(rid)
        self.assertEqual(error.kind, p.ERROR)
        self.assertIn("failed after accept", error.payload.decode())

    def test_the_app_closes_with_its_code_then_ends(self):
        rid = self.open("/close")
        self.assertEqual(self.frame(rid).kind, p.WS_ACCEPT)
        self.assertEqual(self.frame(rid).payload, b"bye")
        close = self.frame(rid)
        self.assertEqual((close.kind, close.flags), (p.WS_CLOSE, 0))
        self.assertEqual(p.decode_ws_close(close.payload), (4001, "done"))
        final = self.frame(rid)
        self.assertEqual((final.kind, final.flags), (p.WS_CLOSE, p.FLAG_END))

    def test_messages_to_the_client_wait_for_the_window(self):
        rid = self.open("/flood", query="40")  # 40 x 64 KiB: two and a half windows
        self.assertEqual(self.frame(rid).kind, p.WS_ACCEPT)
        got = 0
        while got < p.INITIAL_WINDOW:
            got += len(self.frame(rid).payload)
        with self.assertRaises(TimeoutError):
            self.client.next_frame(rid, timeout=0.3)
        self.client.window(rid, 4 * 1024 * 1024)
        while True:
            frame = self.frame(rid)
            if frame.kind != p.WS_SEND:
                break
            got += len(frame.payload)
        self.assertEqual(got, 40 * 65536)
        self.worker.stdout.wait_for("flood sent 40")

    def test_messages_from_the_client_are_credited_as_the_app_takes_them(self):
        rid = self.open("/slow-reader", query="0.3")
        self.assertEqual(self.frame(rid).kind, p.WS_ACCEPT)
        piece = b"m" * 65536
        for _ in range(16):  # the whole window, before the app reads anything
            self.message(rid, piece, binary=True)
        credit = self.frame(rid)
        self.assertEqual(credit.kind, p.CREDIT)
        credited = p.decode_window(credit.payload)
        self.assertGreaterEqual(credited, p.GRANT_STEP)
        for _ in range(32):
            self.message(rid, piece, binary=True)
        self.worker.stdout.wait_for("slow reader got %d" % (3 * 1024 * 1024))

    def test_empty_messages_are_credited_their_cost(self):
        # Each message is charged WS_MESSAGE_COST on top of its payload by the front, so an
        # empty one is credited that much once the app takes it: a quarter window of them
        # comes back as one CREDIT of exactly GRANT_STEP.
        rid = self.open("/slow-reader", query="0.1")
        self.assertEqual(self.frame(rid).kind, p.WS_ACCEPT)
        for _ in range(p.GRANT_STEP // p.WS_MESSAGE_COST):
            self.message(rid, b"", binary=True)
        credit = self.frame(rid)
        self.assertEqual(credit.kind, p.CREDIT)
        self.assertEqual(p.decode_window(credit.payload), p.GRANT_STEP)
        self.client.send(rid, p.WS_CLOSED, 0, p.encode_ws_close(1000, ""))
        self.worker.stdout.wait_for("slow reader got 0")

    def test_a_client_gone_before_the_app_answered_ends_the_exchange(self):
        rid = self.open("/echo")
        self.client.cancel(rid)
        kinds = []
        while True:
            frame = self.frame(rid)
            kinds.append(frame.kind)
            if frame.flags & p.FLAG_END or frame.kind == p.ERROR:
                break
        self.assertEqual(kinds[-1], p.WS_CLOSE)


if __name__ == "__main__":
    unittest.main()
