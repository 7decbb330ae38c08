"""Entry point: `python -m cask_worker --app SPEC --threads N [...]`, started by the
front (src/pool/worker.ts) with the link on file descriptor 3.

Exit codes (docs/protocol.md): 0 stopped on request, 3 link error, 4 app not loadable,
5 aborted by the front (SIGABRT: a request would not stop after its timeout).
"""

import argparse
import functools
import os
import signal
import socket
import sys
import traceback

from . import devpage
from . import hooks as h
from . import protocol as p
from .app import app_interface, load_app
from .console import Consoles
from .errors import EXIT_ABORTED, EXIT_LINK_ERROR, EXIT_LOAD_ERROR, AppLoadError, LinkClosed
from .interrupt import stack_of, use_gevent
from .runner import Runner
from .sources import Sources, traceback_files

LINK_FD = 3


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m cask_worker",
        description="Cask's Python worker: runs a WSGI app behind the worker link on fd 3.")
    parser.add_argument("--app", required=True, metavar="SPEC",
                        help="module:callable, module, path/to/file.py:callable, "
                             "pkg.mod:obj.attr or mod:factory(literal args)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="worker threads running requests (default 1)")
    parser.add_argument("--multiprocess", action="store_true",
                        help="set wsgi.multiprocess: other worker processes run the same app")
    parser.add_argument("--root-path", default="", metavar="P",
                        help="the URL prefix the app is mounted at (becomes SCRIPT_NAME)")
    parser.add_argument("--pythonpath", action="append", default=[], metavar="DIR",
                        help="a folder to put in front of sys.path (repeatable)")
    parser.add_argument("--chdir", metavar="DIR", help="change to DIR before loading the app")
    parser.add_argument("--hooks", metavar="SPEC",
                        help="a module or .py file of server hooks (hooks.py)")
    parser.add_argument("--age", type=int, default=1, metavar="N",
                        help="this worker's number, for hooks (worker.age)")
    parser.add_argument("--generation", type=int, default=1, metavar="N",
                        help="the reload generation this worker belongs to, for hooks")
    parser.add_argument("--report-files", action="store_true",
                        help="send the app's source files in FILES frames (file watching)")
    parser.add_argument("--debug-pages", action="store_true",
                        help="send a development error page with each app error (cask dev)")
    parser.add_argument("--interface", choices=("auto", "asgi", "wsgi"), default="auto",
                        help="serve the app as ASGI 3 or WSGI; auto: ASGI when the callable "
                             "is a coroutine function or has one as __call__")
    parser.add_argument("--worker-connections", type=int, default=1000, metavar="N",
                        help="requests an ASGI or gevent worker runs at once (default 1000)")
    parser.add_argument("--worker-class", choices=("gthread", "sync", "gevent"),
                        default="gthread",
                        help="run a WSGI app's requests in threads (gthread, sync) or, "
                             "monkey-patched, in greenlets (gevent)")
    parser.add_argument("--scheduling", choices=("batch", "inherit"), default="inherit",
                        help="batch: run under Linux's SCHED_BATCH policy, so that a request "
                             "arriving does not make this worker preempt the front")
    parser.add_argument("--timeout", type=float, default=0.0, metavar="S",
                        help="stop what a WSGI app still runs S seconds after its response "
                             "ended (the rest of its iterable, close()); 0: never")
    parser.add_argument("--timeout-grace", type=float, default=0.0, metavar="S",
                        help="after stopping it, wait S seconds more for its thread, then "
                             "ask the front to replace this worker")
    args = parser.parse_args(argv)
    if args.timeout < 0 or args.timeout_grace < 0:
        parser.error("--timeout and --timeout-grace must be 0 or more")
    if args.threads < 1:
        parser.error("--threads must be at least 1: %d" % args.threads)
    if args.worker_connections < 1:
        parser.error("--worker-connections must be at least 1: %d" % args.worker_connections)
    return args


def setup_stdio():
    # The front reads stdout and stderr line by line into its log: a line an app prints
    # must leave at once, not when a block buffer fills (Python 3.8 block-buffers a piped
    # stderr too).
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(line_buffering=True, errors="backslashreplace")
            except (ValueError, OSError):
                pass


def setup_paths(args):
    if args.chdir:
        os.chdir(args.chdir)
    front = [os.path.abspath(d) for d in args.pythonpath] + [os.getcwd()]
    rest = [d for d in sys.path if d not in front and d != ""]
    sys.path[:] = front + rest


def exit_now(code):
    """Leave without waiting for threads (app code may be stuck in one)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


class LinkLog:
    """Sends hook log lines to the front as LOG frames, through the runner's lock once
    the runner runs (before that, only the main thread writes)."""

    def __init__(self, sock):
        self.sock = sock
        self.runner = None

    def emit(self, level, text):
        frame = p.encode_frame(0, p.LOG, 0, p.encode_log(level, text))
        try:
            if self.runner is not None:
                self.runner.send(frame)
            else:
                self.sock.sendall(frame)
        except (OSError, LinkClosed):
            pass


def load_hooks(args, log):
    """The hooks module, or None. A module that will not import is reported, not fatal:
    the front already imported it once at start, so this is a change made since."""
    if not args.hooks:
        return None
    try:
        module = h.load_module(args.hooks)
    except BaseException:
        log.error("Cannot load the hooks %r, going on without them:\n%s"
                  % (args.hooks, traceback.format_exc().rstrip()))
        return None
    return h.Hooks(module, log, h.WORKER_HOOKS)


def load_error_frames(args, exc_info, sources):
    """What a development worker says before LOAD_ERROR: the files to watch (those loaded
    so far and those in the traceback, so that fixing any of them reloads), and the error
    page the front shows until then, as HTML and as JSON."""
    out = b""
    if sources is not None:
        files = sources.new_files(traceback_files(exc_info[1]))
        out += p.encode_frame(0, p.FILES, 0, p.encode_files(files))
    if args.debug_pages:
        context = "while loading the app %s; the next change to its files reloads it" % args.app
        for as_json in (False, True):
            page = devpage.response(exc_info, None, as_json, context)
            if page is not None:
                out += p.encode_frame(0, p.ERROR_PAGE, 0, page)
    return out


def dump_busy_threads(runner):
    """On SIGABRT: where each thread that holds a request is, for the error log."""
    describe = getattr(runner, "describe_busy", None)
    if describe is not None:
        text = describe()
        if text:
            sys.stderr.write(text + "\n")
        return
    lines = []
    for exchange in list(runner.exchanges.values()):
        ident = exchange.thread
        stack = stack_of(ident)
        if stack is None:
            continue
        lines.append("Request %s still running in thread %s:\n%s" % (
            exchange.describe(), ident, stack.rstrip()))
    if lines:
        sys.stderr.write("\n".join(lines) + "\n")


def use_scheduling(policy):
    """`--scheduling batch`: put this process under SCHED_BATCH, a policy of the same
    priority (nice value) under which the kernel takes the threads for CPU-bound ones: their
    wake-ups do not preempt the task running on that CPU. Called from the main thread before
    any other thread exists, since the policy is per thread and each new thread inherits it
    from the one that starts it.

    Where the front shares a CPU with the worker, each request written on the link would
    otherwise switch to the worker at once, for that one request; without the preemption
    the front finishes its turn and the worker reads every request that came meanwhile.
    Returns what went wrong, or None; an interpreter or system without the call (not
    Linux) keeps its policy without a word, as the setting documents.
    """
    if policy != "batch":
        return None
    setscheduler = getattr(os, "sched_setscheduler", None)
    batch = getattr(os, "SCHED_BATCH", None)
    if setscheduler is None or batch is None:
        return None
    try:
        setscheduler(0, batch, os.sched_param(0))
    except OSError as error:
        return "Cannot use the SCHED_BATCH policy (%s): going on with the inherited one" % error
    return None


def patch_gevent():
    """`--worker-class gevent`: make the standard library cooperative (sockets, sleep,
    threads, locks, queues, DNS, subprocesses) before the link socket is made and before the
    app is imported, so the app and its libraries only ever see the patched modules. The
    worker's own threads become greenlets: `--worker-connections` of them run requests.
    Returns what went wrong, or None."""
    try:
        import gevent
        from gevent import monkey
        # The hub's event loop is a compiled part: a gevent built for another interpreter
        # (Debian's CPython one, seen from PyPy) imports and then fails here, before
        # anything is patched.
        gevent.get_hub()
    except ImportError as error:
        return ("--worker-class gevent needs gevent in %s (%s): apt-get install python3-gevent, "
                "or pip install gevent" % (sys.executable, error))
    monkey.patch_all()
    use_gevent()
    return None


def main(argv=None, preloaded=None):
    """Runs a worker to its end. `preloaded` is (app, interface) when the app was imported
    before this process was forked from the zygote (`--preload`, zygote.py)."""
    args = parse_args(argv)
    scheduling_problem = use_scheduling(args.scheduling)
    gevent_problem = patch_gevent() if args.worker_class == "gevent" else None
    setup_stdio()
    if scheduling_problem is not None:
        sys.stderr.write("cask_worker: %s\n" % scheduling_problem)
    # A terminal's Ctrl-C reaches the whole process group; the front handles it and
    # sends STOP, so the worker must not die of SIGINT on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sock = socket.socket(fileno=LINK_FD)
    except OSError as error:
        sys.stderr.write("cask_worker: no link on file descriptor %d: %s\n" % (LINK_FD, error))
        exit_now(EXIT_LINK_ERROR)

    link_log = LinkLog(sock)
    log = h.Log(link_log.emit)
    server = h.Server(log, os.getppid())
    worker = h.Worker(log, os.getpid(), os.getppid(), args.age, args.generation)
    sources = Sources() if args.report_files else None
    consoles = Consoles() if args.debug_pages else None
    if args.report_files:
        # A .pyc is reused when the source's mtime (whole seconds) and size match: a file
        # edited twice in one second to the same length would reload as its old code. A
        # worker that reloads on edits writes none, so it always compiles what is on disk.
        sys.dont_write_bytecode = True
    try:
        if gevent_problem is not None:
            raise AppLoadError(gevent_problem)
        setup_paths(args)
        hooks = load_hooks(args, log)
        if hooks is not None:
            hooks.call("post_fork", server, worker)
        if preloaded is None:
            app = load_app(args.app)
            interface = app_interface(app, args.interface)
        else:
            app, interface = preloaded
        if interface == "asgi" and args.worker_class == "gevent":
            raise AppLoadError(
                "--worker-class gevent runs WSGI apps, and %s is an ASGI app: leave "
                "--worker-class out (an ASGI app runs on its asyncio loop)" % args.app)
    except BaseException as error:
        if isinstance(error, AppLoadError):
            text = "Cannot load the app %r: %s\n" % (args.app, error)
        else:
            text = "Cannot load the app %r:\n%s" % (args.app, traceback.format_exc())
        sys.stderr.write(text)
        frames = load_error_frames(args, sys.exc_info(), sources)
        try:
            sock.sendall(frames + p.encode_frame(0, p.LOAD_ERROR, 0, p.encode_text(text)))
        except OSError:
            pass
        exit_now(EXIT_LOAD_ERROR)

    if hooks is not None:
        hooks.call("post_worker_init", worker)
    worker.booted = True
    pages = functools.partial(devpage.response, consoles=consoles) if args.debug_pages else None
    if interface == "asgi":
        from .asgi import AsgiRunner
        runner = AsgiRunner(sock, app, connections=args.worker_connections, sources=sources,
                            pages=pages, consoles=consoles)
    else:
        gevent = args.worker_class == "gevent"
        runner = Runner(sock, app, threads=args.worker_connections if gevent else args.threads,
                        multiprocess=args.multiprocess, root_path=args.root_path, hooks=hooks,
                        worker=worker, sources=sources, pages=pages, consoles=consoles,
                        worker_class="gevent" if gevent else "gthread",
                        tail_timeout=args.timeout, tail_grace=args.timeout_grace)
    link_log.runner = runner

    def on_term(_signum, _frame):
        worker.alive = False
        runner.stop()

    def on_abort(_signum, _frame):
        # The front sends SIGABRT to a worker with a request that would not stop after
        # its timeout (and SIGKILL a moment later): say where the threads are, then go.
        try:
            dump_busy_threads(runner)
            if hooks is not None:
                hooks.call("worker_abort", worker)
        finally:
            exit_now(EXIT_ABORTED)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGABRT, on_abort)
    try:
        runner.start()
    except LinkClosed:
        pass  # runner.wait() returns the link error at once
    except BaseException as error:
        if getattr(runner, "interface", "wsgi") != "asgi":
            raise
        # The ASGI app's lifespan startup failed: for the front that is an app that cannot
        # be loaded (exit 4), so it stops instead of starting workers that fail again.
        from .asgi import LifespanFailed
        if isinstance(error, LifespanFailed):
            text = "Cannot start the app %r: %s\n" % (args.app, str(error).rstrip())
        else:
            text = "Cannot start the app %r:\n%s" % (args.app, traceback.format_exc())
        sys.stderr.write(text)
        try:
            sock.sendall(p.encode_frame(0, p.LOAD_ERROR, 0, p.encode_text(text)))
        except OSError:
            pass
        exit_now(EXIT_LOAD_ERROR)
    code = runner.wait()
    worker.alive = False
    if code == 0 and hooks is not None:
        hooks.call("worker_exit", server, worker)
    if code != 0:
        sys.stderr.write("cask_worker: %s\n" % runner.exit_reason)
        exit_now(code)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
