"""Seeded random testing of the link codec's Python side (fast-check's role in the TypeScript
tests; the standard library has no property-testing library, so a seeded random.Random
generates the cases and the seed is printed on failure so a run can be replayed with
CASK_TEST_FUZZ_SEED=<seed>).

Properties: frames round-trip through FrameDecoder at every cut of the stream, even when the
caller reuses its read buffer; arbitrary bytes only ever give frames or ProtocolError, with
every byte accounted for; the payload decoders the worker applies to what the front sends
(environ, window, head) return or raise ProtocolError, never anything else.
"""

import os
import random
import unittest

from cask_worker import protocol as p
from cask_worker.environ import build_environ
from cask_worker.errors import ProtocolError

SEED = int(os.environ.get("CASK_TEST_FUZZ_SEED", "20260505"))
RUNS = 300


def cuts(rng, data):
    """`data` split at up to 8 random points (empty pieces included)."""
    points = sorted(rng.randint(0, len(data)) for _ in range(rng.randint(0, 8)))
    pieces, start = [], 0
    for point in points + [len(data)]:
        pieces.append(data[start:point])
        start = point
    return pieces


def random_frame(rng):
    return (rng.randint(0, 2**32 - 1), rng.randint(0, 255), rng.randint(0, 255),
            bytes(rng.getrandbits(8) for _ in range(rng.choice((0, 1, 11, 12, 13, rng.randint(0, 3000))))))


def latin1_text(rng, n):
    return "".join(chr(rng.randint(1, 255)) for _ in range(rng.randint(0, n)))


class FuzzCase(unittest.TestCase):
    def run_cases(self, check):
        rng = random.Random(SEED)
        for run in range(RUNS):
            try:
                check(rng)
            except Exception as error:
                raise AssertionError("CASK_TEST_FUZZ_SEED=%d, run %d: %r" % (SEED, run, error)) from error


class FrameDecoderFuzz(FuzzCase):
    def test_frames_round_trip_at_every_cut_with_a_reused_read_buffer(self):
        def check(rng):
            frames = [random_frame(rng) for _ in range(rng.randint(0, 10))]
            stream = b"".join(p.encode_frame(*f) for f in frames)
            decoder = p.FrameDecoder()
            scratch = bytearray(4096)
            got = []
            for piece in cuts(rng, stream):
                # As runner.py does with recv_into(): the same buffer, overwritten each read.
                while piece:
                    n = min(len(piece), len(scratch))
                    scratch[:n] = piece[:n]
                    with memoryview(scratch) as view:
                        got += decoder.feed(view[:n])
                    scratch[:n] = b"\0" * n
                    piece = piece[n:]
            self.assertEqual([tuple(f) for f in got], frames)
            self.assertEqual(decoder.pending, 0)

        self.run_cases(check)

    def test_arbitrary_bytes_give_frames_or_protocol_error_and_every_byte_is_counted(self):
        def check(rng):
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 2000)))
            if rng.random() < 0.5:
                # Small length fields, so that whole frames come out of the noise too.
                data = bytes(4) + data
            decoder = p.FrameDecoder()
            used = 0
            try:
                for piece in cuts(rng, data):
                    for frame in decoder.feed(piece):
                        used += p.HEADER_SIZE + len(frame.payload)
            except ProtocolError:
                return
            self.assertEqual(used + decoder.pending, len(data))

        self.run_cases(check)


class PayloadFuzz(FuzzCase):
    def test_environ_payloads_decode_to_a_dict_or_raise_protocol_error(self):
        def check(rng):
            if rng.random() < 0.5:
                payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
            else:
                environ = {latin1_text(rng, 10): latin1_text(rng, 20) for _ in range(rng.randint(0, 8))}
                payload = p.encode_environ(environ)
                self.assertEqual(p.decode_environ(payload), environ)
            for decode in (p.decode_environ, lambda b: build_environ({"wsgi.version": (1, 0)}, b, "/root")):
                try:
                    self.assertIsInstance(decode(payload), dict)
                except ProtocolError:
                    pass

        self.run_cases(check)

    def test_heads_round_trip_and_arbitrary_ones_raise_only_protocol_error(self):
        def check(rng):
            status = latin1_text(rng, 20)
            headers = [(latin1_text(rng, 10), latin1_text(rng, 30)) for _ in range(rng.randint(0, 6))]
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 50)))
            self.assertEqual(p.decode_head(p.encode_head(status, headers, body)), (status, headers, body))
            head = p.join_head(status, headers)
            frame = p.head_frame(rng.randint(1, 2**32 - 1), p.FLAG_END, head, body)
            (decoded,) = p.FrameDecoder().feed(frame)
            self.assertEqual(p.decode_head(decoded.payload), (status, headers, body))
            noise = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
            try:
                p.decode_head(noise)
            except ProtocolError:
                pass

        self.run_cases(check)

    def test_windows_round_trip_and_other_lengths_raise_protocol_error(self):
        def check(rng):
            n = rng.randint(0, 2**32 - 1)
            self.assertEqual(p.decode_window(p.encode_window(n)), n)
            noise = bytes(rng.getrandbits(8) for _ in range(rng.choice((0, 3, 5, 8))))
            with self.assertRaises(ProtocolError):
                p.decode_window(noise)

        self.run_cases(check)

    def test_what_the_worker_sends_round_trips(self):
        def check(rng):
            offset = rng.randint(0, 2**64 - 2)
            length = rng.choice((None, rng.randint(0, 2**64 - 2)))
            path = "".join(chr(rng.randint(1, 0x10FFFF)) for _ in range(rng.randint(0, 20)))
            path = path.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            self.assertEqual(p.decode_sendfile(p.encode_sendfile(offset, length, path)),
                             (offset, p.TO_EOF if length is None else length, path))
            level, text = rng.randint(0, 255), latin1_text(rng, 50)
            self.assertEqual(p.decode_log(p.encode_log(level, text)), (level, text))

        self.run_cases(check)


if __name__ == "__main__":
    unittest.main()
