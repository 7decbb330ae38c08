"""The interactive console of the development error page: Python evaluated in the context
of one frame of a recent traceback.

Only a worker started with `--debug-pages` (`cask dev`) keeps tracebacks and answers CONSOLE
frames. The front lets a CONSOLE frame through only after its own checks (a loopback
listener, a loopback client, Host and Origin loopback names, the PIN cookie: src/dev/console.ts);
the worker trusts the link, as it trusts every request the front sends.

The worker keeps the frames of its last MAX_TRACEBACKS tracebacks. Each frame gets its own
namespace, a copy of its locals, so that names assigned in the console are there on the next
line (a frame's real locals cannot be written to from outside on every interpreter).
"""

import ast
import collections
import io
import os
import secrets
import sys
import threading
import traceback

MAX_TRACEBACKS = 20
MAX_OUTPUT = 64 * 1024
WORKER_DIR = os.path.dirname(os.path.abspath(__file__))


class _ThreadStdout:
    """sys.stdout while a console line runs: that thread's prints are captured, every other
    thread's go where they always went."""

    def __init__(self, real):
        self.real = real
        self.local = threading.local()

    def write(self, text):
        buffer = getattr(self.local, "buffer", None)
        return (buffer or self.real).write(text)

    def flush(self):
        buffer = getattr(self.local, "buffer", None)
        if buffer is None:
            self.real.flush()

    def __getattr__(self, name):
        return getattr(self.real, name)


class Consoles:
    def __init__(self):
        self._lock = threading.Lock()
        self._tracebacks = collections.OrderedDict()   # id -> [(frame, namespace or None)]
        self._stdout = None

    def keep(self, exc):
        """Keeps the frames of `exc` (and the exceptions chained to it, oldest first, as the
        page lists them) and returns the traceback's id: `<pid>-<random>`, so that the front
        knows which worker holds it."""
        frames = []
        for one in _chain(exc):
            tb = one.__traceback__
            while tb is not None:
                if not tb.tb_frame.f_code.co_filename.startswith(WORKER_DIR + os.sep):
                    frames.append([tb.tb_frame, None])
                tb = tb.tb_next
        key = "%d-%s" % (os.getpid(), secrets.token_hex(8))
        with self._lock:
            self._tracebacks[key] = frames
            while len(self._tracebacks) > MAX_TRACEBACKS:
                self._tracebacks.popitem(last=False)
        return key

    def run(self, key, index, source):
        """Runs one console line in frame `index` of traceback `key`: {"output": ...} or
        {"error": ...} (a traceback of the line, or why it could not run)."""
        with self._lock:
            frames = self._tracebacks.get(key)
        if frames is None:
            return {"error": "This traceback is gone (the worker keeps the last %d, and a "
                             "reload starts new workers): reload the page" % MAX_TRACEBACKS}
        if not isinstance(index, int) or not 0 <= index < len(frames):
            return {"error": "No frame %r in this traceback" % (index,)}
        entry = frames[index]
        frame = entry[0]
        if entry[1] is None:
            entry[1] = dict(frame.f_locals)
        namespace = entry[1]
        buffer = io.StringIO()
        stdout = self._capture()
        stdout.local.buffer = buffer
        try:
            _execute(source, frame.f_globals, namespace)
        except BaseException:
            kind, value, tb = sys.exc_info()
            # Drop the console's own frame: the user's line is what the traceback is about.
            buffer.write("".join(traceback.format_exception(kind, value, tb.tb_next)))
        finally:
            stdout.local.buffer = None
        output = buffer.getvalue()
        if len(output) > MAX_OUTPUT:
            output = output[:MAX_OUTPUT] + "\n... (output cut at %d characters)" % MAX_OUTPUT
        return {"output": output}

    def _capture(self):
        with self._lock:
            if self._stdout is None or sys.stdout is not self._stdout:
                self._stdout = _ThreadStdout(sys.stdout)
                sys.stdout = self._stdout
            return self._stdout


def _execute(source, globals_, namespace):
    """Like the interactive interpreter: an expression's value is printed (repr), statements
    are run; a last expression after statements is printed too."""
    tree = ast.parse(source, "<console>", "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    scope = dict(globals_)
    scope.update(namespace)
    before = set(scope)
    if tree.body:
        exec(compile(tree, "<console>", "exec"), scope)
    if last is not None:
        value = eval(compile(last, "<console>", "eval"), scope)
        if value is not None:
            sys.stdout.write(repr(value) + "\n")
    # Names the line bound or changed stay for the next line of this frame.
    for name, value in scope.items():
        if name in namespace or name not in before or globals_.get(name, _MISSING) is not value:
            if name != "__builtins__":
                namespace[name] = value


_MISSING = object()


def _chain(exc):
    chain = []
    seen = set()
    while exc is not None and id(exc) not in seen and len(chain) < 5:
        seen.add(id(exc))
        chain.append(exc)
        if exc.__cause__ is not None:
            exc = exc.__cause__
        elif exc.__context__ is not None and not exc.__suppress_context__:
            exc = exc.__context__
        else:
            exc = None
    chain.reverse()
    return chain
