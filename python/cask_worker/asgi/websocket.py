"""One ASGI WebSocket: the app's `receive` and `send` over the worker link. The front speaks
RFC 6455 to the client (handshake, framing, permessage-deflate, ping/pong); the link carries
whole messages.

    front ──WEBSOCKET──▶ websocket.connect
    app ──websocket.accept──▶ WS_ACCEPT ──▶ the front answers 101, the connection is open
        ──websocket.close (before accept)──▶ a 403, as ASGI asks
        ──websocket.http.response.*──▶ HEAD, DATA: the app's own refusal
    front ──WS_MESSAGE (binary flag)──▶ websocket.receive {"bytes"} or {"text"}
    app ──websocket.send──▶ WS_SEND, within the response window
    front ──WS_CLOSED code, reason──▶ websocket.disconnect; send() raises from then on
    app ──websocket.close──▶ WS_CLOSE: the front starts the closing handshake

Messages from the client count against the request window, as a request body does, each as
its payload plus WS_MESSAGE_COST (so that tiny messages fill the window too): the worker
sends CREDIT for both as the app takes them, so a client that writes faster than the app reads
fills the front's window, and the front stops reading from it. Messages to the client count
the same way against the response window, which the front widens as its socket takes them: an
app writing to a slow client waits in send().

The final frame is WS_CLOSE with END once the app's task has ended (with a code if the app
never closed: 1000), an ERROR if it raised, or a HEAD/DATA with END for a refusal. The request
`--timeout` does not apply to a WebSocket: the front has its own ping and idle timeouts.
"""

import asyncio
import collections
import sys
import traceback

from .. import protocol as p
from .http import ClientDisconnected, head_bytes
from .scope import parse_environ

__all__ = ["WebSocketCycle"]

END = p.FLAG_END
CONNECTING, OPEN, CLOSED, RESPONDING, DONE = range(5)


def _close_code(code):
    """RFC 6455 section 7.4: the codes an endpoint may send."""
    if type(code) is not int or not (1000 <= code <= 1003 or 1007 <= code <= 1014
                                     or 3000 <= code <= 4999):
        raise ValueError("Not a WebSocket close code an app may send: %r" % (code,))
    return code


