"""Responses sent in pieces: write(), generators, and big bodies for flow control."""

import os
import threading

BIG_SIZE = 5 * 1024 * 1024

closed = []
started = []
events = {}


# Set by the tests that run a worker process and read its stdout.
PRINT_CLOSE = bool(os.environ.get("CASK_FIXTURE_PRINT_CLOSE"))


class Recorder:
    """An iterable that records its close() (and prints 'closed TAG' to stdout when
    PRINT_CLOSE: the subprocess tests read the worker's stdout)."""

    def __init__(self, tag, blocks, gate=None):
        self.tag = tag
        self.blocks = blocks
        self.gate = gate

    def __iter__(self):
        for block in self.blocks:
            if self.gate is not None:
                self.gate.wait(10)
            if isinstance(block, Exception):
                raise block
            yield block

    def close(self):
        closed.append(self.tag)
        if PRINT_CLOSE:
            print("closed %s" % self.tag)


def with_write(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"one,")
    write(b"")
    write(b"two,")
    return [b"three"]


def generator(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    for index in range(5):
        yield b"block%d;" % index


def empty(environ, start_response):
    start_response("204 No Content", [])
    return []


def empty_generator(environ, start_response):
    start_response("200 OK", [("Content-Length", "0")])
    yield b""


def big(environ, start_response):
    """5 MiB in 64 KiB blocks, or in one block with ?one."""
    pattern = bytes(range(256)) * 256  # 64 KiB
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(BIG_SIZE))])
    if environ.get("QUERY_STRING") == "one":
        return [pattern * (BIG_SIZE // len(pattern))]
    return Recorder("big", [pattern] * (BIG_SIZE // len(pattern)))


def big_write(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
    write(os.urandom(1024) * 3 * 1024)  # 3 MiB in one write()
    return []


def recorded(environ, start_response):
    tag = environ.get("QUERY_STRING") or "recorded"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Recorder(tag, [b"a", b"b", b"c"])


def fails_midway(environ, start_response):
    tag = environ.get("QUERY_STRING") or "fails_midway"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Recorder(tag, [b"a", RuntimeError("midway failure"), b"never"])


def slow(environ, start_response):
    """Blocks until the test releases it (?TAG), so a CANCEL can land mid-response."""
    tag = environ.get("QUERY_STRING") or "slow"
    started.append(tag)
    gate = events.setdefault(tag, threading.Event())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Recorder(tag, [b"first", b"second", b"third"], gate)


def sleep(environ, start_response):
    import time
    if PRINT_CLOSE:
        print("sleeping")
    time.sleep(float(environ.get("QUERY_STRING") or "0.2"))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slept"]


def printer(environ, start_response):
    print("hello from the app")
    environ["wsgi.errors"].write("to wsgi.errors\n")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"printed"]


def sized(environ, start_response):
    """Declares its length and yields it in two blocks, then ends (?TAG names its close)."""
    tag = environ.get("QUERY_STRING") or "sized"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
    return Recorder(tag, [b"abc", b"def", b""])


def sized_one(environ, start_response):
    """What a framework returns for a small page: an iterator (not a list) of one block
    with the length declared, as werkzeug's ClosingIterator does."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return Recorder("sized_one", [b"hello"])


def sized_too_long(environ, start_response):
    """Yields three bytes more than it declares, after the declared ones."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return Recorder("sized_too_long", [b"abc", b"", b"def"])


def sized_fails_after(environ, start_response):
    """Raises once its declared bytes are out (?TAG names its close)."""
    tag = environ.get("QUERY_STRING") or "sized_fails_after"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return Recorder(tag, [b"abc", RuntimeError("failure after the last byte")])


def sized_overshoot(environ, start_response):
    """One block longer than the declared length: not the end of the response for the worker
    (the front cuts it and closes the connection)."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return Recorder("sized_overshoot", [b"abc"])


def sized_after_write(environ, start_response):
    """write() sends part of the declared length; the iterable completes it."""
    write = start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "7")])
    write(b"one,")
    return Recorder("sized_after_write", [b"two", b"more"])
