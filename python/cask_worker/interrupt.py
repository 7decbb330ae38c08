"""Stopping one request without stopping its worker: an exception raised inside the
thread that runs it (docs/operations.md, "Request timeouts").

    CPython   ctypes.pythonapi.PyThreadState_SetAsyncExc(thread id, RequestTimeout)
    PyPy      __pypy__.thread._raise_in_thread(thread id, RequestTimeout)
              (PyPy has no ctypes.pythonapi; this is its documented twin of the C call)
    gevent    gevent.kill(greenlet, RequestTimeout): the worker's "threads" are greenlets
              (`--worker-class gevent`, use_gevent()), and the exception is thrown into the
              greenlet where it waits, at the hub's next turn

Either way the exception is raised in the target thread the next time that thread runs
Python code. A thread blocked inside one C call (a long `time.sleep()`, a socket read with
no timeout, a C extension's loop) gets it only when the call returns: that is what the
front's `--timeout-grace` is for. Measured here on CPython 3.8-3.13 and PyPy 7.3 (3.9):
a thread running Python code or short sleeps unwinds within a millisecond; a thread in
`time.sleep(3)` unwinds when the sleep ends.

The exception must never land in the wrong request. `Guard` makes that so: the reader
thread raises only while the target thread is inside that very exchange (both sides hold
one lock), and a thread leaving an exchange it was interrupted in settles any exception
still pending before it takes the next one (CPython clears it with a NULL exception;
PyPy cannot clear, so the thread lets it arrive, for at most SETTLE_SECONDS).
"""

import sys
import threading
import time
import traceback

__all__ = ["RequestTimeout", "Guard", "METHOD", "use_gevent", "register_current", "frame_of",
           "stack_of"]

SETTLE_SECONDS = 0.05


class RequestTimeout(BaseException):
    """Raised inside the app's thread when its request ran past the front's `timeout`.

    A BaseException, like KeyboardInterrupt, so an app's `except Exception:` does not
    swallow it; `finally` blocks and `with` statements run as it unwinds.
    """


def _cpython():
    import ctypes
    api = getattr(ctypes, "pythonapi", None)
    if api is None:
        return None
    raise_in = api.PyThreadState_SetAsyncExc
    raise_in.argtypes = [ctypes.c_ulong, ctypes.py_object]
    raise_in.restype = ctypes.c_int
    # The same C function with a NULL exception clears a pending one: a second prototype,
    # because py_object would turn None into Py_None rather than NULL.
    clear = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
        ("PyThreadState_SetAsyncExc", api))

    def fire(ident):
        return raise_in(ident, RequestTimeout) == 1

    def settle(ident):
        clear(ident, None)

    return "PyThreadState_SetAsyncExc", fire, settle


def _pypy():
    try:
        from __pypy__.thread import _raise_in_thread
    except ImportError:
        return None

    def fire(ident):
        _raise_in_thread(ident, RequestTimeout)
        return True

    def settle(_ident):
        # No way to clear it: give a pending exception the chance to arrive here.
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.001)

    return "__pypy__.thread._raise_in_thread", fire, settle


def _find():
    for probe in (_pypy, _cpython):
        try:
            found = probe()
        except (ImportError, AttributeError, OSError):
            found = None
        if found is not None:
            return found
    return None, None, None


METHOD, _fire, _settle = _find()

# `--worker-class gevent`: the greenlet of each worker "thread", by its ident (gevent's
# get_ident() is the id of the greenlet). None in the threaded worker.
_greenlets = None


def use_gevent():
    """Switch to greenlets (after gevent.monkey.patch_all()): a timeout is thrown into the
    greenlet running the request, which unwinds from the cooperative call it waits in (a
    socket read, a sleep). A greenlet that never yields (a CPU loop, a C call) holds the
    whole worker, and only the front's --timeout-grace ends it, with the worker."""
    global METHOD, _fire, _settle, _greenlets
    import gevent

    _greenlets = {}

    def fire(ident):
        glet = _greenlets.get(ident)
        if glet is None:
            return False
        gevent.kill(glet, RequestTimeout)  # asynchronous: the hub throws it
        return True

    def settle(_ident):
        # A kill not delivered yet is a callback of the hub: yielding once lets it arrive
        # here, where the caller retries leave(), and never in the next request.
        gevent.sleep(0)

    METHOD, _fire, _settle = "gevent.kill", fire, settle


def register_current():
    """A worker thread (greenlet) starting: remember it so a timeout can find it."""
    if _greenlets is not None:
        from gevent import getcurrent
        glet = getcurrent()
        _greenlets[threading.get_ident()] = glet


def frame_of(ident):
    """The current frame of the thread (or greenlet) `ident`, or None."""
    if _greenlets is not None:
        glet = _greenlets.get(ident)
        return getattr(glet, "gr_frame", None) if glet is not None else None
    frames = getattr(sys, "_current_frames", None)
    return frames().get(ident) if frames is not None else None


def stack_of(ident):
    """The formatted stack of the thread (or greenlet) `ident`, or None when there is none
    to be had (no such thread, or an interpreter that does not give other threads' frames)."""
    frame = frame_of(ident) if ident is not None else None
    return "".join(traceback.format_stack(frame)) if frame is not None else None


class Guard:
    """Pairs "this thread is running exchange X" with "raise in X's thread".

    The app thread sets `exchange.thread` before the app and calls leave() after it; the
    reader thread calls interrupt() when the front says the request timed out. The hot
    path takes no lock: interrupt() sets `timed_out` before it takes the lock, so a
    thread that clears `thread` and then reads `timed_out` as false knows no exception
    can come; if it reads true it takes the lock once, after which `interrupted` is final.

    leave() must run inside a `try ... except RequestTimeout` that retries it (see
    Runner._serve): the exception may arrive anywhere until leave() has returned.
    """

    __slots__ = ("_lock",)
    available = METHOD is not None

    def __init__(self):
        self._lock = threading.Lock()

    def interrupt(self, exchange):
        """Raise RequestTimeout in the thread running `exchange`; False if none does."""
        exchange.timed_out = True
        if _fire is None:
            return False
        with self._lock:
            ident = exchange.thread
            if ident is None or exchange.interrupted:
                return False
            exchange.interrupted = True
            return _fire(ident)

    def leave(self, exchange):
        exchange.thread = None
        if not exchange.timed_out:
            return
        with self._lock:
            pass  # an interrupt() in progress has finished: `interrupted` is final
        if exchange.interrupted and _settle is not None:
            _settle(threading.get_ident())
