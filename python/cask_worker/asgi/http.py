"""One ASGI HTTP request: the app's `receive` and `send`, over the worker link.

    front ──REQUEST, BODY…(within the request window)──▶ chunks ──receive()──▶ app
    front ◀──CREDIT as the app takes the body───────────────────────────────────┘
    app ──send(start), send(body…)──▶ HEAD, DATA…(within the response window) ──▶ front
    app ◀──WINDOW as the front takes the response───────────────────────────────┘

Both directions are flow-controlled with the same rule (docs/protocol.md, "Flow control"):
a side may have INITIAL_WINDOW bytes in flight and credit comes back in steps of at least
GRANT_STEP. So a large upload waits in the front until the app reads it, and a large
response waits in the app (its `send` does not return) until the front has room for it.

The head of the response is held back until the first body message, so that a small
response leaves as one frame (HEAD with END). The request's body starts flowing before
the app has read any of it: `receive` returns the next chunk, or waits for one.

Every cycle ends with exactly one final frame, sent by `run` (a HEAD, DATA or SENDFILE with
END, or an ERROR). After the client goes away (CANCEL), `receive` returns `http.disconnect`
and `send` raises ClientDisconnected, an OSError as ASGI 2.4 asks; the task is cancelled
only by a TIMEOUT, which the front sends after `--timeout`.
"""

import asyncio
import collections
import http
import re
import sys
import traceback

from .. import protocol as p
from ..environ import describe_request
from ..headers import HOP_BY_HOP, MAX_HEAD_SIZE, check_name
from .scope import parse_environ

__all__ = ["HttpCycle", "ClientDisconnected", "head_bytes"]

END = p.FLAG_END
CHUNK_LIMIT = 4 * 1024 * 1024
FILE_READ = 256 * 1024
CANCELLED_TEXT = "cancelled"
TIMED_OUT_TEXT = "timed out"

_STATUS = {s.value: "%d %s" % (s.value, s.phrase) for s in http.HTTPStatus}
_BAD_VALUE = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]").search
_good_names = {}
_DISCONNECT = {"type": "http.disconnect"}


class ClientDisconnected(OSError):
    """`send` after the client went away (ASGI 2.4: a server-specific OSError)."""


def head_bytes(status, headers):
    """The NUL-joined latin-1 head of a HEAD frame, from an ASGI status and header list.

    The checks are the WSGI ones (headers.py) on the decoded names; hop-by-hop fields are
    dropped rather than refused, since the front frames the response itself and ASGI, unlike
    PEP 3333, does not forbid them.
    """
    if type(status) is not int:
        raise TypeError("ASGI response status must be an int: %r" % (status,))
    line = _STATUS.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise ValueError("ASGI response status out of range: %d" % status)
        line = "%d Unknown" % status
    parts = [line]
    append = parts.append
    for item in headers:
        name, value = item
        text = _good_names.get(name)
        if text is None:
            if not isinstance(name, (bytes, bytearray)):
                raise TypeError("ASGI header name must be bytes: %r" % (name,))
            text = bytes(name).decode("latin-1")
            if text.lower() in HOP_BY_HOP:
                continue
            check_name(text)
            if len(_good_names) < 1024:
                _good_names[name] = text
        if not isinstance(value, (bytes, bytearray)):
            raise TypeError("ASGI header value must be bytes: %s: %r" % (text, value))
        if _BAD_VALUE(value) is not None:
            raise ValueError(
                "Header value contains a control character (CR, LF, NUL...): %s: %r" % (text, value))
        append(text)
        append(bytes(value).decode("latin-1"))
    head = "\0".join(parts).encode("latin-1")
    if len(head) > MAX_HEAD_SIZE:
        raise ValueError("Response headers too large: %d bytes (max %d)" % (len(head), MAX_HEAD_SIZE))
    return head


