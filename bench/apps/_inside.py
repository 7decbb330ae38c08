"""Inside view for `cask bench`: a tiny WSGI (or ASGI) middleware that records, per request,
when the app was entered and when it was done: when it returned, for a list response, or
when the server closed the response iterable, for a generator or other iterable.

Why a file per process: the servers under test run one to many processes and threads,
and the only thing they all share is the filesystem. Each process appends 16-byte records
(two little-endian int64: start and end, CLOCK_MONOTONIC nanoseconds) to
``$CASKBENCH_INSIDE_DIR/<pid>.bin`` with one os.write on an O_APPEND descriptor, which
Linux keeps atomic for small writes, so threads need no lock. The bench reads every file
after the run and rebuilds "how many requests were inside the app at once" across all
processes by sweeping the intervals; CLOCK_MONOTONIC is system-wide, so the timestamps
line up with the load generator's (Node's hrtime uses the same clock).

Cost: two clock reads and one small write per request, the same for every server.
Without the environment variable the app is returned unwrapped.
"""

import os
import struct
import threading
import time

__all__ = ["wrap"]

_RECORD = struct.Struct("<qq")
_now = time.monotonic_ns


class _Recorder:
    def __init__(self, directory):
        self.directory = directory
        self.fd = -1
        self.pid = -1
        self.lock = threading.Lock()

    def _open(self):
        # Re-open after fork: pre-fork servers import the app in the master (gunicorn
        # --preload, uWSGI without lazy-apps), and each child must write its own file.
        pid = os.getpid()
        if self.pid != pid:
            with self.lock:
                if self.pid != pid:
                    path = os.path.join(self.directory, "%d.bin" % pid)
                    self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
                    self.pid = pid
        return self.fd

    def record(self, start, end):
        try:
            os.write(self._open(), _RECORD.pack(start, end))
        except OSError:
            pass  # never let the measurement break the request


class _Closing:
    """Wraps the response iterable so the end time is taken when the server closes it,
    i.e. after the body was handed to the server (PEP 3333: close() is always called)."""

    __slots__ = ("_it", "_start", "_rec", "_done")

    def __init__(self, it, start, rec):
        self._it = it
        self._start = start
        self._rec = rec
        self._done = False

    def __iter__(self):
        return iter(self._it)

    def close(self):
        try:
            close = getattr(self._it, "close", None)
            if close is not None:
                close()
        finally:
            if not self._done:
                self._done = True
                self._rec.record(self._start, _now())


def _is_asgi(app):
    """An ASGI 3 app: a coroutine function, or an object whose __call__ is one."""
    import inspect
    call = getattr(type(app), "__call__", None)
    return inspect.iscoroutinefunction(app) or (
        call is not None and inspect.iscoroutinefunction(call))


def _wrap_asgi(app, rec):
    """The same records for an ASGI app: from the call until the app's coroutine returns,
    which is after its last send(). It stays a coroutine function, so every server still
    recognises it as ASGI 3. Lifespan and WebSocket scopes are not requests: not recorded."""

    async def inside(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        start = _now()
        try:
            return await app(scope, receive, send)
        finally:
            rec.record(start, _now())

    return inside


def wrap(app):
    directory = os.environ.get("CASKBENCH_INSIDE_DIR")
    if not directory:
        return app
    rec = _Recorder(directory)
    if _is_asgi(app):
        return _wrap_asgi(app, rec)

    def inside(environ, start_response):
        start = _now()
        try:
            it = app(environ, start_response)
        except BaseException:
            rec.record(start, _now())
            raise
        if type(it) is list or type(it) is tuple:
            # A list is complete when the app returns it. Returning it unwrapped keeps the
            # servers' fast paths for lists (one write, a computed length), which a wrapper
            # would turn off and so measure the wrapper rather than the server.
            rec.record(start, _now())
            return it
        return _Closing(it, start, rec)

    return inside
