"""One request and its response: start_response, write(), sending the app's iterable
as frames, flow control, SENDFILE, close() and the final frame.

The reader thread fills in the request side (environ, body) and later flips `granted`,
`cancelled`, `timed_out` and `file_taken`; a worker thread runs `run()`. The two share
only those fields, the runner-wide `flow` condition, which waiters sleep on (`parked`
while they do), and `thread`/`interrupted`, which interrupt.Guard owns.

Every exchange ends with exactly one final frame (docs/protocol.md): HEAD/DATA/SENDFILE
with END, or ERROR. `finished` records that it went out, so an error after it (in
close(), say) is only logged.
"""

import sys
import traceback

from . import protocol as p
from .environ import FileWrapper, describe_request, file_input, memory_input
from .errors import Cancelled, LinkClosed, ResponseStateError
from .headers import content_length, head_bytes
from .interrupt import RequestTimeout
from .push import Detach, PushStream

END = p.FLAG_END
# One frame carries at most this much body: with a head (at most MAX_HEAD_SIZE) it stays
# well below MAX_PAYLOAD.
CHUNK_LIMIT = 4 * 1024 * 1024
# From this size on, a DATA piece leaves by scatter-gather (sendmsg) rather than joined to
# its header: below it, the copy costs less than the extra list and iovec.
GATHER_MIN = 16 * 1024
CANCELLED_TEXT = "cancelled"
TIMED_OUT_TEXT = "timed out"
# How a request stopped by the runner's tail watch (Runner._watch_tails) is reported.
AFTER_END_TIMEOUT = "Request stopped after the timeout, its response already sent:"


