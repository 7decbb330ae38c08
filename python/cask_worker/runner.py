"""Threads and dispatch: one reader thread owns the link's input, N worker threads run
requests, and every write goes out under one lock.

    link ──recv 256 KiB──► reader ──decode all frames──┬─ REQUEST/BODY… complete ─► queue ─► N workers
                                                       ├─ WINDOW / CANCEL / FILE_TAKEN ─► flow condition
                                                       ├─ TIMEOUT ─► RequestTimeout raised in the app's thread
                                                       └─ STOP ─► N sentinels on the queue
    workers ──sendall (one lock)──► link

The front may hold more requests in a worker than it has threads (docs/protocol.md,
"Keeping a worker fed"): they wait in the queue. A request is claimed atomically from
`waiting` (dict.pop), either by the thread that dequeues it or by a CANCEL or RECLAIM
that arrives first, so each request runs at most once and gets exactly one final frame.

TIMEOUT (the front already answered 504) raises `RequestTimeout` inside the thread running
that request (interrupt.py), so the app unwinds through its `finally` blocks while the
other threads go on serving. `Guard` keeps the exception inside that one request.
"""

import json
import os
import platform
import queue
import sys
import threading
import time
import traceback

from . import protocol as p
from .environ import base_environ, build_environ
from .errors import EXIT_LINK_ERROR, EXIT_STOPPED, LinkClosed, ProtocolError
from .exchange import CANCELLED_TEXT, TIMED_OUT_TEXT, Exchange
from .hooks import Request, Response
from .interrupt import Guard, RequestTimeout, register_current, stack_of

READ_SIZE = 256 * 1024
# Buffers per sendmsg of the link writer: below the usual IOV_MAX (1024).
MAX_GATHER = 512


