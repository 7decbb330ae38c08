"""Streams that hold no thread: `environ["cask.push_stream"]()` (docs/asgi.md, "Streams
without a thread").

A WSGI response is normally sent by the thread that runs the app, for as long as the app's
iterable lasts: a server-sent event stream that stays open for an hour holds that thread
for an hour. A push stream lets the request go instead. The app calls start_response(),
returns the stream (or a framework response wrapping it), and the thread serving the
request, on reaching the stream in the iterable, hands the response over to it and goes on
to the next request. From then on any thread of the app (a broadcaster, a queue consumer)
calls `send()` to put bytes on the wire, and `close()` to end the response.

    serving thread ── start_response, return stream ──► iterating reaches the stream:
                      Detach raised out of the iterable ──► HEAD with DETACHED ──► free
    any thread ─────── send(bytes) ──► DATA frames, within the link's window
                       close() ──────► the last DATA frame (END); the app's close() runs

Nothing here waits: `send()` writes what the window allows and keeps the rest, and a
stream holding more than MAX_PENDING unsent bytes (a client that stopped reading, with the
front's spool full) is cut, as is one whose client left, whose request ran past the
front's timeout, or whose worker stops with bytes unsent. Before the thread lets go, the
bound is MAX_PENDING plus the window the stream will then have. `send()` then returns
False, and the callbacks given to `on_close()` run once, in whichever thread ended the
stream.

All state is under the stream's lock, which is also held while its frames are written, so
frames leave in the order `send()` was called; the link's own lock is taken inside it and
never the other way round.
"""

import threading
import traceback

from . import protocol as p
from .errors import Cancelled, LinkClosed, ResponseStateError

# Bytes a stream may hold that the front has no window for: past this, it is cut.
MAX_PENDING = 1024 * 1024

OPEN, CLOSING, ENDED = 0, 1, 2


class Detach(BaseException):
    """Raised out of the app's iterable when the thread serving a request reaches that
    request's push stream: the exchange lets go of the thread (Exchange.run).

    A BaseException so that an app's or a framework's `except Exception:` around the
    iteration does not take it for an error of its own.
    """


