"""Test helpers: the front's side of the link, in Python.

`LinkClient` speaks docs/protocol.md over a socket (requests out, response frames in,
WINDOW grants like the front); `WorkerProcess` starts `python -m cask_worker` as a real
child with the link on fd 3; `InProcessWorker` runs a `Runner` over a socketpair in
threads of the test process.
"""

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
APPS = os.path.join(HERE, "apps")
PYTHON_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYTHON_DIR)

for _path in (PYTHON_DIR, APPS):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from cask_worker import protocol as p  # noqa: E402
from cask_worker.runner import Runner  # noqa: E402

TIMEOUT = 20.0


def environ_for(path="/", method="GET", query="", body=b"", headers=(), **extra):
    """The environ variables the front would send for a request."""
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "RAW_URI": path + ("?" + query if query else ""),
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "localhost:8000",
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["CONTENT_TYPE"] = "application/octet-stream"
    for name, value in headers:
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    environ.update(extra)
    return environ


class Response:
    def __init__(self, rid):
        self.id = rid
        self.status = None
        self.headers = None
        self.body = bytearray()
        self.error = None
        self.sendfile = None
        self.reclaimed = False
        self.credited = 0
        self.kinds = []
        self.done = False

    def header(self, name):
        for key, value in self.headers or ():
            if key.lower() == name.lower():
                return value
        return None

    def __repr__(self):
        return "<Response %s status=%r error=%r body=%d bytes kinds=%s>" % (
            self.id, self.status, (self.error or "")[-300:], len(self.body),
            [p.KIND_NAMES.get(k, k) for k in self.kinds][:10])


