"""The ASGI worker: one asyncio loop (uvloop when it imports) runs the link and every
request, each request a task.

    link ──data_received──▶ FrameDecoder ──▶ dispatch ──REQUEST────▶ task: HttpCycle.run(app)
                                               ├─ BODY / BODY_FILE ─▶ the cycle's body
                                               ├─ WINDOW / FILE_TAKEN ─▶ wake its send()
                                               ├─ CANCEL ─▶ http.disconnect for its receive()
                                               ├─ TIMEOUT ─▶ task.cancel()
                                               └─ STOP ─▶ no new requests; exit after the last
    tasks ──write()──▶ one list ──flushed once per loop turn──▶ link

The front holds at most `--worker-connections` requests in the worker (it reads the number
from READY), so the worker itself never queues: every request starts at once, and RECLAIM,
which asks back a request not yet started, never finds one.

Start-up runs the app's lifespan startup before READY (lifespan.py); a failed startup is an
app that cannot be loaded (LOAD_ERROR, exit 4). A drain (STOP, SIGTERM) lets the requests in
hand finish, then runs the lifespan shutdown and exits 0.

A request whose app blocks the loop (a synchronous call that never yields) blocks every
request of the worker, and TIMEOUT cannot cancel it until it yields: then the front's
`--timeout-grace` takes the worker out of service, as for a WSGI thread stuck in C.
"""

import asyncio
import io
import json
import os
import platform
import sys

from .. import protocol as p
from ..environ import describe_request
from ..errors import EXIT_LINK_ERROR, EXIT_STOPPED, ProtocolError
from .http import HttpCycle
from .lifespan import Lifespan
from .scope import read_scope
from .websocket import WebSocketCycle

__all__ = ["AsgiRunner", "new_loop"]

END = p.FLAG_END
# Python 3.12+ can start a task eagerly: its first step runs at once, inside the call that
# makes it, and a task that ends without waiting for anything is never scheduled at all.
# A request without a body starts that way (see _start).
EAGER_START = sys.version_info >= (3, 12)


def new_loop(use_uvloop=True):
    """(loop, name): uvloop's loop when it imports, else asyncio's default one."""
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop(), "uvloop"
    return asyncio.new_event_loop(), "asyncio"


class _Link(asyncio.Protocol):
    def __init__(self, runner):
        self.runner = runner

    def connection_made(self, transport):
        self.runner.transport = transport

    def data_received(self, data):
        self.runner.received(data)

    def connection_lost(self, exc):
        self.runner.link_lost(exc)


