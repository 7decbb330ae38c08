"""The Python side of the net-hop floor (net-hop.mjs): answers every request frame at once.

A frame from the Node process is an 8-byte header (u32 request id, u32 payload length, both
big-endian) and the request head as its payload. The answer is the 4-byte request id, sent
by itself as soon as its frame is read, as Cask's worker sends each response as soon as it
is finished. Nothing of WSGI runs here: the process stands for the cheapest possible Python
side of a server whose Python runs in another process than its sockets.

usage: python3 net_hop.py   (the link is file descriptor 3, a socket)
"""

import os
import socket
import struct
import sys

HEADER = struct.Struct(">II")
READ_SIZE = 256 * 1024


def use_batch_scheduling():
    """The policy Cask's workers run under by default (--worker-scheduling batch): a
    wake-up of this process does not preempt the Node process on the same CPU."""
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass  # not Linux, or not allowed: the default policy


def answers(buffer, start):
    """The ids of the whole frames in `buffer` from `start`, and where the next frame
    starts (the first byte not yet used)."""
    ids = []
    end = len(buffer)
    pos = start
    while end - pos >= HEADER.size:
        rid, length = HEADER.unpack_from(buffer, pos)
        if end - pos - HEADER.size < length:
            break
        ids.append(rid)
        pos += HEADER.size + length
    return ids, pos


def serve(link):
    pending = bytearray()
    while True:
        data = link.recv(READ_SIZE)
        if not data:
            return  # the Node process is gone
        pending += data
        ids, used = answers(pending, 0)
        del pending[:used]
        for rid in ids:
            link.sendall(rid.to_bytes(4, "big"))


def main():
    use_batch_scheduling()
    try:
        link = socket.socket(fileno=3)
    except OSError as error:
        sys.stderr.write("net_hop.py: no link on file descriptor 3 (%s)\n" % error)
        return 2
    try:
        serve(link)
    except (ConnectionError, BrokenPipeError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
