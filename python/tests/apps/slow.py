"""Requests that run too long, for the TIMEOUT tests: in Python code, in one C call, and
one that will not stop."""

import threading
import time

started = []
finished = []   # tags whose `finally` ran
_lock = threading.Lock()


def _seconds(environ, default):
    return float(environ.get("QUERY_STRING") or default)


def busy(environ, start_response):
    """Python code that runs for ?S seconds (short sleeps: the exception lands at once)."""
    tag = environ.get("HTTP_X_TAG", "busy")
    with _lock:
        started.append(tag)
    deadline = time.monotonic() + _seconds(environ, 10)
    try:
        while time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        with _lock:
            finished.append(tag)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done"]


def blocked(environ, start_response):
    """One C call for ?S seconds: RequestTimeout can land only after it returns."""
    print("blocked", flush=True)
    time.sleep(_seconds(environ, 10))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"woke"]


def stubborn(environ, start_response):
    """Catches everything, RequestTimeout included, and goes on for ?S seconds."""
    deadline = time.monotonic() + _seconds(environ, 10)
    while time.monotonic() < deadline:
        try:
            time.sleep(0.005)
        except BaseException:
            pass
    start_response("200 OK", [])
    return [b"stubborn"]


class _After:
    """A whole response (its length declared), then ?S seconds of work: in the iterable after
    its last byte (`where` "iterable"), in close() ("close"), or in one C call after the last
    byte ("blocked"). The tag (X-Tag) is added to `finished` when the work is left."""

    def __init__(self, environ, where):
        self.tag = environ.get("HTTP_X_TAG", where)
        self.seconds = _seconds(environ, 10)
        self.where = where

    def _work(self):
        try:
            if self.where == "blocked":
                time.sleep(self.seconds)
                return
            deadline = time.monotonic() + self.seconds
            while time.monotonic() < deadline:
                time.sleep(0.005)
        finally:
            with _lock:
                finished.append(self.tag)

    def __iter__(self):
        with _lock:
            started.append(self.tag)
        yield b"done"
        if self.where != "close":
            self._work()

    def close(self):
        if self.where == "close":
            self._work()


def _after(where):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return _After(environ, where)
    return app


busy_after = _after("iterable")
busy_close = _after("close")
blocked_after = _after("blocked")


def log(environ, start_response):
    with _lock:
        body = ("started=%s finished=%s" % (",".join(started), ",".join(finished))).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