class HttpCycle:
    __slots__ = (
        "runner", "id", "received", "scope", "task", "chunks", "body_done", "body_path",
        "body_file", "delivered", "uncredited", "rwait", "swait", "running", "disconnected", "timed_out",
        "head", "head_sent", "finished", "sent", "granted", "file_taken",
    )

    def __init__(self, runner, rid, received, scope, has_body):
        self.runner = runner
        self.id = rid
        self.received = received        # the REQUEST payload, for environ when asked
        self.scope = scope
        self.task = None
        self.chunks = collections.deque()
        self.body_done = not has_body   # every body byte has arrived (or is in body_path)
        self.body_path = None           # BODY_FILE: the body is in this file
        self.body_file = None
        self.delivered = False          # the last http.request (more_body False) went out
        self.uncredited = 0             # body bytes the app took and the front was not told
        self.rwait = None               # future `receive` sleeps on
        self.swait = None               # future `send` sleeps on (window, FILE_TAKEN)
        self.running = False            # the app has been called
        self.disconnected = False
        self.timed_out = False
        self.head = None                # head bytes once http.response.start came
        self.head_sent = False
        self.finished = False           # the final frame went out
        self.sent = 0                   # response body bytes sent
        self.granted = 0                # WINDOW bytes received
        self.file_taken = False

    @property
    def environ(self):
        """The request's CGI variables: for error reports and the development error page."""
        return parse_environ(self.received)

    # -- what the runner's link dispatch calls ----------------------------------------

    def feed(self, payload, end):
        if payload:
            self.chunks.append(payload)
        if end:
            self.body_done = True
        self._wake_receive()

    def body_in_file(self, path):
        self.body_path = path
        self.body_done = True
        self._wake_receive()

    def window(self, nbytes):
        self.granted += nbytes
        self._wake_send()

    def took_file(self):
        self.file_taken = True
        self._wake_send()

    def cancel(self, timed_out):
        """CANCEL or TIMEOUT: the front no longer wants the response."""
        self.disconnected = True
        if timed_out:
            self.timed_out = True
            # A task not started yet is not cancelled: run() sees the flag and answers
            # without calling the app (a task cancelled before its first step would end
            # without running any of run(), final frame included).
            if self.running and not self.finished:
                self.task.cancel()
        self._wake_receive()
        self._wake_send()

    def _wake_receive(self):
        waiter = self.rwait
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_send(self):
        waiter = self.swait
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the app's side ---------------------------------------------------------------

    async def receive(self):
        while True:
            if not self.delivered:
                chunks = self.chunks
                if chunks:
                    chunk = chunks.popleft()
                    self._credit(len(chunk))
                    more = bool(chunks) or not self.body_done
                    self.delivered = not more
                    return {"type": "http.request", "body": chunk, "more_body": more}
                if self.body_path is not None:
                    return self._read_file()
                if self.body_done:
                    self.delivered = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            if self.disconnected or self.finished:
                # After the response, as after a disconnect: nothing more will come.
                return _DISCONNECT
            self.rwait = self.runner.loop.create_future()
            try:
                await self.rwait
            finally:
                self.rwait = None

    def _read_file(self):
        if self.body_file is None:
            self.body_file = open(self.body_path, "rb")
        # A read from the page cache takes microseconds: cheaper than a thread round trip.
        data = self.body_file.read(FILE_READ)
        more = len(data) == FILE_READ
        if not more:
            self._close_file()
            self.body_path = None
            self.delivered = True
        return {"type": "http.request", "body": data, "more_body": more}

    def _credit(self, nbytes):
        self.uncredited += nbytes
        if self.uncredited >= p.GRANT_STEP and not self.body_done:
            self.runner.write(p.encode_frame(self.id, p.CREDIT, 0, p.encode_window(self.uncredited)))
            self.uncredited = 0

    async def send(self, message):
        kind = message["type"]
        if self.disconnected:
            raise ClientDisconnected("The client went away: %s not sent" % kind)
        if kind == "http.response.body":
            if self.head is None:
                raise RuntimeError("ASGI http.response.body sent before http.response.start")
            if self.finished:
                raise RuntimeError("ASGI http.response.body sent after the response ended")
            body = message.get("body", b"")
            end = not message.get("more_body", False)
            if body or end:
                await self._send_body(body, end)
            return
        if kind == "http.response.start":
            if self.head is not None:
                raise RuntimeError("ASGI http.response.start sent twice")
            self.head = head_bytes(message["status"], message.get("headers", ()))
            return
        if kind == "http.response.pathsend":
            await self._send_path(message)
            return
        raise ValueError("Unexpected ASGI message in an http scope: %r" % (kind,))

    async def _send_body(self, data, end):
        size = len(data)
        if size == 0:
            self._frame(b"", END)
            return
        pos = 0
        view = None
        while pos < size:
            room = p.INITIAL_WINDOW + self.granted - self.sent
            if room <= 0:
                await self._wait_send()
                continue
            take = min(size - pos, room, CHUNK_LIMIT)
            if take == size:
                chunk = data
            else:
                if view is None:
                    view = memoryview(data)
                chunk = view[pos:pos + take]
            pos += take
            self.sent += take
            self._frame(chunk, END if end and pos == size else 0)

    async def _send_path(self, message):
        if self.head is None:
            raise RuntimeError("ASGI http.response.pathsend sent before http.response.start")
        if self.finished:
            raise RuntimeError("ASGI http.response.pathsend sent after the response ended")
        path = message["path"]
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError("ASGI http.response.pathsend needs an absolute path: %r" % (path,))
        frame = p.encode_frame(self.id, p.SENDFILE, END, p.encode_sendfile(0, None, path))
        if not self.head_sent:
            frame = p.head_frame(self.id, 0, self.head) + frame
            self.head_sent = True
        self.finished = True
        self.runner.write(frame)
        self._wake_receive()
        # The app may remove the file once send() returns: wait until the front has it open.
        while not (self.file_taken or self.disconnected):
            await self._wait_send()

    def _frame(self, chunk, flags):
        if self.head_sent:
            frame = b"".join((p.frame_header(self.id, p.DATA, flags, len(chunk)), chunk))
        else:
            frame = p.head_frame(self.id, flags, self.head, chunk)
            self.head_sent = True
        self.runner.write(frame)
        if flags:
            self.finished = True
            self._wake_receive()  # a `receive` waiting now gets http.disconnect

    async def _wait_send(self):
        self.swait = self.runner.loop.create_future()
        try:
            await self.swait
        finally:
            self.swait = None
        if self.disconnected:
            raise ClientDisconnected("The client went away while the response waited")

    # -- the task -----------------------------------------------------------------------

    async def run(self, app, pages=None):
        """Run the app and end the exchange with its one final frame."""
        try:
            failure = page = None
            try:
                if self.disconnected:
                    raise asyncio.CancelledError()
                self.running = True
                await app(self.scope, self.receive, self.send)
            except asyncio.CancelledError:
                failure = TIMED_OUT_TEXT if self.timed_out else CANCELLED_TEXT
                if self.timed_out and self.running:
                    self._report(traceback.format_exc(), "Request stopped after the timeout")
            except BaseException:
                if self.disconnected:
                    failure = CANCELLED_TEXT
                else:
                    failure = traceback.format_exc()
                    if self.finished:
                        self._report(failure, "Error after the response ended")
                    elif pages is not None and not self.head_sent:
                        page = pages(sys.exc_info(), self.environ)
            finally:
                self._close_file()
            if self.finished:
                return
            if failure is None:
                if self.disconnected:
                    failure = CANCELLED_TEXT
                elif self.head is None:
                    failure = "The ASGI app returned without sending a response"
                else:
                    failure = "The ASGI app returned without finishing its response"
            frame = p.encode_frame(self.id, p.ERROR, 0, p.encode_text(failure))
            if page is not None:
                frame = p.encode_frame(self.id, p.ERROR_PAGE, 0, page) + frame
            self.finished = True
            self.runner.write(frame)
        finally:
            self.runner.ended(self)

    def _close_file(self):
        if self.body_file is not None:
            self.body_file.close()
            self.body_file = None

    def _report(self, text, what):
        sys.stderr.write("%s %s\n%s" % (what, describe_request(self.environ), text))
