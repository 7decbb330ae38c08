"""The worker-link codec: pure functions and a sans-IO decoder, no sockets.

docs/protocol.md is the specification; src/ipc/protocol.ts is the TypeScript twin, and
both are tested against test/fixtures/ipc-vectors/vectors.json.

     0               4               8       9      10              12
     +---------------+---------------+-------+-------+---------------+-----------------+
     | payload length| request id    | kind  | flags | reserved = 0  | payload ...     |
     +---------------+---------------+-------+-------+---------------+-----------------+
       u32 BE          u32 BE          u8      u8      u16 BE          `length` bytes

Environ and head payloads are NUL-joined ISO-8859-1 strings: PEP 3333 native strings are
exactly bytes decoded as latin-1, so decoding is one decode() and one split().
"""

import collections
import json
import struct

from .errors import ProtocolError

HEADER_SIZE = 12
MAX_PAYLOAD = 16 * 1024 * 1024
INITIAL_WINDOW = 1024 * 1024
# Credit is handed back in steps of at least a quarter window: one frame, and one wake-up
# of the other side, per 256 KiB rather than per chunk (both directions, both codecs).
GRANT_STEP = INITIAL_WINDOW // 4
# What one WebSocket message (WS_MESSAGE, WS_SEND) costs its window on top of its payload.
# Each message is a link frame with a 12-byte header and an object or two on each side (the
# front's queue entry and write, the worker's bytes and inbox entry), whatever its size: if
# only payload counted, a window of 1 MiB would let a million 1-byte messages (or any number
# of empty ones) pile up. With this charge a window holds at most about 16k tiny messages.
# The side that takes a message credits what was charged, payload and this, so the constant
# is the same in src/ipc/protocol.ts.
WS_MESSAGE_COST = 64
FLAG_END = 0x01
# WS_MESSAGE and WS_SEND: the message is binary (else UTF-8 text).
FLAG_BINARY = 0x02
# HEAD or DATA without END: from this frame on the request holds no thread of the worker
# (a push stream sends the rest of its response from the app's own threads).
FLAG_DETACHED = 0x04
# SENDFILE length meaning "to the end of the file" (2**64 - 1).
TO_EOF = 0xFFFFFFFFFFFFFFFF

# front -> worker
REQUEST = 0x01
BODY = 0x02
BODY_FILE = 0x03
CANCEL = 0x04
WINDOW = 0x05
FILE_TAKEN = 0x06
STOP = 0x07
RECLAIM = 0x08
TIMEOUT = 0x09
CONSOLE = 0x0B
STACK_DUMP = 0x0a
WEBSOCKET = 0x0C
WS_MESSAGE = 0x0D
WS_CLOSED = 0x0E
# end a push stream now, its last chunk included (the server is shutting down)
END_STREAM = 0x0F

# worker -> front
HEAD = 0x11
DATA = 0x12
SENDFILE = 0x13
ERROR = 0x14
RECLAIMED = 0x15
STACK = 0x17
ERROR_PAGE = 0x16
CREDIT = 0x18
WS_ACCEPT = 0x19
WS_SEND = 0x1A
WS_CLOSE = 0x1B
READY = 0x20
LOG = 0x21
LOAD_ERROR = 0x22
STATS = 0x23
FILES = 0x24
# The worker asks to be replaced: one of its threads cannot be got back (its text says why).
RETIRE = 0x25

KIND_NAMES = {
    REQUEST: "REQUEST", BODY: "BODY", BODY_FILE: "BODY_FILE", CANCEL: "CANCEL",
    WINDOW: "WINDOW", FILE_TAKEN: "FILE_TAKEN", STOP: "STOP", RECLAIM: "RECLAIM",
    TIMEOUT: "TIMEOUT", CONSOLE: "CONSOLE", STACK_DUMP: "STACK_DUMP", STACK: "STACK",
    END_STREAM: "END_STREAM",
    HEAD: "HEAD", DATA: "DATA", SENDFILE: "SENDFILE", ERROR: "ERROR", RECLAIMED: "RECLAIMED",
    ERROR_PAGE: "ERROR_PAGE", CREDIT: "CREDIT", READY: "READY", LOG: "LOG",
    WEBSOCKET: "WEBSOCKET", WS_MESSAGE: "WS_MESSAGE", WS_CLOSED: "WS_CLOSED",
    WS_ACCEPT: "WS_ACCEPT", WS_SEND: "WS_SEND", WS_CLOSE: "WS_CLOSE",
    LOAD_ERROR: "LOAD_ERROR", STATS: "STATS", FILES: "FILES", RETIRE: "RETIRE",
}

