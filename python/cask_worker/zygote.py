"""The zygote of `--preload`: `python -m cask_worker.zygote --slots N -- WORKER ARGS`, started by
src/pool/zygote.ts. It imports the app once, then forks the workers, which share its memory
copy-on-write instead of each importing the app again (gunicorn's --preload, uWSGI's default).

    fd 0        /dev/null
    fd 1, 2     the zygote's own stdout and stderr
    fd 3        the control channel: JSON, one object per line, both ways
    fd 4+3i     slot i: a worker's stdout, stderr (5+3i) and link (6+3i), made by the front

    front -> zygote   {"fork": SLOT, "argv": [worker args: --age, --generation, ...]}
    zygote -> front   {"ready": PID}              the app is imported; forks follow
                      {"error": TEXT}             it is not; every fork then ends at once, the
                                                  text sent as LOAD_ERROR on its link (exit 4)
                      {"forked": SLOT, "pid": PID}
                      {"exit": SLOT, "pid": PID, "code": CODE, "signal": SIGNAL}

A forked child puts its slot's descriptors at 1, 2 and 3 and runs the worker's main() with
the app already imported: it is a worker in every way but its parent. Before the first fork
the zygote collects its garbage and moves every object into the permanent generation
(gc.freeze, CPython 3.7+), so that the workers' collections never write to the pages they
share (https://docs.python.org/3/library/gc.html#gc.freeze). The zygote serves no request,
so a worker forked from it to replace a recycled one starts as clean as the first.

The zygote ends when the front closes the control channel (or on SIGTERM); its workers,
which hold their own links, are stopped by the front, not by it.
"""

import gc
import json
import os
import select
import signal
import sys
import traceback

from . import __main__ as w
from . import protocol as p
from .app import app_interface, load_app
from .errors import EXIT_LOAD_ERROR

CONTROL_FD = 3
FIRST_SLOT_FD = 4
POLL_SECONDS = 0.2


def split_argv(argv):
    """(--slots N, the worker's arguments after `--`)."""
    if "--" not in argv:
        raise SystemExit("usage: python -m cask_worker.zygote --slots N -- WORKER ARGS")
    cut = argv.index("--")
    own, worker = argv[:cut], argv[cut + 1:]
    if len(own) != 2 or own[0] != "--slots" or not own[1].isdigit():
        raise SystemExit("usage: python -m cask_worker.zygote --slots N -- WORKER ARGS")
    return int(own[1]), worker


class Control:
    """The channel to the front, on a raw descriptor: a Python socket object would close it
    when collected, and in a forked child descriptor 3 is the worker's link."""

    def __init__(self, fd):
        self.fd = fd
        self.buffer = b""

    def send(self, message):
        data = json.dumps(message).encode("utf-8") + b"\n"
        while data:
            data = data[os.write(self.fd, data):]

    def read(self):
        """Whole lines that have arrived, or None once the front closed the channel."""
        chunk = os.read(self.fd, 65536)
        if not chunk:
            return None
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]


def slot_fds(slot):
    base = FIRST_SLOT_FD + 3 * slot
    return base, base + 1, base + 2


def become_worker(slot, argv, preloaded):
    """In the forked child: take the slot's descriptors as 1, 2 and 3, and serve."""
    out, err, link = slot_fds(slot)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.dup2(link, CONTROL_FD)  # the control channel is the zygote's, not this worker's
    os.closerange(FIRST_SLOT_FD, max(FIRST_SLOT_FD, os.sysconf("SC_OPEN_MAX")))
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    code = 1
    try:
        code = w.main(argv, preloaded=preloaded) or 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:
        traceback.print_exc()
    w.exit_now(code)


def refuse_fork(slot, text):
    """The app could not be imported: the worker in this slot ends as one that could not
    load it, with the same LOAD_ERROR on its link."""
    _, _, link = slot_fds(slot)
    try:
        os.write(link, p.encode_frame(0, p.LOAD_ERROR, 0, p.encode_text(text)))
    except OSError:
        pass


def close_slot(slot):
    """The worker has the slot now (or never will): the zygote's copies must go, or the
    front would never see the link close when the worker ends."""
    for fd in slot_fds(slot):
        try:
            os.close(fd)
        except OSError:
            pass


def reap(control, children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        slot = children.pop(pid, None)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        name = signal.Signals(number).name if number is not None else None
        control.send({"exit": slot, "pid": pid, "code": code, "signal": name})


def main(argv=None):
    slots, worker_argv = split_argv(sys.argv[1:] if argv is None else argv)
    args = w.parse_args(worker_argv)
    w.setup_stdio()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control = Control(CONTROL_FD)
    error = None
    preloaded = None
    try:
        w.setup_paths(args)
        app = load_app(args.app)
        preloaded = (app, app_interface(app, args.interface))
    except BaseException:
        error = "Cannot load the app %r:\n%s" % (args.app, traceback.format_exc())
        sys.stderr.write(error)
    if error is None:
        # Whatever the import left is garbage now or kept for good: freeze what is kept, so
        # that no worker's collector touches (and copies) the pages it shares.
        gc.collect()
        freeze = getattr(gc, "freeze", None)
        if freeze is not None:
            freeze()
        control.send({"ready": os.getpid()})
    else:
        control.send({"error": error})
    children = {}
    while True:
        readable, _, _ = select.select([control.fd], [], [], POLL_SECONDS)
        reap(control, children)
        if not readable:
            continue
        messages = control.read()
        if messages is None:
            return 0
        for message in messages:
            slot = message["fork"]
            if not 0 <= slot < slots:
                continue
            if preloaded is None:
                refuse_fork(slot, error)
                close_slot(slot)
                control.send({"exit": slot, "pid": None, "code": EXIT_LOAD_ERROR, "signal": None})
                continue
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            pid = os.fork()
            if pid == 0:
                become_worker(slot, message["argv"], preloaded)
            children[pid] = slot
            close_slot(slot)
            control.send({"forked": slot, "pid": pid})


if __name__ == "__main__":
    sys.exit(main())