class Exchange:
    __slots__ = (
        "id", "received", "environ", "body", "body_path", "link", "link_parts", "flow",
        "granted", "cancelled", "reclaimed", "file_taken",
        "head", "headers", "head_sent", "finished", "sent",
        "timed_out", "thread", "interrupted", "parked", "uncredited",
        "push", "detached", "forget", "tail_seen",
    )

    def __init__(self, id, received, link, flow, link_parts=None):
        self.id = id
        self.received = received        # the REQUEST payload (environ, still encoded)
        self.environ = None
        self.body = None                # list of BODY payloads, then bytes
        self.body_path = None           # BODY_FILE path
        self.link = link                # send(bytes): one locked sendall
        # send_parts(header, piece): the same frame gathered by the kernel from two
        # buffers, so a large piece is not copied to be joined to its 12-byte header.
        self.link_parts = link_parts
        self.flow = flow                # condition shared by the runner
        self.granted = 0                # WINDOW bytes received (reader thread writes)
        self.cancelled = False
        self.reclaimed = False          # RECLAIM came while the body was still arriving
        self.file_taken = False
        self.head = None                # validated head bytes once start_response ran
        self.headers = None
        self.head_sent = False
        self.finished = False
        self.sent = 0                   # body bytes sent (worker thread writes)
        self.timed_out = False          # TIMEOUT came: the front answered 504 already
        self.thread = None              # ident of the thread running the app (Guard)
        self.interrupted = False        # RequestTimeout was raised in that thread (Guard)
        self.parked = False             # the thread sleeps on `flow` (under its lock)
        self.uncredited = 0             # BODY bytes received and not yet credited back
        self.push = None                # the PushStream made by environ["cask.push_stream"]
        self.detached = False           # the push stream has the response: no thread holds it
        self.forget = None              # forget(id): the runner stops routing frames to it
        self.tail_seen = 0.0            # when the runner's tail watch first saw it ended and running

    # -- the app's side -------------------------------------------------------------

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.head_sent:
                    # PEP 3333: too late to change the response; let the error propagate.
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # break the frame <-> traceback cycle
        elif self.head is not None:
            raise ResponseStateError("start_response() called twice without exc_info")
        self.head = head_bytes(status, headers)
        self.headers = headers
        return self.write

    def write(self, data):
        """The legacy write() callable: sends the block now (headers first)."""
        if type(data) is not bytes:
            _check_block(data, "write()")
        if self.head is None:
            raise ResponseStateError("write() called before start_response()")
        if data:
            self._send_body(data, False)

    def push_stream(self):
        """environ["cask.push_stream"]: this request's push stream (push.py), made once."""
        if self.push is None:
            if self.environ is None:
                raise ResponseStateError("cask.push_stream() called after the response ended")
            self.push = PushStream(self, self.environ["wsgi.errors"])
        return self.push

    # -- running --------------------------------------------------------------------

    def run(self, app, environ, errors, pages=None):
        """Call the app and send its whole response. Reports app errors on the link
        and on `errors`; raises only LinkClosed. `pages(exc_info, environ)` builds the
        development error page of an exception raised before the head went out."""
        self.environ = environ
        body_input = result = failure = page = None
        try:
            if self.cancelled:
                raise Cancelled()
            if self.body_path is None:
                body_input = memory_input(self.body)
            else:
                body_input = file_input(self.body_path)
            environ["wsgi.input"] = body_input
            result = app(environ, self.start_response)
            try:
                dropped = self._send_result(result)
                if dropped:
                    self._report(
                        "%d bytes after the declared length were dropped\n" % dropped, errors,
                        "Response longer than its Content-Length:")
            except Detach:
                # Raised only by this request's own stream, in this thread (push.py): the
                # stream has the response now; its end closes `result` (PEP 3333).
                self.push.detach(result)
                if body_input is not None:
                    body_input.close()
                self.environ = None
                return
        except Cancelled:
            failure = TIMED_OUT_TEXT if self.timed_out else CANCELLED_TEXT
        except LinkClosed:
            raise
        except RequestTimeout:
            # The client has its 504, or, stopped by the runner's tail watch, its whole
            # response; the traceback says where the app was stopped.
            failure = TIMED_OUT_TEXT
            self._report(traceback.format_exc(), errors,
                         AFTER_END_TIMEOUT if self.finished else "Request stopped after the timeout")
        except BaseException:
            failure = traceback.format_exc()
            if self.finished:
                # Raised by the iterable after its last declared byte went out: the client
                # has its whole response, so the error can only be reported.
                self._report(failure, errors, "Error after the response ended")
            elif pages is not None and not self.head_sent:
                page = pages(sys.exc_info(), environ)
        if result is not None:
            failure = self._close(result, failure, errors)
        if body_input is not None:
            body_input.close()
        if not self.finished:
            if failure is None:  # the app swallowed Cancelled and returned
                failure = TIMED_OUT_TEXT if self.timed_out else CANCELLED_TEXT
            # The front logs the traceback with the request it belongs to; printing it
            # here as well would put it in the error log twice.
            frame = p.encode_frame(self.id, p.ERROR, 0, p.encode_text(failure))
            if page is not None:
                # The page first: the front answers with it when the ERROR arrives.
                frame = p.encode_frame(self.id, p.ERROR_PAGE, 0, page) + frame
            self.link(frame)
            self.finished = True
        # environ holds this exchange (its cask.push_stream is a bound method): dropping
        # the way back lets both go by reference counting when the request ends, not at
        # the next cyclic collection, which the cycles left by every request would bring
        # on again and again, each time walking the app's young objects.
        self.environ = None

    def _close(self, result, failure, errors):
        """PEP 3333: close() is called whatever happened, cancel included."""
        try:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        except BaseException as error:
            text = traceback.format_exc()
            if self.finished and isinstance(error, RequestTimeout):
                self._report(text, errors, AFTER_END_TIMEOUT)
            elif self.finished or failure is not None:
                self._report(text, errors)
            else:
                failure = text
        return failure

    def _send_result(self, result):
        """Send the app's iterable; returns how many bytes it yielded past its declared
        Content-Length once that was complete (dropped, for the caller to report)."""
        kind = type(result)
        if kind is list or kind is tuple:
            # The whole body is in hand: it leaves as one frame (with the head and END).
            for block in result:
                if type(block) is not bytes:
                    _check_block(block, "the application's iterable")
            self._send_body(result[0] if len(result) == 1 else b"".join(result), True)
            return 0
        if result is None:
            raise TypeError("The application returned None instead of an iterable of bytes")
        if isinstance(result, (bytes, bytearray, str)):
            raise TypeError(
                "The application returned %s instead of an iterable of bytes: wrap it in a list"
                % kind.__name__)
        if kind is FileWrapper and self.head is not None and self._send_file(result):
            return 0
        # A block that completes the declared Content-Length ends the response (its frame
        # carries END): the body is whole for the client whatever the iterable does next,
        # and the front need not wait for the iterable's end, which is a second frame and
        # often a second wake-up of the front per request (frameworks return iterators, not
        # lists). The rest of the iterable is still consumed, as PEP 3333 servers do, and
        # what it yields past the length is dropped and reported.
        declared = None
        looked = False
        dropped = 0
        for block in result:
            if type(block) is not bytes:
                _check_block(block, "the application's iterable")
            if not block:
                if self.cancelled:
                    raise Cancelled()
                continue
            if self.finished:
                dropped += len(block)
                continue
            if not looked and self.headers is not None:
                looked = True
                declared = content_length(self.headers)
            self._send_body(block, declared is not None and self.sent + len(block) == declared)
        if not self.finished:
            self._send_body(b"", True)
        return dropped

    # -- frames ---------------------------------------------------------------------

    def _send_body(self, data, end):
        """Send body bytes as HEAD (the first time) or DATA frames, within the window."""
        if self.cancelled:
            raise Cancelled()
        if self.finished:
            # write() kept by the app and called after the response ended.
            raise ResponseStateError("The response of this request has already ended")
        if self.head is None:
            if end:
                raise ResponseStateError("The application returned without calling start_response()")
            raise ResponseStateError("The application yielded body bytes before start_response()")
        size = len(data)
        if size == 0:
            if end:
                self._send_frame(b"", END)
            return
        pos = 0
        view = None
        while pos < size:
            room = p.INITIAL_WINDOW + self.granted - self.sent
            if room <= 0:
                self._wait_window()
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
            self._send_frame(chunk, END if end and pos == size else 0)
            if pos < size and self.cancelled:
                raise Cancelled()

    def _send_frame(self, chunk, flags):
        if self.head_sent:
            header = p.frame_header(self.id, p.DATA, flags, len(chunk))
            if self.link_parts is not None and len(chunk) >= GATHER_MIN:
                self.link_parts(header, chunk)
                if flags:
                    self.finished = True
                return
            frame = b"".join((header, chunk))
        else:
            frame = p.head_frame(self.id, flags, self.head, chunk)
            self.head_sent = True
        self.link(frame)
        # Set after the write: a RequestTimeout arriving in between must not leave the
        # request without its final frame (the runner sends ERROR when this is unset).
        if flags:
            self.finished = True

    def _wait_window(self):
        flow = self.flow
        with flow:
            self.parked = True
            while not self.cancelled and p.INITIAL_WINDOW + self.granted - self.sent <= 0:
                flow.wait()
            self.parked = False
        if self.cancelled:
            raise Cancelled()

    def _send_file(self, wrapper):
        """Let the front send a regular file by path; False to iterate it instead."""
        target = wrapper.sendfile_target()
        if target is None:
            return False
        path, offset = target
        length = content_length(self.headers)
        if length is None:
            length = p.TO_EOF
        elif length < 0:
            return False  # an odd Content-Length: the front judges it on the body path
        if self.cancelled:
            raise Cancelled()
        frame = p.encode_frame(self.id, p.SENDFILE, END, p.encode_sendfile(offset, length, path))
        if not self.head_sent:
            frame = p.head_frame(self.id, 0, self.head) + frame
            self.head_sent = True
        self.link(frame)
        self.finished = True
        # The app may delete the file on close() (a NamedTemporaryFile): keep it open
        # until the front says it has its own descriptor.
        flow = self.flow
        with flow:
            self.parked = True
            while not (self.file_taken or self.cancelled):
                flow.wait()
            self.parked = False
        return True

    def describe(self):
        """The request as the error log names it: its method and target."""
        return describe_request(self.environ or {})

    def _report(self, text, stream, what="Error in request"):
        """The traceback goes to wsgi.errors (the worker's stderr: the front's error log)."""
        try:
            stream.write("%s %s\n%s" % (what, self.describe(), text))
            stream.flush()
        except Exception:
            pass


def _check_block(block, where):
    if not isinstance(block, bytes):
        raise TypeError("%s must produce bytes, not %s: %s" % (
            where, type(block).__name__, _short_repr(block)))


def _short_repr(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
