"""The front's hook process: `python -m cask_worker.hookhost --hooks SPEC`, started by
src/pool/hooks.ts with its channel on file descriptor 3.

gunicorn runs on_starting, when_ready, on_reload, child_exit, nworkers_changed, on_exit and
pre_exec in its master, a Python process. Cask's front is Node, so these hooks run here instead:
one long-lived process, so that module state carries from one hook to the next as it does
in gunicorn's master. Environment variables that on_starting sets are handed back and
given to the workers, as gunicorn's workers inherit them.

Channel: JSON, one object per line, in both directions.

    host -> front   {"ready": [hook names the module defines]}  or  {"error": TEXT}, exit 4
    front -> host   {"call": NAME, "server": {...}, "args": [...]}
    host -> front   {"log": LEVEL, "text": TEXT}          while a hook runs, any number
    host -> front   {"done": NAME, "ok": BOOL, "error": TEXT, "env": {NAME: VALUE|null}}

The process ends when the front closes the channel.
"""

import argparse
import json
import os
import signal
import socket
import sys
import traceback

from . import hooks as h

CHANNEL_FD = 3


class Channel:
    def __init__(self, sock):
        self.reader = sock.makefile("rb")
        self.writer = sock.makefile("wb")

    def send(self, message):
        self.writer.write(json.dumps(message).encode("utf-8") + b"\n")
        self.writer.flush()

    def receive(self):
        line = self.reader.readline()
        return json.loads(line.decode("utf-8")) if line else None


def worker_from(log, fields):
    fields = dict(fields)
    return h.Worker(log, fields.pop("pid", None), fields.pop("ppid", None),
                    fields.pop("age", None), fields.pop("generation", 1), **fields)


def serve(channel, module):
    log = h.Log(lambda level, text: channel.send({"log": level, "text": text}))
    hooks = h.Hooks(module, log, h.MASTER_HOOKS)
    channel.send({"ready": sorted(hooks.functions)})
    while True:
        message = channel.receive()
        if message is None:
            return
        name = message.get("call", "")
        server = h.Server(log, **message.get("server", {}))
        args = list(message.get("args", []))
        if name == "child_exit" and args:
            args[0] = worker_from(log, args[0])
        before = dict(os.environ)
        reply = {"done": name, "ok": True}
        function = hooks.functions.get(name)
        if function is not None:
            try:
                function(server, *args)
            except BaseException:
                reply["ok"] = False
                reply["error"] = traceback.format_exc().rstrip()
        changed = {k: v for k, v in os.environ.items() if before.get(k) != v}
        changed.update({k: None for k in before if k not in os.environ})
        if changed:
            reply["env"] = changed
        channel.send(reply)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cask_worker.hookhost")
    parser.add_argument("--hooks", required=True, metavar="SPEC")
    parser.add_argument("--pythonpath", action="append", default=[], metavar="DIR")
    parser.add_argument("--chdir", metavar="DIR")
    args = parser.parse_args(argv)
    # Ctrl-C and SIGTERM go to the front, which still has on_exit to run here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    channel = Channel(socket.socket(fileno=CHANNEL_FD))
    if args.chdir:
        os.chdir(args.chdir)
    front = [os.path.abspath(d) for d in args.pythonpath] + [os.getcwd()]
    sys.path[:] = front + [d for d in sys.path if d not in front and d != ""]
    try:
        module = h.load_module(args.hooks)
    except BaseException:
        channel.send({"error": "Cannot load the hooks %r:\n%s" % (
            args.hooks, traceback.format_exc().rstrip())})
        return 4
    try:
        serve(channel, module)
    except (OSError, ValueError):
        pass  # the front went away
    return 0


if __name__ == "__main__":
    sys.exit(main())