LOG_DEBUG = 10
LOG_INFO = 20
LOG_WARNING = 30
LOG_ERROR = 40

_HEADER = struct.Struct(">IIBBH")
_U32 = struct.Struct(">I")
_SENDFILE = struct.Struct(">QQ")
_LOG_LEVEL = struct.Struct(">B")
_U16 = struct.Struct(">H")

# A HEAD frame starts with its frame header and the u32 head length: packing both at once
# saves a join on the hot path (the one-frame response of a small app).
_HEAD_PREFIX = struct.Struct(">IIBBHI")

Frame = collections.namedtuple("Frame", "id kind flags payload")
# Building the tuple through tuple.__new__ skips namedtuple's Python-level __new__, which
# matters when a 256 KiB read yields hundreds of frames.
_new_frame = tuple.__new__


def frame_header(id, kind, flags, length):
    if length > MAX_PAYLOAD:
        raise ProtocolError("Frame payload too large: %d bytes (max %d)" % (length, MAX_PAYLOAD))
    return _HEADER.pack(length, id, kind, flags, 0)


def encode_frame(id, kind, flags, payload=b""):
    """One whole frame as bytes."""
    return frame_header(id, kind, flags, len(payload)) + payload


class FrameDecoder:
    """Incremental decoder: feed() chunks, get back every whole frame they complete.

    One linear bytearray holds the undecoded tail with a read offset; it is compacted only
    when the dead prefix is larger than the live part, so decoding stays O(bytes) however
    the stream is split. A chunk that arrives with nothing pending is decoded in place,
    without going through the buffer: with big reads that is the common case.

    feed() never keeps a reference to its argument (payloads are copied out), so the
    caller may recv_into() one buffer over and over.
    """

    __slots__ = ("_buf", "_off", "_need")

    def __init__(self):
        self._buf = bytearray()
        self._off = 0
        # Bytes the first incomplete frame needs in total: feed() does not re-parse a
        # header while a large frame trickles in.
        self._need = HEADER_SIZE

    @property
    def pending(self):
        return len(self._buf) - self._off

    def feed(self, data):
        frames = []
        buf = self._buf
        if len(buf) == self._off:
            if buf:
                del buf[:]
                self._off = 0
            with memoryview(data) as view:
                pos = self._decode(view, 0, frames)
                if pos < len(view):
                    buf += view[pos:]
            return frames
        if self._off and self._off >= len(buf) - self._off:
            del buf[: self._off]
            self._off = 0
        buf += data
        if len(buf) - self._off >= self._need:
            with memoryview(buf) as view:
                self._off = self._decode(view, self._off, frames)
        return frames

    def _decode(self, view, pos, frames):
        append = frames.append
        unpack = _HEADER.unpack_from
        end = len(view)
        while end - pos >= HEADER_SIZE:
            length, rid, kind, flags, _ = unpack(view, pos)
            if length > MAX_PAYLOAD:
                raise ProtocolError(
                    "Frame payload too large: %d bytes (max %d)" % (length, MAX_PAYLOAD))
            start = pos + HEADER_SIZE
            stop = start + length
            if stop > end:
                self._need = HEADER_SIZE + length
                return pos
            append(_new_frame(Frame, (rid, kind, flags, view[start:stop].tobytes())))
            pos = stop
        self._need = HEADER_SIZE
        return pos


# -- payloads ---------------------------------------------------------------------------

def encode_environ(environ):
    """dict of native strings -> REQUEST payload (used by tests and the benchmark)."""
    parts = []
    for key, value in environ.items():
        parts.append(key)
        parts.append(value)
    return "\0".join(parts).encode("latin-1")


def decode_environ(payload):
    """REQUEST payload -> dict of native strings, with one decode and one split."""
    if not payload:
        return {}
    parts = payload.decode("latin-1").split("\0")
    if len(parts) & 1:
        raise ProtocolError("Environ payload has an odd number of strings: %d" % len(parts))
    pairs = iter(parts)
    return dict(zip(pairs, pairs))


def join_head(status, headers):
    """status and [(name, value)] -> the head section of a HEAD payload (no length)."""
    parts = [status]
    for name, value in headers:
        parts.append(name)
        parts.append(value)
    return "\0".join(parts).encode("latin-1")


