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
