"""Per-request cost of the Python worker for a hello-world app, over a real socketpair.

    python3 python/bench_link.py [--requests 50000] [--inflight 64] [--threads 1]
                                 [--mode process|inprocess] [--app hello|flask_like]

`process` (default) starts `python -m cask_worker` as a child (link on fd 3, like the
front does) and divides the child's CPU time (user + system, from wait4) by the number
of requests: the worker's whole cost, syscalls included, with the driver's own cost in
another process. `inprocess` runs the Runner in threads of this process and subtracts
the driver thread's CPU time; it is handy under a profiler.

The driver keeps `--inflight` requests on the link, like the front's prefetch: each
batch of answers read is replaced by the same number of new requests in one write.
Not a test: it only prints numbers.
"""

import argparse
import os
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from cask_worker import protocol as p  # noqa: E402

ENVIRON = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/hello",
    "QUERY_STRING": "",
    "SERVER_NAME": "localhost",
    "SERVER_PORT": "8000",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "51234",
    "RAW_URI": "/hello",
    "wsgi.url_scheme": "http",
    "HTTP_HOST": "localhost:8000",
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.5",
    "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
    "HTTP_CONNECTION": "keep-alive",
}

BENCH_APP = '''
def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [b"Hello, world!"]


def generator(environ, start_response):
    # Frameworks (werkzeug's ClosingIterator) hand back an iterator, not a list.
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    yield b"Hello, world!"


_START = {"type": "http.response.start", "status": 200,
          "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")]}
_BODY = {"type": "http.response.body", "body": b"Hello, world!"}


async def asgi_hello(scope, receive, send):
    # The ASGI worker (cask_worker.asgi): one task per request on the worker's loop.
    if scope["type"] == "http":
        await send(_START)
        await send(_BODY)
'''


def write_app(folder):
    with open(os.path.join(folder, "cask_bench_app.py"), "w") as f:
        f.write(BENCH_APP)


def drive(sock, total, inflight):
    """Keep `inflight` requests outstanding until `total` have been answered."""
    template = bytearray(p.encode_frame(0, p.REQUEST, p.FLAG_END, p.encode_environ(ENVIRON)))
    size = len(template)
    pack_id = struct.Struct(">I").pack_into
    next_id = 1

    def batch(count):
        nonlocal next_id
        out = bytearray(size * count)
        for index in range(count):
            out[index * size:(index + 1) * size] = template
            pack_id(out, index * size + 4, next_id)
            next_id += 1
        return out

    decoder = p.FrameDecoder()
    done = 0
    sent = min(inflight, total)
    sock.sendall(batch(sent))
    start = time.perf_counter()
    while done < total:
        data = sock.recv(1 << 20)
        if not data:
            raise SystemExit("the worker closed the link")
        finished = 0
        for frame in decoder.feed(data):
            if frame.kind == p.ERROR:
                raise SystemExit("worker error: %s" % frame.payload.decode())
            if frame.flags & p.FLAG_END:
                finished += 1
        done += finished
        more = min(finished, total - sent)
        if more:
            sock.sendall(batch(more))
            sent += more
    return time.perf_counter() - start


def run_process(args):
    import tempfile
    folder = tempfile.mkdtemp(prefix="cask-bench-")
    write_app(folder)
    parent, child = socket.socketpair()
    command = [args.python, "-m", "cask_worker", "--app", "cask_bench_app:" + args.app,
               "--threads", str(args.threads), "--pythonpath", folder]
    env = dict(os.environ, PYTHONPATH=HERE)
    proc = subprocess.Popen(
        ["/bin/sh", "-c", 'fd=$1; shift; exec "$@" 3<&$fd', "sh", str(child.fileno())] + command,
        pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL)
    child.close()
    ready = read_ready(parent)
    # Warm up (and let PyPy's JIT compile the hot path) before measuring.
    drive(parent, min(args.requests, 20000), args.inflight)
    before = proc_cpu(proc.pid)
    wall = drive(parent, args.requests, args.inflight)
    cpu = proc_cpu(proc.pid) - before
    parent.sendall(p.encode_frame(0, p.STOP, 0))
    proc.wait()
    report(args, ready, wall, cpu)


def proc_cpu(pid):
    """utime + stime of a live child in seconds, from /proc (Linux)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def run_inprocess(args):
    import tempfile
    from cask_worker.runner import Runner
    folder = tempfile.mkdtemp(prefix="cask-bench-")
    write_app(folder)
    sys.path.insert(0, folder)
    import cask_bench_app
    ours, theirs = socket.socketpair()
    runner = Runner(theirs, getattr(cask_bench_app, args.app), threads=args.threads)
    runner.start()
    ready = read_ready(ours)
    drive(ours, min(args.requests, 20000), args.inflight)
    cpu_before = time.process_time()
    driver_before = time.thread_time()
    wall = drive(ours, args.requests, args.inflight)
    driver = time.thread_time() - driver_before
    cpu = time.process_time() - cpu_before - driver
    report(args, ready, wall, cpu, driver)


def read_ready(sock):
    decoder = p.FrameDecoder()
    while True:
        for frame in decoder.feed(sock.recv(65536)):
            if frame.kind == p.READY:
                import json
                return json.loads(frame.payload)
            raise SystemExit("worker did not start: %r" % frame.payload)


def report(args, ready, wall, cpu, driver=None):
    n = args.requests
    line = "%s %s %s, %d thread(s), %d in flight, app %s: %.1f us/request worker CPU, %.0f req/s" % (
        ready["implementation"], ready["python"], args.mode, args.threads, args.inflight,
        args.app, cpu / n * 1e6, n / wall)
    if driver is not None:
        line += " (driver %.1f us/request, subtracted)" % (driver / n * 1e6)
    print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50000)
    parser.add_argument("--inflight", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mode", choices=("process", "inprocess"), default="process")
    parser.add_argument("--app", choices=("hello", "generator", "asgi_hello"), default="hello")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for the worker in process mode")
    args = parser.parse_args()
    if args.mode == "process":
        run_process(args)
    else:
        run_inprocess(args)


if __name__ == "__main__":
    main()