class PushStream:
    """The response body of one request, sent from any thread (see the module text)."""

    __slots__ = ("_exchange", "_lock", "_state", "_detached", "_pending", "_pending_size",
                 "_callbacks", "_result", "_failure", "_errors")

    def __init__(self, exchange, errors):
        self._exchange = exchange
        self._lock = threading.Lock()
        self._state = OPEN
        self._detached = False
        self._pending = []
        self._pending_size = 0
        self._callbacks = []
        self._result = None      # the app's iterable, closed when the stream ends (PEP 3333)
        self._failure = None     # why the stream was cut, once it was
        self._errors = errors    # wsgi.errors, for exceptions raised by on_close callbacks

    # -- the app's side -------------------------------------------------------------

    @property
    def closed(self):
        """True once the stream has ended, cleanly or cut."""
        return self._state == ENDED

    def send(self, data):
        """Queue `data` (bytes, or str sent as UTF-8) for the client; True if the stream
        takes it, False once it has ended. Never blocks on the client."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif type(data) is not bytes:
            data = bytes(data)
        ended = None
        with self._lock:
            if self._state != OPEN:
                return False
            if not data:
                return True
            self._pending.append(data)
            self._pending_size += len(data)
            if self._detached:
                ended = self._flush_locked()
                limit = MAX_PENDING
            else:
                # Held until the thread lets go, when a whole window goes at once.
                limit = MAX_PENDING + p.INITIAL_WINDOW
            if ended is None and self._pending_size > limit:
                ended = self._cut_locked(
                    "Push stream cut: the client has taken none of the last %d bytes"
                    % self._pending_size)
        if ended is not None:
            self._ended()
            return False
        return True

    def close(self):
        """End the response once every byte sent so far has gone (idempotent)."""
        ended = None
        with self._lock:
            if self._state != OPEN:
                return
            self._state = CLOSING
            if self._detached:
                ended = self._flush_locked()
        if ended is not None:
            self._ended()

    def on_close(self, callback):
        """Call `callback()` once the stream has ended, however it ended (at once if it
        already has)."""
        with self._lock:
            if self._state != ENDED:
                self._callbacks.append(callback)
                return
        self._call(callback)

    def __iter__(self):
        return self

    def __next__(self):
        exchange = self._exchange
        if exchange.thread != threading.get_ident():
            raise RuntimeError(
                "A push stream is iterated only by the server, as the body of the request "
                "that made it")
        raise Detach()

    # -- the worker's side ----------------------------------------------------------

    def detach(self, result):
        """The serving thread reached the stream: send the head with DETACHED and let go.
        Raises Cancelled if the client left (or the request timed out) first: the thread
        then ends the request as for any cancelled one."""
        exchange = self._exchange
        ended = None
        with self._lock:
            if exchange.cancelled:
                raise Cancelled()
            if self._state == ENDED:
                # Cut before the thread let go (more than MAX_PENDING sent meanwhile): the
                # request fails as any app error does, and nothing was sent for it yet.
                raise RuntimeError(self._failure)
            if exchange.head is None:
                raise ResponseStateError(
                    "The application returned a push stream without calling start_response()")
            if exchange.head_sent:
                frame = p.encode_frame(exchange.id, p.DATA, p.FLAG_DETACHED, b"")
            else:
                frame = p.head_frame(exchange.id, p.FLAG_DETACHED, exchange.head, b"")
                exchange.head_sent = True
            # Marked before the frame leaves: whatever the front sends once it has seen the
            # frame (STACK_DUMP, WINDOW) finds the request detached.
            self._detached = True
            exchange.detached = True
            self._result = result
            exchange.link(frame)
            ended = self._flush_locked()
        if ended is not None:
            self._ended()

    def window(self):
        """WINDOW arrived for this request (reader thread): send what now fits."""
        ended = None
        with self._lock:
            if self._detached and self._state != ENDED:
                ended = self._flush_locked()
        if ended is not None:
            self._ended()

    def abort(self, text):
        """CANCEL or TIMEOUT (reader thread). True if the stream was detached and is now
        ended with ERROR; False if the serving thread still has the request, which then
        ends it the usual way."""
        with self._lock:
            if not self._detached:
                return False
            if self._state == ENDED:
                return True
            ended = self._cut_locked(text)
        self._ended()
        return True

    def stop(self):
        """The worker is stopping: end the stream now, cleanly if everything sent has
        gone, else cut (a client must not take a partial stream for a whole one)."""
        with self._lock:
            if not self._detached or self._state == ENDED:
                return
            self._state = CLOSING
            ended = self._flush_locked()
            if ended is None:
                ended = self._cut_locked(
                    "Push stream cut: the worker stopped with %d bytes unsent"
                    % self._pending_size)
        self._ended()

    # -- under the lock -------------------------------------------------------------

    def _flush_locked(self):
        """Write what the window allows; at CLOSING with nothing left, the END frame.
        Returns the failure text or "" once the stream has ended, else None."""
        exchange = self._exchange
        pending = self._pending
        try:
            while pending:
                room = p.INITIAL_WINDOW + exchange.granted - exchange.sent
                if room <= 0:
                    return None
                data = pending[0]
                if len(data) <= room:
                    pending.pop(0)
                else:
                    pending[0] = data[room:]
                    data = data[:room]
                self._pending_size -= len(data)
                exchange.sent += len(data)
                exchange.link(p.frame_header(exchange.id, p.DATA, 0, len(data)) + data)
            if self._state != CLOSING:
                return None
            exchange.link(p.encode_frame(exchange.id, p.DATA, p.FLAG_END, b""))
        except LinkClosed as error:
            self._state = ENDED
            exchange.finished = True
            self._failure = "The link to the front is closed: %s" % error
            return self._failure
        self._state = ENDED
        exchange.finished = True
        return ""

    def _cut_locked(self, text):
        """End with ERROR: the front cuts the response (the client sees it incomplete).
        Before the thread let go, nothing is sent: detach() fails the request instead."""
        exchange = self._exchange
        self._state = ENDED
        self._pending = []
        self._pending_size = 0
        self._failure = text
        if self._detached and not exchange.finished:
            exchange.finished = True
            try:
                exchange.link(p.encode_frame(exchange.id, p.ERROR, 0, p.encode_text(text)))
            except LinkClosed:
                pass
        return text

    # -- once ended, outside the lock -----------------------------------------------

    def _ended(self):
        exchange = self._exchange
        # Before detach() the serving thread still has the request and lets go of it itself.
        if self._detached and exchange.forget is not None:
            exchange.forget(exchange.id)
        result, self._result = self._result, None
        if result is not None:
            close = getattr(result, "close", None)
            if close is not None:
                self._call(close)
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            self._call(callback)

    def _call(self, callback):
        try:
            callback()
        except Exception:
            try:
                self._errors.write("Error in a push stream's close callback\n%s"
                                   % traceback.format_exc())
                self._errors.flush()
            except Exception:
                pass