class LinkClient:
    def __init__(self, sock, auto_window=True):
        self.sock = sock
        self.decoder = p.FrameDecoder()
        self.auto_window = auto_window
        self.inbox = {}       # id -> [frames] not yet consumed
        self.responses = {}   # id -> Response being assembled
        self.link_frames = []  # id 0 frames (READY, LOAD_ERROR, LOG, STATS)

    # -- sending ------------------------------------------------------------------------

    def send(self, rid, kind, flags=0, payload=b""):
        self.sock.sendall(p.encode_frame(rid, kind, flags, payload))

    def request(self, rid, environ, body=b"", chunks=None, body_file=None):
        """REQUEST (+ BODY frames, or BODY_FILE), in one write like the front does."""
        payload = p.encode_environ(environ)
        if body_file is not None:
            data = p.encode_frame(rid, p.REQUEST, 0, payload)
            data += p.encode_frame(rid, p.BODY_FILE, 0, body_file.encode())
        elif chunks is None and not body:
            data = p.encode_frame(rid, p.REQUEST, p.FLAG_END, payload)
        else:
            if chunks is None:
                chunks = [body]
            data = p.encode_frame(rid, p.REQUEST, 0, payload)
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                data += p.encode_frame(rid, p.BODY, p.FLAG_END if last else 0, chunk)
        self.sock.sendall(data)

    def window(self, rid, nbytes):
        self.send(rid, p.WINDOW, 0, p.encode_window(nbytes))

    def cancel(self, rid):
        self.send(rid, p.CANCEL)

    def reclaim(self, rid):
        self.send(rid, p.RECLAIM)

    # -- receiving ----------------------------------------------------------------------

    def _pump(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no frame from the worker in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            raise TimeoutError("no frame from the worker in time") from None
        if not data:
            raise EOFError("the worker closed the link")
        for frame in self.decoder.feed(data):
            if frame.id == 0:
                self.link_frames.append(frame)
            else:
                self.inbox.setdefault(frame.id, []).append(frame)

    def link_frame(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while not self.link_frames:
            self._pump(deadline)
        return self.link_frames.pop(0)

    def ready(self, timeout=TIMEOUT):
        frame = self.link_frame(timeout)
        if frame.kind != p.READY:
            raise AssertionError("expected READY, got %s: %r" % (
                p.KIND_NAMES.get(frame.kind), frame.payload[:2000]))
        return json.loads(frame.payload.decode())

    def next_frame(self, rid, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while not self.inbox.get(rid):
            self._pump(deadline)
        return self.inbox[rid].pop(0)

    def response(self, rid, timeout=TIMEOUT, until_final=True):
        """Collect frames of `rid` into a Response until its final frame."""
        response = self.responses.setdefault(rid, Response(rid))
        deadline = time.monotonic() + timeout
        while not response.done:
            frame = self.next_frame(rid, max(0.001, deadline - time.monotonic()))
            self.apply(response, frame)
            if not until_final:
                break
        return response

    def apply(self, response, frame):
        response.kinds.append(frame.kind)
        end = bool(frame.flags & p.FLAG_END)
        if frame.kind == p.HEAD:
            assert response.status is None, "two HEAD frames for %d" % response.id
            response.status, response.headers, body = p.decode_head(frame.payload)
            self._body(response, body)
        elif frame.kind == p.DATA:
            assert response.status is not None, "DATA before HEAD for %d" % response.id
            self._body(response, frame.payload)
        elif frame.kind == p.SENDFILE:
            response.sendfile = p.decode_sendfile(frame.payload)
        elif frame.kind == p.ERROR:
            response.error = frame.payload.decode("utf-8")
            end = True
        elif frame.kind == p.CREDIT:
            response.credited += p.decode_window(frame.payload)
        elif frame.kind == p.RECLAIMED:
            assert end and not frame.payload and response.status is None, frame
            response.reclaimed = True
        else:
            raise AssertionError("unexpected frame kind 0x%02x" % frame.kind)
        if end:
            assert not response.done, "two final frames for %d" % response.id
            response.done = True

    def _body(self, response, data):
        response.body += data
        if data and self.auto_window and not response.done:
            self.window(response.id, len(data))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class _Lines:
    """Collects a pipe's lines in a thread so a test can wait for one."""

    def __init__(self, stream):
        self.lines = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.thread.start()

    def _run(self, stream):
        for line in iter(stream.readline, b""):
            with self.cond:
                self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        stream.close()

    def wait_for(self, text, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("no line with %r in %r" % (text, self.lines[-20:]))
                self.cond.wait(remaining)

    @property
    def text(self):
        with self.cond:
            return "\n".join(self.lines)


class WorkerProcess:
    """`python -m cask_worker` as the front starts it: fd 3 is the link."""

    def __init__(self, app, *args, python=None, cwd=None, pythonpath=(APPS,), env=None):
        parent, child = socket.socketpair()
        command = [python or sys.executable, "-m", "cask_worker", "--app", app]
        for folder in pythonpath:
            command += ["--pythonpath", folder]
        command += list(args)
        environment = dict(os.environ if env is None else env)
        environment["PYTHONPATH"] = PYTHON_DIR
        environment["CASK_FIXTURE_PRINT_CLOSE"] = "1"
        # subprocess can only keep a descriptor's number, so a shell moves it to 3.
        shell = 'fd=$1; shift; exec "$@" 3<&$fd'
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", shell, "sh", str(child.fileno())] + command,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(child.fileno(),), cwd=cwd or REPO, env=environment)
        child.close()
        self.client = LinkClient(parent)
        self.stdout = _Lines(self.proc.stdout)
        self.stderr = _Lines(self.proc.stderr)

    def wait(self, timeout=TIMEOUT):
        code = self.proc.wait(timeout)
        self.stdout.thread.join(timeout)
        self.stderr.thread.join(timeout)
        return code

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()
        self.client.close()


class InProcessWorker:
    """A Runner in this process, over a socketpair; errors go to a StringIO."""

    def __init__(self, app, threads=2, root_path="", auto_window=True, tail_timeout=0.0,
                 tail_grace=0.0):
        ours, theirs = socket.socketpair()
        self.errors = io.StringIO()
        self.runner = Runner(theirs, app, threads=threads, root_path=root_path,
                             errors=self.errors, tail_timeout=tail_timeout, tail_grace=tail_grace)
        self.client = LinkClient(ours, auto_window=auto_window)
        self.runner.start()
        self.info = self.client.ready()

    def stop(self, timeout=TIMEOUT):
        """STOP, wait for the threads to end; returns the runner's exit code."""
        self.client.send(0, p.STOP)
        for thread in self.runner._threads:
            thread.join(timeout)
        code = self.runner.exit_code
        self.close()
        return code

    def close(self):
        self.client.close()  # the reader thread sees EOF and ends
        self.runner._reader.join(TIMEOUT)
        self.runner.sock.close()


def wait_until(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


class RunnerCase(unittest.TestCase):
    """A Runner in this process serving tests/apps/router.py; one per test."""

    threads = 2
    root_path = ""
    tail_timeout = 0.0  # --timeout and --timeout-grace, for what runs after a response
    tail_grace = 0.0

    def setUp(self):
        import router
        import streaming
        self.streaming = streaming
        self.worker = InProcessWorker(router.application, threads=self.threads,
                                      root_path=self.root_path, tail_timeout=self.tail_timeout,
                                      tail_grace=self.tail_grace)
        self.client = self.worker.client
        self.next_id = 1

    def tearDown(self):
        for event in self.streaming.events.values():
            event.set()
        if self.worker.runner.exit_code is None:
            self.assertEqual(self.worker.stop(), 0)
        else:
            self.worker.close()

    def get(self, path, query="", body=b"", **kwargs):
        rid = self.next_id
        self.next_id += 1
        self.client.request(rid, environ_for(path, query=query, body=body,
                                             method="POST" if body else "GET", **kwargs),
                            body=body)
        return rid

    def fetch(self, path, query="", body=b"", **kwargs):
        return self.client.response(self.get(path, query, body, **kwargs))

    def assert_nothing_after(self, rid):
        """No frame of `rid` came after its final one: a later request's whole answer came
        on the same link, and nothing more for `rid` before it."""
        self.assertEqual(self.fetch("/echo").status, "200 OK")
        self.assertEqual(self.client.inbox.get(rid, []), [])