def encode_head(status, headers, body=b""):
    """HEAD payload: u32 head length, head, first body bytes."""
    head = join_head(status, headers)
    return _U32.pack(len(head)) + head + body


def head_frame(id, flags, head, body=b""):
    """A whole HEAD frame from an already joined head, in one allocation."""
    length = 4 + len(head) + len(body)
    if length > MAX_PAYLOAD:
        raise ProtocolError("Frame payload too large: %d bytes (max %d)" % (length, MAX_PAYLOAD))
    return b"".join((_HEAD_PREFIX.pack(length, id, HEAD, flags, 0, len(head)), head, body))


def decode_head(payload):
    """HEAD payload -> (status, [(name, value)], body)."""
    if len(payload) < 4:
        raise ProtocolError("HEAD payload shorter than its length field")
    (head_length,) = _U32.unpack_from(payload, 0)
    if 4 + head_length > len(payload):
        raise ProtocolError("HEAD length field past the payload: %d" % head_length)
    parts = bytes(payload[4:4 + head_length]).decode("latin-1").split("\0")
    if not len(parts) & 1:
        raise ProtocolError("HEAD has a header name without a value")
    pairs = iter(parts[1:])
    return parts[0], list(zip(pairs, pairs)), bytes(payload[4 + head_length:])


def encode_window(nbytes):
    return _U32.pack(nbytes)


def decode_window(payload):
    if len(payload) != 4:
        raise ProtocolError("WINDOW payload must be 4 bytes: %d" % len(payload))
    return _U32.unpack(payload)[0]


def encode_sendfile(offset, length, path):
    """SENDFILE payload; length TO_EOF (or None) means to the end of the file."""
    if length is None:
        length = TO_EOF
    return _SENDFILE.pack(offset, length) + path.encode("utf-8")


def decode_sendfile(payload):
    """SENDFILE payload -> (offset, length, path); length is TO_EOF for "to the end"."""
    if len(payload) < 16:
        raise ProtocolError("SENDFILE payload shorter than 16 bytes")
    offset, length = _SENDFILE.unpack_from(payload, 0)
    return offset, length, bytes(payload[16:]).decode("utf-8")


def encode_log(level, text):
    return _LOG_LEVEL.pack(level) + text.encode("utf-8", "backslashreplace")


def decode_log(payload):
    if not payload:
        raise ProtocolError("LOG payload is empty")
    return payload[0], bytes(payload[1:]).decode("utf-8")


def encode_files(paths):
    """FILES payload: a JSON array of absolute paths (file names may not be UTF-8)."""
    return json.dumps(list(paths)).encode("utf-8", "surrogateescape")


def encode_text(text):
    """ERROR / LOAD_ERROR payload. Tracebacks may hold surrogate-escaped file names,
    hence backslashreplace; an over-long one keeps its end, where the exception is."""
    data = text.encode("utf-8", "backslashreplace")
    if len(data) > MAX_PAYLOAD:
        data = b"...(truncated)\n" + data[-(MAX_PAYLOAD - 64):]
    return data


def encode_ws_close(code, reason=""):
    """WS_CLOSE / WS_CLOSED payload: u16 code and UTF-8 reason (RFC 6455 section 5.5.1)."""
    return _U16.pack(code) + reason.encode("utf-8")


def decode_ws_close(payload):
    """-> (code, reason); an empty payload is 1005, "no status" (RFC 6455 section 7.1.5)."""
    if not payload:
        return 1005, ""
    if len(payload) < 2:
        raise ProtocolError("WS_CLOSE payload shorter than its code")
    return _U16.unpack_from(payload, 0)[0], bytes(payload[2:]).decode("utf-8", "replace")


def encode_ws_accept(subprotocol, headers):
    """WS_ACCEPT payload: the subprotocol ("" for none), then header names and values."""
    parts = [subprotocol or ""]
    for name, value in headers:
        parts.append(name)
        parts.append(value)
    return "\0".join(parts).encode("latin-1")


def decode_ws_accept(payload):
    """-> (subprotocol or None, [(name, value)])"""
    parts = bytes(payload).decode("latin-1").split("\0")
    if not len(parts) & 1:
        raise ProtocolError("WS_ACCEPT has a header name without a value")
    pairs = iter(parts[1:])
    return parts[0] or None, list(zip(pairs, pairs))
