"""A DATA frame written as header and piece (sendmsg) is byte for byte the joined frame,
over a real socket pair, and an Exchange uses that path only for pieces worth it."""

import socket
import threading
import unittest

from cask_worker import protocol as p
from cask_worker.exchange import GATHER_MIN, Exchange
from cask_worker.runner import Runner


def _recv_exactly(sock, size):
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise AssertionError("link closed early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class SendPartsTest(unittest.TestCase):
    def test_header_and_piece_arrive_as_one_frame(self):
        ours, theirs = socket.socketpair()
        self.addCleanup(ours.close)
        self.addCleanup(theirs.close)
        runner = Runner(ours, lambda e, s: [])
        piece = bytes(range(256)) * 4096  # 1 MiB: more than the socket buffer holds
        header = p.frame_header(9, p.DATA, p.FLAG_END, len(piece))
        got = []
        reader = threading.Thread(
            target=lambda: got.append(_recv_exactly(theirs, len(header) + len(piece))))
        reader.start()
        runner.send_parts(header, memoryview(piece))
        reader.join(10)
        self.assertEqual(got, [p.encode_frame(9, p.DATA, p.FLAG_END, piece)])

    def test_exchange_gathers_large_pieces_and_joins_small_ones(self):
        joined, gathered = [], []
        exchange = Exchange(5, b"", joined.append, threading.Condition(),
                            lambda header, piece: gathered.append(bytes(header) + bytes(piece)))
        exchange.start_response("200 OK", [])
        exchange.write(b"first")  # the HEAD frame, with its first bytes
        exchange.write(b"s" * 10)
        exchange.write(b"L" * GATHER_MIN)
        self.assertEqual(len(joined), 2)
        self.assertEqual(joined[1], p.encode_frame(5, p.DATA, 0, b"s" * 10))
        self.assertEqual(gathered, [p.encode_frame(5, p.DATA, 0, b"L" * GATHER_MIN)])


if __name__ == "__main__":
    unittest.main()


class CoalescingTest(unittest.TestCase):
    """Frames written while another write is in progress are listed, then sent by the link
    writer as soon as that write ends, in order, without any further call from their thread."""

    def setUp(self):
        self.ours, self.theirs = socket.socketpair()
        self.addCleanup(self.ours.close)
        self.addCleanup(self.theirs.close)
        self.runner = Runner(self.ours, lambda e, s: [])

    def test_listed_frames_follow_the_write_in_progress_in_order(self):
        big = b"B" * (8 * 1024 * 1024)  # more than the socket pair buffers: the write blocks
        big_frame = p.encode_frame(1, p.DATA, 0, big)
        writer = threading.Thread(target=self.runner.send, args=(big_frame,))
        writer.start()
        while not self.runner._send_lock.locked():
            pass
        small = [p.encode_frame(2, p.DATA, 0, b"piece %d" % i) for i in range(100)]
        for frame in small:
            self.runner.send(frame)  # returns at once: the big write is still in progress
        last = p.encode_frame(2, p.DATA, p.FLAG_END, b"z" * GATHER_MIN)
        self.runner.send_parts(last[:p.HEADER_SIZE], memoryview(last)[p.HEADER_SIZE:])
        self.assertTrue(writer.is_alive())  # nothing was read yet
        expected = big_frame + b"".join(small) + last
        # Nothing more is sent from here: the listed frames must arrive by themselves.
        got = _recv_exactly(self.theirs, len(expected))
        writer.join(10)
        self.assertEqual(got, expected)
        self.assertTrue(self.runner.flush(5))

    def test_a_frame_written_on_a_free_link_arrives_before_the_next_is_produced(self):
        self.runner.send(p.encode_frame(3, p.DATA, 0, b"flushed on purpose"))
        self.theirs.settimeout(5)
        got = _recv_exactly(self.theirs, p.HEADER_SIZE + 18)
        self.assertEqual(got[p.HEADER_SIZE:], b"flushed on purpose")

    def test_a_closed_link_fails_listed_and_later_writes(self):
        self.theirs.close()
        from cask_worker.errors import LinkClosed
        with self.assertRaises(LinkClosed):
            for _ in range(100):
                self.runner.send(b"x" * 65536)
        with self.assertRaises(LinkClosed):
            self.runner.send(b"y")
        self.assertIn("Cannot write to the link", self.runner.exit_reason)