class WebSocketCycle:
    # A WebSocket has no request body: a BODY frame for it breaks the protocol.
    body_done = True

    __slots__ = (
        "runner", "id", "received", "scope", "task", "state", "inbox", "connected",
        "disconnect", "rwait", "swait", "uncredited", "sent", "granted", "head",
        "head_sent", "finished", "running",
    )

    def __init__(self, runner, rid, received, scope):
        self.runner = runner
        self.id = rid
        self.received = received        # the WEBSOCKET payload, for environ when asked
        self.scope = scope
        self.task = None
        self.state = CONNECTING
        self.inbox = collections.deque()
        self.connected = False          # websocket.connect went to the app
        self.disconnect = None          # (code, reason) once the client side is closed
        self.rwait = None
        self.swait = None
        self.uncredited = 0
        self.sent = 0
        self.granted = 0
        self.head = None                # a refusal's head (websocket.http.response.start)
        self.head_sent = False
        self.finished = False
        self.running = False

    @property
    def environ(self):
        return parse_environ(self.received)

    # -- what the runner's link dispatch calls ----------------------------------------

    def message(self, payload, binary):
        if self.disconnect is None:
            self.inbox.append((payload, binary))
            self._wake(self.rwait)

    def client_closed(self, code, reason):
        if self.disconnect is None:
            self.disconnect = (code, reason)
        self._wake(self.rwait)
        self._wake(self.swait)

    def window(self, nbytes):
        self.granted += nbytes
        self._wake(self.swait)

    def cancel(self, timed_out):
        """CANCEL (the client went away before the app accepted) or TIMEOUT."""
        self.client_closed(1006, "")
        if timed_out and self.running and not self.finished:
            self.task.cancel()

    def took_file(self):
        pass

    @staticmethod
    def _wake(waiter):
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the app's side ---------------------------------------------------------------

    async def receive(self):
        if not self.connected:
            self.connected = True
            return {"type": "websocket.connect"}
        while True:
            if self.inbox:
                data, binary = self.inbox.popleft()
                # The front charged the message its payload and WS_MESSAGE_COST.
                self._credit(len(data) + p.WS_MESSAGE_COST)
                if binary:
                    return {"type": "websocket.receive", "bytes": data}
                return {"type": "websocket.receive", "text": data.decode("utf-8")}
            if self.disconnect is not None:
                code, reason = self.disconnect
                return {"type": "websocket.disconnect", "code": code, "reason": reason}
            self.rwait = self.runner.loop.create_future()
            try:
                await self.rwait
            finally:
                self.rwait = None

    def _credit(self, nbytes):
        self.uncredited += nbytes
        if self.uncredited >= p.GRANT_STEP:
            self.runner.write(p.encode_frame(self.id, p.CREDIT, 0, p.encode_window(self.uncredited)))
            self.uncredited = 0

    async def send(self, message):
        kind = message["type"]
        if self.disconnect is not None and self.state in (CONNECTING, OPEN):
            raise ClientDisconnected("The WebSocket is closed: %s not sent" % kind)
        if kind == "websocket.send":
            if self.state != OPEN:
                raise RuntimeError("ASGI websocket.send on a WebSocket that is not open")
            data = message.get("bytes")
            if data is not None:
                await self._send_message(bytes(data), p.FLAG_BINARY)
            else:
                text = message.get("text")
                if not isinstance(text, str):
                    raise TypeError("ASGI websocket.send needs bytes or text: %r" % (message,))
                await self._send_message(text.encode("utf-8"), 0)
        elif kind == "websocket.accept":
            if self.state != CONNECTING:
                raise RuntimeError("ASGI websocket.accept on a WebSocket already answered")
            headers = list(message.get("headers") or ())
            head = head_bytes(101, headers).split(b"\0")[1:]  # the checks of HTTP headers
            subprotocol = message.get("subprotocol")
            if subprotocol is not None and subprotocol not in self.scope["subprotocols"]:
                raise ValueError("ASGI websocket.accept names a subprotocol the client did not "
                                 "offer: %r (offered %r)" % (subprotocol, self.scope["subprotocols"]))
            payload = b"\0".join([(subprotocol or "").encode("latin-1")] + head)
            self.state = OPEN
            self.runner.write(p.encode_frame(self.id, p.WS_ACCEPT, 0, payload))
        elif kind == "websocket.close":
            code = _close_code(message.get("code", 1000))
            reason = message.get("reason") or ""
            if self.state == CONNECTING:
                # ASGI: closing before accepting refuses the handshake with a 403.
                self._refuse()
            elif self.state == OPEN:
                self.state = CLOSED
                self.runner.write(p.encode_frame(self.id, p.WS_CLOSE, 0, p.encode_ws_close(code, reason)))
            else:
                raise RuntimeError("ASGI websocket.close on a WebSocket already closed")
        elif kind == "websocket.http.response.start":
            if self.state != CONNECTING:
                raise RuntimeError("ASGI websocket.http.response.start after the handshake was answered")
            self.head = head_bytes(message["status"], message.get("headers", ()))
            self.state = RESPONDING
        elif kind == "websocket.http.response.body":
            if self.state != RESPONDING:
                raise RuntimeError("ASGI websocket.http.response.body without its start")
            body = message.get("body", b"")
            end = not message.get("more_body", False)
            if self.head_sent:
                frame = b"".join((p.frame_header(self.id, p.DATA, END if end else 0, len(body)), body))
            else:
                frame = p.head_frame(self.id, END if end else 0, self.head, body)
                self.head_sent = True
            if end:
                self.state = DONE
                self.finished = True
            self.runner.write(frame)
        else:
            raise ValueError("Unexpected ASGI message in a websocket scope: %r" % (kind,))

    def _refuse(self):
        head = p.join_head("403 Forbidden", [("Content-Length", "0")])
        self.state = DONE
        self.finished = True
        self.runner.write(p.head_frame(self.id, END, head))

    async def _send_message(self, data, flags):
        if len(data) > p.MAX_PAYLOAD:
            raise ValueError("WebSocket message too large for the worker link: %d bytes (max %d)"
                             % (len(data), p.MAX_PAYLOAD))
        # A message goes whole once the window is open, even if it is larger than what is
        # left (docs/protocol.md): the front holds at most a window and one message more.
        while p.INITIAL_WINDOW + self.granted - self.sent <= 0:
            self.swait = self.runner.loop.create_future()
            try:
                await self.swait
            finally:
                self.swait = None
            if self.disconnect is not None:
                raise ClientDisconnected("The WebSocket closed while a message waited")
        # The front grants back the payload and WS_MESSAGE_COST once its socket took it.
        self.sent += len(data) + p.WS_MESSAGE_COST
        self.runner.write(b"".join((p.frame_header(self.id, p.WS_SEND, flags, len(data)), data)))

    # -- the task -----------------------------------------------------------------------

    async def run(self, app, pages=None):
        try:
            failure = None
            try:
                if self.disconnect is not None:
                    raise asyncio.CancelledError()
                self.running = True
                await app(self.scope, self.receive, self.send)
            except asyncio.CancelledError:
                failure = "cancelled"
            except BaseException:
                if self.disconnect is not None and self.state != CONNECTING:
                    failure = "cancelled"  # an app that stops on ClientDisconnected, say
                else:
                    failure = traceback.format_exc()
                    if self.finished:
                        sys.stderr.write("Error after the WebSocket ended %s\n%s"
                                         % (self.environ.get("RAW_URI", "?"), failure))
            if self.finished:
                return
            self.finished = True
            if failure is not None and self.state in (CONNECTING, RESPONDING) and failure != "cancelled":
                # Before the handshake was answered: a 500 (and the traceback in the error log).
                self.runner.write(p.encode_frame(self.id, p.ERROR, 0, p.encode_text(failure)))
                return
            if self.state == CONNECTING and self.disconnect is None:
                self._refuse()  # the app ended without accepting: a 403, as ASGI asks
                return
            if failure is not None and failure != "cancelled":
                # After it: the front closes the WebSocket with 1011 and logs the traceback.
                self.runner.write(p.encode_frame(self.id, p.ERROR, 0, p.encode_text(failure)))
                return
            payload = b""
            if self.state == OPEN and self.disconnect is None:
                payload = p.encode_ws_close(1000, "")  # the app returned without closing
            self.runner.write(p.encode_frame(self.id, p.WS_CLOSE, END, payload))
        finally:
            self.runner.ended(self)
