"""Entry point: `python -m cask_worker --app SPEC --threads N [...]`, started by the
front (src/pool/worker.ts) with the link on file descriptor 3.

Exit codes (docs/protocol.md): 0 stopped on request, 3 link error, 4 app not loadable.
"""

import argparse
import os
import signal
import socket
import sys
import traceback

from . import protocol as p
from .app import load_app
from .errors import EXIT_LINK_ERROR, EXIT_LOAD_ERROR, AppLoadError, LinkClosed
from .runner import Runner

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
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be at least 1: %d" % args.threads)
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


def main(argv=None):
    args = parse_args(argv)
    setup_stdio()
    # A terminal's Ctrl-C reaches the whole process group; the front handles it and
    # sends STOP, so the worker must not die of SIGINT on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sock = socket.socket(fileno=LINK_FD)
    except OSError as error:
        sys.stderr.write("cask_worker: no link on file descriptor %d: %s\n" % (LINK_FD, error))
        exit_now(EXIT_LINK_ERROR)

    try:
        setup_paths(args)
        app = load_app(args.app)
    except BaseException as error:
        if isinstance(error, AppLoadError):
            text = "Cannot load the app %r: %s\n" % (args.app, error)
        else:
            text = "Cannot load the app %r:\n%s" % (args.app, traceback.format_exc())
        sys.stderr.write(text)
        try:
            sock.sendall(p.encode_frame(0, p.LOAD_ERROR, 0, p.encode_text(text)))
        except OSError:
            pass
        exit_now(EXIT_LOAD_ERROR)

    runner = Runner(sock, app, threads=args.threads, multiprocess=args.multiprocess,
                    root_path=args.root_path)
    signal.signal(signal.SIGTERM, lambda signum, frame: runner.stop())
    try:
        runner.start()
    except LinkClosed:
        pass  # runner.wait() returns the link error at once
    code = runner.wait()
    if code != 0:
        sys.stderr.write("cask_worker: %s\n" % runner.exit_reason)
        exit_now(code)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
