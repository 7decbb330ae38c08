"""The link codec: golden byte vectors shared with the TypeScript side, and the
incremental decoder at every split of the stream."""

import json
import os
import struct
import unittest

from tests.linkclient import REPO
from cask_worker import protocol as p
from cask_worker.errors import ProtocolError

VECTORS = os.path.join(REPO, "test", "fixtures", "ipc-vectors", "vectors.json")
ALL_KINDS = (0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0a,
             0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x20, 0x21, 0x22, 0x23, 0x24,
             0x25, 0x0c, 0x0d, 0x0e, 0x0f, 0x19, 0x1a, 0x1b)


def load_vectors():
    if not os.path.exists(VECTORS):
        return None
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)


class VectorTests(unittest.TestCase):
    """test/fixtures/ipc-vectors/vectors.json, written from the TypeScript codec."""

    @classmethod
    def setUpClass(cls):
        cls.vectors = load_vectors()
        if cls.vectors is None:
            raise unittest.SkipTest("no byte vectors yet at %s" % VECTORS)

    def test_vectors_cover_every_kind(self):
        kinds = {v["kind"] for v in self.vectors}
        for kind in ALL_KINDS:
            self.assertIn(kind, kinds, "no vector for kind 0x%02x" % kind)

    def test_protocol_py_knows_every_kind_of_the_vectors(self):
        self.assertEqual(set(p.KIND_NAMES), set(ALL_KINDS))
        for v in self.vectors:
            self.assertIn(v["kind"], p.KIND_NAMES, "kind 0x%02x unknown to protocol.py" % v["kind"])

    def test_decoder_decodes_and_encode_frame_reencodes_every_vector(self):
        for v in self.vectors:
            with self.subTest(v["name"]):
                data = bytes.fromhex(v["hex"])
                payload = bytes.fromhex(v["payload_hex"])
                frames = p.FrameDecoder().feed(data)
                self.assertEqual(len(frames), 1)
                frame = frames[0]
                self.assertEqual(frame.id, v["id"])
                self.assertEqual(frame.kind, v["kind"])
                self.assertEqual(frame.flags, v["flags"])
                self.assertEqual(frame.payload, payload)
                self.assertEqual(p.encode_frame(v["id"], v["kind"], v["flags"], payload), data)

    def test_decoded_views_match_every_vector(self):
        for v in self.vectors:
            payload = bytes.fromhex(v["payload_hex"])
            with self.subTest(v["name"]):
                if "environ" in v:
                    self.assertEqual(p.decode_environ(payload), v["environ"])
                    self.assertEqual(p.encode_environ(v["environ"]), payload)
                if "head" in v:
                    status, headers, body = p.decode_head(payload)
                    self.assertEqual(status, v["head"]["status"])
                    self.assertEqual([list(h) for h in headers], v["head"]["headers"])
                    self.assertEqual(body.hex(), v["head"]["body_hex"])
                    again = p.encode_head(v["head"]["status"],
                                          [tuple(h) for h in v["head"]["headers"]],
                                          bytes.fromhex(v["head"]["body_hex"]))
                    self.assertEqual(again, payload)
                if "window" in v:
                    self.assertEqual(p.decode_window(payload), v["window"])
                    self.assertEqual(p.encode_window(v["window"]), payload)
                if "sendfile" in v:
                    view = v["sendfile"]
                    # JSON numbers cannot hold 2**64 - 1 exactly: -1 stands for "to EOF".
                    length = p.TO_EOF if view["length"] in (-1, p.TO_EOF) else view["length"]
                    self.assertEqual(p.decode_sendfile(payload), (view["offset"], length, view["path"]))
                    self.assertEqual(p.encode_sendfile(view["offset"], length, view["path"]), payload)
                if "log" in v:
                    self.assertEqual(p.decode_log(payload), (v["log"]["level"], v["log"]["text"]))
                    self.assertEqual(p.encode_log(v["log"]["level"], v["log"]["text"]), payload)
                if "ws_close" in v:
                    close = v["ws_close"]
                    self.assertEqual(p.decode_ws_close(payload), (close["code"], close["reason"]))
                    if payload:
                        self.assertEqual(p.encode_ws_close(close["code"], close["reason"]), payload)
                if "ws_accept" in v:
                    accept = v["ws_accept"]
                    headers = [tuple(h) for h in accept["headers"]]
                    self.assertEqual(p.decode_ws_accept(payload), (accept["subprotocol"], headers))
                    self.assertEqual(p.encode_ws_accept(accept["subprotocol"], headers), payload)

    def test_all_vectors_in_one_stream_decode_at_every_split(self):
        stream = b"".join(bytes.fromhex(v["hex"]) for v in self.vectors)
        expected = [(v["id"], v["kind"], v["flags"], bytes.fromhex(v["payload_hex"]))
                    for v in self.vectors]
        for split in range(0, len(stream) + 1, max(1, len(stream) // 97)):
            decoder = p.FrameDecoder()
            frames = decoder.feed(stream[:split]) + decoder.feed(stream[split:])
            self.assertEqual([tuple(f) for f in frames], expected, "split at %d" % split)


class FrameTests(unittest.TestCase):
    def test_encode_frame_lays_out_the_header_big_endian(self):
        frame = p.encode_frame(0x01020304, p.DATA, p.FLAG_END, b"xyz")
        self.assertEqual(frame, bytes.fromhex("00000003" "01020304" "12" "01" "0000") + b"xyz")
        self.assertEqual(p.HEADER_SIZE, 12)
        self.assertEqual(p.MAX_PAYLOAD, 16 * 1024 * 1024)
        self.assertEqual(p.INITIAL_WINDOW, 1024 * 1024)
        self.assertEqual(p.WS_MESSAGE_COST, 64)  # the same as src/ipc/protocol.ts

    def test_encode_frame_refuses_a_payload_over_the_maximum(self):
        with self.assertRaises(ProtocolError):
            p.frame_header(1, p.DATA, 0, p.MAX_PAYLOAD + 1)
        self.assertEqual(len(p.frame_header(1, p.DATA, 0, p.MAX_PAYLOAD)), 12)

    def test_decoder_rejects_a_length_over_the_maximum(self):
        header = struct.pack(">IIBBH", p.MAX_PAYLOAD + 1, 1, p.BODY, 0, 0)
        with self.assertRaises(ProtocolError):
            p.FrameDecoder().feed(header)

    def test_decoder_returns_every_whole_frame_of_a_big_chunk(self):
        frames = [p.encode_frame(i, p.BODY, i & 1, b"x" * i) for i in range(1, 300)]
        decoded = p.FrameDecoder().feed(b"".join(frames))
        self.assertEqual(len(decoded), 299)
        self.assertEqual(decoded[-1], (299, p.BODY, 1, b"x" * 299))

    def test_decoder_handles_byte_by_byte_feeding(self):
        stream = p.encode_frame(7, p.REQUEST, 1, b"A\0b") + p.encode_frame(8, p.CANCEL, 0)
        decoder = p.FrameDecoder()
        frames = []
        for index in range(len(stream)):
            frames += decoder.feed(stream[index:index + 1])
        self.assertEqual([tuple(f) for f in frames],
                         [(7, p.REQUEST, 1, b"A\0b"), (8, p.CANCEL, 0, b"")])
        self.assertEqual(decoder.pending, 0)

    def test_decoder_does_not_keep_the_callers_buffer(self):
        buffer = bytearray(p.encode_frame(1, p.BODY, 0, b"abc") + p.encode_frame(2, p.BODY, 0, b"de"))
        decoder = p.FrameDecoder()
        frames = decoder.feed(memoryview(buffer)[:20])
        buffer[:] = b"\xff" * len(buffer)  # the reader reuses its buffer for the next recv
        self.assertEqual(frames[0].payload, b"abc")
        rest = p.encode_frame(2, p.BODY, 0, b"de")[5:]
        self.assertEqual(decoder.feed(rest)[0].payload, b"de")

    def test_decoder_assembles_a_large_frame_from_small_reads(self):
        payload = os.urandom(3 * 1024 * 1024 + 5)
        stream = p.encode_frame(9, p.BODY, 1, payload) + p.encode_frame(10, p.STOP, 0)
        decoder = p.FrameDecoder()
        frames = []
        for start in range(0, len(stream), 65536):
            frames += decoder.feed(stream[start:start + 65536])
        self.assertEqual([f.id for f in frames], [9, 10])
        self.assertEqual(frames[0].payload, payload)


class PayloadTests(unittest.TestCase):
    def test_environ_round_trips_latin1_native_strings(self):
        environ = {"PATH_INFO": "/caf\xe9", "QUERY_STRING": "", "HTTP_X": "\xff\x80"}
        payload = p.encode_environ(environ)
        self.assertEqual(payload, b"PATH_INFO\0/caf\xe9\0QUERY_STRING\0\0HTTP_X\0\xff\x80")
        self.assertEqual(p.decode_environ(payload), environ)
        self.assertEqual(p.decode_environ(b""), {})

    def test_decode_environ_rejects_an_odd_number_of_strings(self):
        with self.assertRaises(ProtocolError):
            p.decode_environ(b"A\0b\0C")

    def test_head_round_trips(self):
        payload = p.encode_head("404 Not Found", [("Content-Type", "text/plain"), ("X", "")], b"nope")
        self.assertEqual(payload[:4], struct.pack(">I", len(b"404 Not Found\0Content-Type\0text/plain\0X\0")))
        self.assertEqual(p.decode_head(payload),
                         ("404 Not Found", [("Content-Type", "text/plain"), ("X", "")], b"nope"))
        self.assertEqual(p.decode_head(p.encode_head("204 No Content", [])), ("204 No Content", [], b""))

    def test_head_frame_equals_encode_frame_of_encode_head(self):
        head = p.join_head("200 OK", [("A", "b")])
        self.assertEqual(p.head_frame(5, p.FLAG_END, head, b"body"),
                         p.encode_frame(5, p.HEAD, p.FLAG_END, p.encode_head("200 OK", [("A", "b")], b"body")))

    def test_window_sendfile_log_and_text(self):
        self.assertEqual(p.decode_window(p.encode_window(0xFFFFFFFF)), 0xFFFFFFFF)
        with self.assertRaises(ProtocolError):
            p.decode_window(b"\0\0\0")
        payload = p.encode_sendfile(10, None, "/tmp/\u00e9t\u00e9.txt")
        self.assertEqual(payload[:16], struct.pack(">QQ", 10, 2 ** 64 - 1))
        self.assertEqual(p.decode_sendfile(payload), (10, p.TO_EOF, "/tmp/\u00e9t\u00e9.txt"))
        self.assertEqual(p.decode_log(p.encode_log(30, "careful")), (30, "careful"))
        self.assertEqual(p.encode_text("bad \udcff name"), b"bad \\udcff name")
        self.assertLessEqual(len(p.encode_text("x" * (p.MAX_PAYLOAD + 10))), p.MAX_PAYLOAD)


if __name__ == "__main__":
    unittest.main()
