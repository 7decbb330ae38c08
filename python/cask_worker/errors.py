"""Errors and exit codes of the worker.

The exit codes are part of the contract with the front (docs/protocol.md, "Exit codes of
a worker"): the supervisor respawns on 3 and gives up on 4; 5 follows its own SIGABRT.
"""

EXIT_STOPPED = 0
EXIT_LINK_ERROR = 3
EXIT_LOAD_ERROR = 4
EXIT_ABORTED = 5


class ProtocolError(Exception):
    """The front sent bytes that break docs/protocol.md: the link is unusable (exit 3)."""


class AppLoadError(Exception):
    """The app spec cannot be turned into a WSGI callable (exit 4).

    Raised for problems the loader itself finds (bad spec, missing attribute, not
    callable); exceptions raised by the app's own import propagate unchanged so their
    traceback points at the user's code.
    """


class ResponseStateError(AssertionError, RuntimeError):
    """start_response() or write() used out of order.

    Raised for a second start_response() without exc_info, write() before start_response()
    or after the response ended, and an app that returns or yields body bytes before it
    calls start_response(). PEP 3333 names no class for these: wsgiref raises
    AssertionError and mod_wsgi RuntimeError, and apps written against either catch that
    one. This class is both, so `except AssertionError` and `except RuntimeError` each
    catch it. The two bases add nothing to BaseException's layout, so CPython (3.6 to 3.13
    checked) and PyPy accept them together.
    """


class Cancelled(BaseException):
    """The front cancelled the request (client gone or timed out).

    A BaseException so that an app's `except Exception:` around write() does not swallow
    it; the runner also rechecks the cancel flag after the app returns, so an app that
    catches it anyway still ends with ERROR "cancelled".
    """


class LinkClosed(Exception):
    """A write to the link failed: the front is gone. The runner is already exiting (3)."""