class Runner:
    def __init__(self, sock, app, threads=1, multiprocess=False, root_path="", errors=None,
                 hooks=None, worker=None, sources=None, pages=None, consoles=None,
                 worker_class="gthread", tail_timeout=0.0, tail_grace=0.0):
        self.sock = sock
        self.app = app
        self.threads = max(1, int(threads))
        self.base = base_environ(self.threads, multiprocess, errors)
        self.root_path = root_path.rstrip("/")
        self.flow = threading.Condition(threading.Lock())
        self.exchanges = {}  # id -> Exchange, from REQUEST until its thread let go of it
        self.waiting = {}    # id -> Exchange queued and not yet claimed
        self.queue = queue.SimpleQueue()
        self.decoder = p.FrameDecoder()
        self._send_lock = threading.Lock()
        # Scatter-gather where the socket has it (every POSIX CPython and PyPy does).
        self._send_parts = self.send_parts if hasattr(sock, "sendmsg") else None
        # Frames written while another write was in progress, for the link writer (_write).
        self._out = []
        self._out_ready = threading.Condition(threading.Lock())
        self._writer = None
        self._writing = False
        self._link_error = None
        # Reentrant: stop() may run in a SIGTERM handler on top of itself.
        self._state = threading.RLock()
        self._stopping = False
        self._alive = 0
        self._done = threading.Event()
        self.exit_code = None
        self.exit_reason = None
        self._threads = []
        self._reader = None
        self.guard = Guard()
        self.errors = self.base["wsgi.errors"]
        # pre_request/post_request (hooks.py) cost nothing unless the module defines them.
        self.hooks = hooks if hooks is not None and (
            hooks.has("pre_request") or hooks.has("post_request")) else None
        self.worker = worker
        # Development only (`cask dev`, `--reload`): sources.Sources reports the app's files
        # in FILES frames; pages is devpage.response, for ERROR_PAGE frames.
        self.sources = sources
        self.pages = pages
        # console.Consoles: answers CONSOLE frames (the error page's console, `cask dev`).
        self.consoles = consoles
        # "gevent": the threads are greenlets (the standard library is monkey-patched).
        self.worker_class = worker_class
        # --timeout and --timeout-grace, for what an app runs after its response ended,
        # which the front no longer times (_watch_tails); 0: not watched.
        self.tail_timeout = tail_timeout
        self.tail_grace = tail_grace
        self._retired = False

    # -- lifecycle ------------------------------------------------------------------

    def start(self):
        """Start the threads, then tell the front the app is ready."""
        with self._state:
            self._alive = self.threads
        for index in range(self.threads):
            thread = threading.Thread(
                target=self._work, name="cask-worker-%d" % (index + 1), daemon=True)
            self._threads.append(thread)
            thread.start()
        self._reader = threading.Thread(target=self._read_loop, name="cask-reader", daemon=True)
        self._reader.start()
        if self.tail_timeout > 0 and Guard.available:
            threading.Thread(target=self._watch_tails, name="cask-tail-watch", daemon=True).start()
        info = ready_info(self.threads)
        info["worker_class"] = self.worker_class
        ready = p.encode_frame(0, p.READY, 0, json.dumps(info).encode())
        if self.sources is not None:
            ready = p.encode_frame(0, p.FILES, 0, p.encode_files(self.sources.new_files())) + ready
        self.send(ready)

    def stop(self):
        """STOP or SIGTERM: finish what is in hand (queued included), then exit 0."""
        with self._state:
            if self._stopping:
                return
            self._stopping = True
            # Push streams hold no thread, so nothing would wait for them: they end now
            # (a client's EventSource reconnects, to the worker that takes over).
            for exchange in list(self.exchanges.values()):
                if exchange.detached:
                    exchange.push.stop()
            # FIFO: the sentinels line up behind every request already queued.
            for _ in range(self.threads):
                self.queue.put(None)
            if self._alive == 0:
                self._finish(EXIT_STOPPED, "stopped")

    def wait(self):
        """Block until the worker should exit; returns the exit code.

        A timed wait so that the main thread keeps running Python signal handlers on
        every interpreter, whatever its lock implementation.
        """
        while not self._done.wait(0.5):
            pass
        # Frames still listed for the link writer (the last responses, a final ERROR)
        # leave before the process does.
        self.flush()
        return self.exit_code

    def fail(self, reason, code=EXIT_LINK_ERROR):
        self._finish(code, reason)

    def _finish(self, code, reason):
        with self._state:
            if self.exit_code is None:
                self.exit_code = code
                self.exit_reason = reason
            self._done.set()

    def send(self, data):
        self._write(data, None)

    def send_parts(self, header, piece):
        """One frame given as its header and its payload, written without joining them."""
        self._write(header, piece)

    def _write(self, data, piece):
        """Write one frame (`data`, or `data` then `piece`), or leave it to the link writer.

        While the link is free, the calling thread writes its frame itself, in one C call
        (sendall or sendmsg): no hand-off, and an exception raised in that thread (a request
        timeout) cannot land in the middle of a frame. While another write is in progress,
        the frame joins the outgoing list and the call returns at once; the link writer
        thread takes the send lock as soon as that write ends and sends everything listed,
        in order, in one sendmsg. So frames are coalesced only while an earlier write is
        still in progress, and a frame is never held back waiting for the app: it is sent
        by the write that follows the one in progress, whatever the app does meanwhile.
        Once something is listed, later frames are listed too, so the order holds.
        """
        out = self._out
        with self._out_ready:
            if self._link_error is not None:
                raise LinkClosed(self._link_error)
            if out or not self._send_lock.acquire(False):
                out.append(data)
                if piece is not None:
                    out.append(piece)
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._write_loop, name="cask-link-writer", daemon=True)
                    self._writer.start()
                self._out_ready.notify_all()
                return
        try:
            if piece is None:
                self.sock.sendall(data)
            else:
                sent = self.sock.sendmsg((data, piece))
                if sent < len(data) + len(piece):
                    # A signal cut the write short: the rest goes in as few calls as it takes.
                    _send_rest(self.sock, [data, piece], sent)
        except OSError as error:
            self._link_failed(error)
        finally:
            self._send_lock.release()

    def _write_loop(self):
        """The link writer: sends the listed frames, a batch per sendmsg, in order."""
        out = self._out
        ready = self._out_ready
        try:
            while True:
                with ready:
                    while not out:
                        self._writing = False
                        ready.notify_all()
                        ready.wait()
                    self._writing = True
                with self._send_lock:
                    with ready:
                        batch = out[:MAX_GATHER]
                        del out[:MAX_GATHER]
                    sent = self.sock.sendmsg(batch)
                    if sent < sum(map(len, batch)):
                        _send_rest(self.sock, batch, sent)
        except OSError as error:
            try:
                self._link_failed(error)
            except LinkClosed:
                pass

    def _link_failed(self, error):
        with self._out_ready:
            self._link_error = str(error)
            del self._out[:]
            self._writing = False
            self._out_ready.notify_all()
        self.fail("Cannot write to the link: %s" % error)
        raise LinkClosed(str(error)) from None

    def flush(self, timeout=5.0):
        """Wait until the link writer has sent every listed frame (before the worker exits)."""
        deadline = time.monotonic() + timeout
        with self._out_ready:
            while (self._out or self._writing) and self._link_error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._out_ready.wait(left)
        return True

    # -- reader thread --------------------------------------------------------------

    def _read_loop(self):
        # recv_into one buffer: a fresh 256 KiB bytes per recv() costs an mmap, an
        # mremap and a munmap, and small reads are the common case (one request each).
        buffer = bytearray(READ_SIZE)
        view = memoryview(buffer)
        recv_into = self.sock.recv_into
        feed = self.decoder.feed
        dispatch = self._dispatch
        try:
            while True:
                size = recv_into(buffer)
                if not size:
                    self._link_eof()
                    return
                for frame in feed(view[:size]):
                    dispatch(frame)
        except ProtocolError as error:
            self.fail("Malformed frame from the front: %s" % error)
        except LinkClosed:
            pass
        except OSError as error:
            self.fail("Cannot read the link: %s" % error)
        except BaseException:
            self.fail("Reader thread crashed:\n" + traceback.format_exc())

    def _link_eof(self):
        if self._stopping and not self.exchanges:
            return  # the worker threads are on their way out and will exit 0
        self.fail("The front closed the link")

    def _dispatch(self, frame):
        rid, kind, flags, payload = frame
        # Ordered by frequency: the hot path is one REQUEST (with END) per request.
        if kind == p.REQUEST:
            if rid == 0 or rid in self.exchanges:
                raise ProtocolError("REQUEST with a request id already in use: %d" % rid)
            exchange = Exchange(rid, payload, self.send, self.flow, self._send_parts)
            exchange.forget = self._forget
            self.exchanges[rid] = exchange
            if flags & p.FLAG_END:
                exchange.body = b""
                self._enqueue(exchange)
            else:
                exchange.body = []
        elif kind == p.BODY:
            exchange = self._receiving(rid, "BODY")
            if payload:
                exchange.body.append(payload)
                # The front sends a body within a window (docs/protocol.md, "Flow
                # control"); a WSGI request is read whole before the app runs, so the
                # bytes are credited back as soon as they are here.
                exchange.uncredited += len(payload)
                if exchange.uncredited >= p.GRANT_STEP and not flags & p.FLAG_END:
                    self.send(p.encode_frame(rid, p.CREDIT, 0, p.encode_window(exchange.uncredited)))
                    exchange.uncredited = 0
            if flags & p.FLAG_END:
                exchange.body = b"".join(exchange.body)
                self._enqueue(exchange)
        elif kind == p.WINDOW:
            nbytes = p.decode_window(payload)
            exchange = self.exchanges.get(rid)
            if exchange is not None:  # unknown: it raced with the end of the exchange
                with self.flow:
                    exchange.granted += nbytes
                    self.flow.notify_all()
                if exchange.detached:
                    exchange.push.window()
        elif kind == p.CANCEL:
            self._cancel(rid)
        elif kind == p.FILE_TAKEN:
            exchange = self.exchanges.get(rid)
            if exchange is not None:
                with self.flow:
                    exchange.file_taken = True
                    self.flow.notify_all()
        elif kind == p.BODY_FILE:
            exchange = self._receiving(rid, "BODY_FILE")
            if exchange.body:
                raise ProtocolError("BODY_FILE after BODY frames for request %d" % rid)
            exchange.body_path = payload.decode("utf-8", "surrogateescape")
            exchange.body = None
            self._enqueue(exchange)
        elif kind == p.RECLAIM:
            self._reclaim(rid)
        elif kind == p.END_STREAM:
            exchange = self.exchanges.get(rid)
            if exchange is not None and exchange.detached:
                exchange.push.stop()
        elif kind == p.TIMEOUT:
            self._time_out(rid)
        elif kind == p.STACK_DUMP:
            self._dump_stack(rid)
        elif kind == p.STOP:
            self.stop()
        elif kind == p.CONSOLE and self.consoles is not None:
            threading.Thread(target=self._console, args=(rid, payload),
                             name="cask-console", daemon=True).start()
        else:
            raise ProtocolError("Unexpected frame kind from the front: 0x%02x (id %d)" % (kind, rid))

    def _forget(self, rid):
        """A push stream ended: no more frames for it are routed."""
        self.exchanges.pop(rid, None)

    def _receiving(self, rid, what):
        exchange = self.exchanges.get(rid)
        if exchange is None or type(exchange.body) is not list:
            raise ProtocolError("%s for request %d, which is not receiving a body" % (what, rid))
        return exchange

    def _enqueue(self, exchange):
        if exchange.cancelled:
            self._answer_unrun(exchange, p.ERROR, CANCELLED_TEXT)
            return
        if exchange.reclaimed:
            self._answer_unrun(exchange, p.RECLAIMED)
            return
        rid = exchange.id
        self.waiting[rid] = exchange
        self.queue.put(exchange)
        # stop() sets the flag before queueing its sentinels: if it is not set now, this
        # request is ahead of them and will run. If it is, take it back and give it to
        # the front, which can run it in another worker.
        if self._stopping and self.waiting.pop(rid, None) is not None:
            self._answer_unrun(exchange, p.RECLAIMED)

    def _cancel(self, rid):
        exchange = self.exchanges.get(rid)
        if exchange is None:
            return
        exchange.cancelled = True
        if self.waiting.pop(rid, None) is not None:
            self._answer_unrun(exchange, p.ERROR, CANCELLED_TEXT)  # queued: the app never runs
        elif exchange.push is not None and exchange.push.abort(CANCELLED_TEXT):
            pass  # a push stream no thread holds: ended here
        else:
            with self.flow:  # running: wake it if it waits for a window or FILE_TAKEN
                self.flow.notify_all()

    def _dump_stack(self, rid):
        """STACK_DUMP: the front saw this request run past `slow-request`. Answer STACK with
        the Python stack of the thread running it, taken here in the reader thread while the
        app goes on (sys._current_frames: CPython, and PyPy 3). Nothing is stopped."""
        exchange = self.exchanges.get(rid)
        if exchange is None:
            return  # it finished meanwhile
        ident = exchange.thread
        if exchange.detached:
            text = "(a push stream: no thread holds it, it is sent from the app's own threads)\n"
        elif ident is None:
            text = "(not started: waiting in the worker for a free thread)\n"
        else:
            text = (stack_of(ident)
                    or "(no stack: this interpreter does not give other threads' frames)\n")
        self.send(p.encode_frame(rid, p.STACK, 0, text.encode("utf-8", "replace")))

    def _time_out(self, rid):
        """TIMEOUT: the front gave up on this request (504). Unstarted: answer ERROR.
        Running: wake it if it waits on the link, else raise RequestTimeout in its thread."""
        exchange = self.exchanges.get(rid)
        if exchange is None:
            return
        exchange.timed_out = True
        exchange.cancelled = True
        if self.waiting.pop(rid, None) is not None:
            self._answer_unrun(exchange, p.ERROR, TIMED_OUT_TEXT)
            return
        if type(exchange.body) is list:
            return  # still receiving its body: _enqueue answers it once complete
        if exchange.push is not None and exchange.push.abort(TIMED_OUT_TEXT):
            return  # a push stream no thread holds: ended here, nothing to interrupt
        with self.flow:
            parked = exchange.parked
            self.flow.notify_all()
        # A thread asleep on `flow` wakes into Cancelled by itself; raising inside
        # Condition.wait could leave the condition's lock in a bad state.
        if not parked:
            self.guard.interrupt(exchange)

    def _reclaim(self, rid):
        """RECLAIM: give back a request no thread has started; a started one goes on."""
        exchange = self.exchanges.get(rid)
        if exchange is None:
            return
        if type(exchange.body) is list:
            exchange.reclaimed = True  # answered once its body is complete
        elif self.waiting.pop(rid, None) is not None:
            self._answer_unrun(exchange, p.RECLAIMED)

    def _answer_unrun(self, exchange, kind, text=""):
        """The final frame of a request the app never saw: ERROR, or RECLAIMED (END)."""
        exchange.finished = True
        self.exchanges.pop(exchange.id, None)
        flags = p.FLAG_END if kind == p.RECLAIMED else 0
        self.send(p.encode_frame(exchange.id, kind, flags, text.encode()))

    # -- worker threads -------------------------------------------------------------

    def _work(self):
        register_current()
        get = self.queue.get
        claim = self.waiting.pop
        serve = self._serve
        try:
            while True:
                exchange = get()
                if exchange is None:
                    break
                if claim(exchange.id, None) is None:
                    continue  # cancelled (or refused at stop) while it waited
                serve(exchange)
        except LinkClosed:
            pass
        except ProtocolError as error:
            self.fail("Malformed frame from the front: %s" % error)
        except BaseException:
            self.fail("Worker thread crashed:\n" + traceback.format_exc())
        finally:
            with self._state:
                self._alive -= 1
                if self._alive == 0 and self._stopping:
                    self._finish(EXIT_STOPPED, "stopped")


    def _serve(self, exchange):
        """Run one request. A RequestTimeout can arrive only between `exchange.thread`
        being set and guard.leave() returning, and at most once per request: every such
        spot is inside the try, and the handler ends in leave() too."""
        hooks = self.hooks
        req = None
        environ = build_environ(self.base, exchange.received, self.root_path)
        environ["cask.push_stream"] = exchange.push_stream
        if hooks is not None:
            req = Request(environ)
            hooks.call("pre_request", self.worker, req)
        try:
            exchange.thread = threading.get_ident()
            exchange.run(self.app, environ, self.errors, self.pages)
            self.guard.leave(exchange)
        except RequestTimeout:
            self._leave_late(exchange)
        if exchange.detached:
            # The push stream has the response and takes the exchange out when it ends;
            # one detached while the worker was stopping ends at once, as stop() does.
            if self._stopping:
                exchange.push.stop()
        else:
            self.exchanges.pop(exchange.id, None)
        if not exchange.finished and not exchange.detached:
            # The exception hit our own code after the app: the request still needs its
            # one final frame.
            exchange.finished = True
            self.send(p.encode_frame(exchange.id, p.ERROR, 0, TIMED_OUT_TEXT.encode()))
        if self.sources is not None:
            files = self.sources.new_files()
            if files:
                self.send(p.encode_frame(0, p.FILES, 0, p.encode_files(files)))
        if req is not None:
            status = exchange.head.split(b"\0", 1)[0].decode("latin-1") if exchange.head else ""
            hooks.call("post_request", self.worker, req, environ,
                       Response(status, exchange.headers, exchange.sent))

    # -- what runs after a response ---------------------------------------------------

    def _watch_tails(self):
        """--timeout for what an app runs after its response's final frame went out.

        The front times a request until that frame; the rest of the iterable and close()
        still hold the thread, out of the front's sight (docs/operations.md, "Request
        timeouts"). Every quarter of the timeout (at least 50 ms, at most 1 s) this looks at
        the exchanges still held by a thread: one seen ended and running on two looks
        `timeout` apart gets RequestTimeout in its thread, like a request the front timed
        out; one still running `timeout-grace` after that makes the worker ask the front to
        replace it (RETIRE), as the front does with a request of its own that will not stop.
        Sampling instead of stamping each request keeps the request path free of it.
        """
        timeout = self.tail_timeout
        interval = min(max(timeout / 4, 0.05), 1.0)
        while not self._done.wait(interval):
            now = time.monotonic()
            try:
                running = list(self.exchanges.values())
            except RuntimeError:
                # Changed by the reader thread during the copy, on an interpreter where the
                # copy is not one step under its lock: look again at the next turn.
                continue
            for exchange in running:
                # Parked: waiting for FILE_TAKEN after a SENDFILE, which the front sends at
                # once; an exception must not be raised inside Condition.wait.
                if (not exchange.finished or exchange.thread is None or exchange.detached
                        or exchange.parked):
                    continue
                if not exchange.tail_seen:
                    exchange.tail_seen = now
                elif not exchange.timed_out:
                    if now - exchange.tail_seen >= timeout:
                        self.guard.interrupt(exchange)
                elif now - exchange.tail_seen >= timeout + self.tail_grace and not self._retired:
                    self._retired = True
                    self._retire(exchange, now - exchange.tail_seen)

    def _retire(self, exchange, running):
        what = exchange.describe()
        reason = ("a thread still runs %s %.1f s after its response ended, past the %g s "
                  "timeout and its %g s grace (blocked in a C call?)"
                  % (what, running, self.tail_timeout, self.tail_grace))
        stack = stack_of(exchange.thread) or "(no stack)\n"
        try:
            self.errors.write("Stuck after its response: %s\n%s" % (what, stack))
            self.errors.flush()
        except Exception:
            pass
        try:
            self.send(p.encode_frame(0, p.RETIRE, 0, reason.encode("utf-8", "replace")))
        except LinkClosed:
            pass

    def _console(self, rid, payload):
        """CONSOLE: one line of the error page's console, answered as a JSON response (its
        own thread: the line may take a while, and the reader must go on reading)."""
        try:
            line = json.loads(payload.decode("utf-8"))
            result = self.consoles.run(line.get("traceback"), line.get("frame"),
                                       str(line.get("code", "")))
        except Exception as error:
            result = {"error": "Bad console request: %s" % error}
        body = json.dumps(result).encode("utf-8", "backslashreplace")
        head = p.join_head("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
        try:
            self.send(p.head_frame(rid, p.FLAG_END, head, body))
        except LinkClosed:
            pass

    def _leave_late(self, exchange):
        while True:
            try:
                self.guard.leave(exchange)
                return
            except RequestTimeout:
                continue


def _send_rest(sock, parts, sent):
    """Send what is left of `parts` once the first `sent` bytes went out."""
    for part in parts:
        size = len(part)
        if sent >= size:
            sent -= size
            continue
        sock.sendall(memoryview(part)[sent:] if sent else part)
        sent = 0


def ready_info(threads):
    return {
        "pid": os.getpid(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "threads": threads,
        "interface": "wsgi",
        "concurrency": threads,
    }