class AsgiRunner:
    interface = "asgi"

    def __init__(self, sock, app, connections=1000, sources=None, pages=None, consoles=None,
                 use_uvloop=True):
        self.sock = sock
        self.app = app
        self.connections = max(1, int(connections))
        self.loop, self.loop_name = new_loop(use_uvloop)
        self.lifespan = Lifespan(app, self.loop)
        self.decoder = p.FrameDecoder()
        self.cycles = {}            # id -> the cycle of a request in hand
        self.transport = None
        self.stopping = False
        self.exit_code = None
        self.exit_reason = None
        self._out = []
        self._flushing = False
        self._done = None
        # Development only, as in the WSGI runner: FILES after a request that imported
        # modules, ERROR_PAGE before an app error, CONSOLE answered.
        self.sources = sources
        self.pages = pages
        self.consoles = consoles

    # -- lifecycle --------------------------------------------------------------------

    def start(self):
        """Lifespan startup, then READY. Raises LifespanFailed if the app's startup fails."""
        asyncio.set_event_loop(self.loop)
        self._done = self.loop.create_future()
        self.loop.run_until_complete(self.lifespan.startup())
        self.loop.run_until_complete(
            self.loop.create_unix_connection(lambda: _Link(self), sock=self.sock))
        info = {
            "pid": os.getpid(),
            "python": platform.python_version(),
            "implementation": sys.implementation.name,
            "threads": 1,
            "interface": "asgi",
            "concurrency": self.connections,
            "loop": self.loop_name,
        }
        ready = p.encode_frame(0, p.READY, 0, json.dumps(info).encode())
        if self.sources is not None:
            ready = p.encode_frame(0, p.FILES, 0, p.encode_files(self.sources.new_files())) + ready
        self.write(ready)

    def wait(self):
        """Run until stopped; the lifespan shutdown after a clean stop; the exit code."""
        self.loop.run_until_complete(self._done)
        if self.exit_code == EXIT_STOPPED:
            self.loop.run_until_complete(self.lifespan.shutdown())
            self.loop.run_until_complete(self._drain())
        return self.exit_code

    def stop(self):
        """STOP or SIGTERM (from a signal handler: any thread, any moment)."""
        self.loop.call_soon_threadsafe(self._stop)

    def _stop(self):
        if self.stopping:
            return
        self.stopping = True
        if not self.cycles:
            self._finish(EXIT_STOPPED, "stopped")

    def fail(self, reason, code=EXIT_LINK_ERROR):
        self._finish(code, reason)

    def _finish(self, code, reason):
        if self.exit_code is None:
            self.exit_code = code
            self.exit_reason = reason
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    async def _drain(self):
        """What is still buffered for the link leaves before the worker exits."""
        self._flush()
        transport = self.transport
        for _ in range(100):
            if transport is None or transport.is_closing() or not transport.get_write_buffer_size():
                return
            await asyncio.sleep(0.01)

    # -- the link -----------------------------------------------------------------------

    def write(self, data):
        """Queue bytes for the link: everything written in one loop turn leaves in one write."""
        self._out.append(data)
        if not self._flushing:
            self._flushing = True
            self.loop.call_soon(self._flush)

    def _flush(self):
        self._flushing = False
        out = self._out
        if not out:
            return
        self._out = []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def received(self, data):
        try:
            for frame in self.decoder.feed(data):
                self._dispatch(frame)
        except ProtocolError as error:
            self.fail("Malformed frame from the front: %s" % error)
            self.transport.close()

    def link_lost(self, _exc):
        if self.stopping and not self.cycles:
            self._finish(EXIT_STOPPED, "stopped")
        else:
            self.fail("The front closed the link")

    def _dispatch(self, frame):
        rid, kind, flags, payload = frame
        if kind == p.REQUEST or kind == p.WEBSOCKET:
            self._start(rid, kind, flags, payload)
            return
        cycle = self.cycles.get(rid)
        if kind == p.WS_MESSAGE:
            if cycle is not None:  # unknown: the app ended while the message was on its way
                cycle.message(payload, flags & p.FLAG_BINARY)
            return
        if kind == p.WS_CLOSED:
            code, reason = p.decode_ws_close(payload)
            if cycle is not None:
                cycle.client_closed(code, reason)
            return
        if kind == p.WINDOW:
            nbytes = p.decode_window(payload)
            if cycle is not None:  # unknown: it raced with the end of the exchange
                cycle.window(nbytes)
        elif kind == p.BODY or kind == p.BODY_FILE:
            # An app may answer before it has read the body: frames already on their way
            # for a request that has ended are dropped.
            if cycle is None:
                return
            if cycle.body_done:
                raise ProtocolError("Body frame for request %d after its end" % rid)
            if kind == p.BODY:
                cycle.feed(payload, flags & END)
            else:
                cycle.body_in_file(payload.decode("utf-8", "surrogateescape"))
        elif kind == p.CANCEL or kind == p.TIMEOUT:
            if cycle is not None:
                cycle.cancel(kind == p.TIMEOUT)
        elif kind == p.FILE_TAKEN:
            if cycle is not None:
                cycle.took_file()
        elif kind == p.RECLAIM:
            pass  # every request starts as it arrives: there is never one to give back
        elif kind == p.STACK_DUMP:
            self._dump_stack(rid, cycle)
        elif kind == p.STOP:
            self._stop()
        elif kind == p.CONSOLE and self.consoles is not None:
            self.loop.run_in_executor(None, self._console, rid, payload)
        else:
            raise ProtocolError("Unexpected frame kind from the front: 0x%02x (id %d)" % (kind, rid))

    def _start(self, rid, kind, flags, payload):
        if rid == 0 or rid in self.cycles:
            raise ProtocolError("REQUEST with a request id already in use: %d" % rid)
        if self.stopping:
            # Draining: the front may run it in another worker.
            self.write(p.encode_frame(rid, p.RECLAIMED, END))
            return
        state = self.lifespan.state
        if kind == p.WEBSOCKET:
            cycle = WebSocketCycle(self, rid, payload, read_scope(payload, state, True))
        else:
            cycle = HttpCycle(self, rid, payload, read_scope(payload, state), not flags & END)
        self.cycles[rid] = cycle
        run = cycle.run(self.app, self.pages)
        if (EAGER_START and kind == p.REQUEST and flags & END
                and self.loop.get_task_factory() is None):
            # A request without a body (a GET, a HEAD) is often answered without the app
            # waiting for anything: started eagerly, it is answered within this call, with
            # no trip through the loop's ready queue (docs/performance.md, "ASGI requests
            # started eagerly"). A request with a body waits for it anyway, so it starts as
            # a scheduled task and the frames of its body in this same read reach it before
            # it runs. The task is current (asyncio.current_task()) in its eager step as in
            # any other. An app that set a task factory on the loop (in its lifespan startup,
            # say, to trace every task) gets its request tasks from that factory, as before.
            cycle.task = asyncio.Task(run, loop=self.loop, eager_start=True)
        else:
            cycle.task = self.loop.create_task(run)

    def ended(self, cycle):
        """A cycle's task has sent its final frame and is about to end (called by it)."""
        self.cycles.pop(cycle.id, None)
        if self.sources is not None:
            files = self.sources.new_files()
            if files:
                self.write(p.encode_frame(0, p.FILES, 0, p.encode_files(files)))
        if self.stopping and not self.cycles:
            self._finish(EXIT_STOPPED, "stopped")

    # -- diagnostics ----------------------------------------------------------------------

    def _dump_stack(self, rid, cycle):
        """STACK_DUMP: where the request's task waits now (its coroutine stack)."""
        if cycle is None:
            return
        buffer = io.StringIO()
        cycle.task.print_stack(file=buffer)
        self.write(p.encode_frame(rid, p.STACK, 0, buffer.getvalue().encode("utf-8", "replace")))

    def describe_busy(self):
        """On SIGABRT: the requests in hand and where each task is, for the error log."""
        lines = []
        for cycle in list(self.cycles.values()):
            task = cycle.task
            environ = cycle.environ
            if task is None:
                # The signal came during a request's eager first step (_start): the task
                # object exists only once that step returns or waits.
                lines.append("Request %s still running in its first step"
                             % describe_request(environ))
                continue
            buffer = io.StringIO()
            task.print_stack(file=buffer)
            lines.append("Request %s still running in task %s:\n%s" % (
                describe_request(environ),
                task.get_name() if hasattr(task, "get_name") else id(task),
                buffer.getvalue().rstrip()))
        return "\n".join(lines)

    def _console(self, rid, payload):
        """CONSOLE, in a thread of the default executor: the line may take a while."""
        try:
            line = json.loads(payload.decode("utf-8"))
            result = self.consoles.run(line.get("traceback"), line.get("frame"),
                                       str(line.get("code", "")))
        except Exception as error:
            result = {"error": "Bad console request: %s" % error}
        body = json.dumps(result).encode("utf-8", "backslashreplace")
        head = p.join_head("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
        self.loop.call_soon_threadsafe(self.write, p.head_frame(rid, END, head, body))
