"""The ASGI worker as the front starts it (a real child, the link on fd 3): the scope, bodies
streamed both ways within their windows, disconnects, timeouts, lifespan, pathsend, drain."""

import json
import os
import sys
import unittest

from tests.linkclient import APPS, WorkerProcess, environ_for, wait_until
from cask_worker import protocol as p
from cask_worker.app import app_interface


class AsgiWorkerCase(unittest.TestCase):
    """A worker started for each test (`app`, `args`, `env`), and requests sent to it."""

    app = "asgi_router:app"
    args = ("--interface", "auto", "--worker-connections", "50")
    env = None

    def setUp(self):
        env = dict(os.environ)
        env.update(self.env or {})
        self.worker = WorkerProcess(self.app, *self.args, env=env)
        self.client = self.worker.client
        self.info = self.client.ready()
        self.next_id = 1

    def tearDown(self):
        self.worker.close()

    def send(self, path, query="", body=b"", chunks=None, **kwargs):
        rid = self.next_id
        self.next_id += 1
        environ = environ_for(path, query=query, body=body or b"".join(chunks or []),
                              method="POST" if body or chunks else "GET", **kwargs)
        self.client.request(rid, environ, body=body, chunks=chunks)
        return rid

    def fetch(self, path, query="", body=b"", **kwargs):
        return self.client.response(self.send(path, query, body, **kwargs))


class AsgiWorkerTests(AsgiWorkerCase):
    def test_ready_names_the_interface_and_the_concurrency(self):
        self.assertEqual(self.info["interface"], "asgi")
        self.assertEqual(self.info["concurrency"], 50)
        self.assertIn(self.info["loop"], ("asyncio", "uvloop"))
        self.worker.stdout.wait_for("lifespan startup")

    def test_the_scope_is_built_from_the_environ(self):
        response = self.fetch("/scope", query="a=1&b=%20", headers=[("X-Thing", "caf\xc3\xa9")],
                              SCRIPT_NAME="/mnt", RAW_URI="/mnt/scope?a=1&b=%20")
        self.assertEqual(response.status, "200 OK")
        self.assertEqual(response.header("content-type"), "application/json")
        scope = json.loads(bytes(response.body))
        self.assertEqual(scope["type"], "http")
        self.assertEqual(scope["asgi"]["version"], "3.0")
        self.assertEqual(scope["http_version"], "1.1")
        self.assertEqual(scope["method"], "GET")
        self.assertEqual(scope["scheme"], "http")
        self.assertEqual(scope["root_path"], "/mnt")
        self.assertEqual(scope["path"], "/mnt/scope")
        self.assertEqual(scope["raw_path"], "/mnt/scope")
        self.assertEqual(scope["query_string"], "a=1&b=%20")
        self.assertEqual(scope["client"], ["127.0.0.1", 50000])
        self.assertEqual(scope["server"], ["localhost", 8000])
        self.assertIn(["x-thing", "caf\xc3\xa9"], scope["headers"])
        self.assertIn(["host", "localhost:8000"], scope["headers"])
        self.assertEqual(scope["state"], {"answer": 42})
        self.assertIn("http.response.pathsend", scope["extensions"])

    def test_a_small_response_is_one_head_frame(self):
        response = self.fetch("/state")
        self.assertEqual(response.kinds, [p.HEAD])
        self.assertEqual(bytes(response.body), b'{"answer": 42}')

    def test_a_streamed_response_comes_as_data_frames(self):
        response = self.fetch("/stream", query="3")
        self.assertEqual(bytes(response.body), b"part0;part1;part2;")
        self.assertEqual(response.kinds[0], p.HEAD)
        self.assertEqual(response.kinds[-1], p.DATA)

    def test_the_body_reaches_the_app_in_the_pieces_it_came_in(self):
        rid = self.send("/echo", chunks=[b"hel", b"lo ", b"world"])
        response = self.client.response(rid)
        self.assertEqual(bytes(response.body), b"hello world")
        self.assertEqual(response.header("x-chunks"), "3,3,5")

    def test_the_app_starts_before_the_body_is_complete(self):
        rid = self.next_id
        self.next_id += 1
        self.client.send(rid, p.REQUEST, 0, p.encode_environ(environ_for("/echo", method="POST")))
        self.client.send(rid, p.BODY, 0, b"first ")
        # The app is running and waiting in receive(); the rest comes later.
        self.client.send(rid, p.BODY, p.FLAG_END, b"second")
        self.assertEqual(bytes(self.client.response(rid).body), b"first second")

    def test_a_large_body_is_credited_back_as_the_app_reads_it(self):
        piece = b"y" * (256 * 1024)
        rid = self.next_id
        self.next_id += 1
        self.client.send(rid, p.REQUEST, 0, p.encode_environ(environ_for("/echo", method="POST")))
        for _ in range(4):  # the whole initial window
            self.client.send(rid, p.BODY, 0, piece)
        credit = self.client.next_frame(rid)
        self.assertEqual(credit.kind, p.CREDIT)
        self.assertGreaterEqual(p.decode_window(credit.payload), p.GRANT_STEP)
        self.client.send(rid, p.BODY, p.FLAG_END, piece)
        response = self.client.response(rid)
        self.assertEqual(len(response.body), 5 * len(piece))

    def test_a_response_waits_for_its_window(self):
        self.client.auto_window = False
        rid = self.send("/big", query=str(3 * 1024 * 1024))
        first = self.client.response(rid, until_final=False)
        wait_until(lambda: len(first.body) >= p.INITIAL_WINDOW or self.client.inbox.get(rid))
        while self.client.inbox.get(rid):
            self.client.apply(first, self.client.inbox[rid].pop(0))
        self.assertEqual(len(first.body), p.INITIAL_WINDOW)
        self.assertFalse(first.done)
        self.client.window(rid, 2 * 1024 * 1024)
        response = self.client.response(rid)
        self.assertEqual(len(response.body), 3 * 1024 * 1024)
        self.worker.stdout.wait_for("big sent")

    def test_cancel_gives_the_app_http_disconnect(self):
        rid = self.send("/wait-disconnect")
        self.worker.stdout.wait_for("waiting /wait-disconnect")
        self.client.cancel(rid)
        self.worker.stdout.wait_for("http.disconnect /wait-disconnect")
        self.assertEqual(self.client.response(rid).error, "cancelled")

    def test_timeout_cancels_the_task_and_the_worker_serves_on(self):
        rid = self.send("/sleep", query="60")
        self.worker.stdout.wait_for("sleeping 60")
        self.client.send(rid, p.TIMEOUT)
        self.assertEqual(self.client.response(rid).error, "timed out")
        self.worker.stdout.wait_for("cancelled /sleep")
        self.worker.stderr.wait_for("Request stopped after the timeout GET /sleep")
        self.assertEqual(self.fetch("/state").status, "200 OK")

    def test_a_request_cancelled_before_its_task_ran_never_reaches_the_app(self):
        rid = self.next_id
        self.next_id += 1
        environ = p.encode_environ(environ_for("/sleep", query="61", method="POST", body=b"x"))
        # One write: the worker reads the three frames at once. The body was still to come
        # when the REQUEST was read, so the task was scheduled, not started eagerly, and the
        # TIMEOUT finds it not yet run.
        self.client.sock.sendall(p.encode_frame(rid, p.REQUEST, 0, environ)
                                 + p.encode_frame(rid, p.BODY, p.FLAG_END, b"x")
                                 + p.encode_frame(rid, p.TIMEOUT, 0))
        self.assertEqual(self.client.response(rid).error, "timed out")
        self.assertEqual(self.fetch("/state").status, "200 OK")
        self.assertNotIn("sleeping 61", self.worker.stdout.text)

    def test_a_request_without_a_body_starts_within_the_read_on_python_3_12(self):
        rid = self.next_id
        self.next_id += 1
        environ = p.encode_environ(environ_for("/sleep", query="62"))
        self.client.sock.sendall(p.encode_frame(rid, p.REQUEST, p.FLAG_END, environ)
                                 + p.encode_frame(rid, p.TIMEOUT, 0))
        self.assertEqual(self.client.response(rid).error, "timed out")
        self.assertEqual(self.fetch("/state").status, "200 OK")
        if sys.version_info >= (3, 12):
            # Started eagerly: the app ran up to its first wait before the TIMEOUT was
            # decoded, and the TIMEOUT cancelled it there.
            self.worker.stdout.wait_for("cancelled /sleep")
            self.assertIn("sleeping 62", self.worker.stdout.text)
        else:
            self.assertNotIn("sleeping 62", self.worker.stdout.text)

    def test_the_request_task_is_current_from_the_first_step(self):
        for fetch in (lambda: self.fetch("/task"),
                      lambda: self.fetch("/task", body=b"x")):
            response = fetch()
            self.assertEqual(response.status, "200 OK")
            self.assertEqual(json.loads(bytes(response.body)), {"task": True, "same": True})

    def test_pathsend_becomes_sendfile(self):
        rid = self.send("/pathsend")
        response = self.client.response(rid)
        self.assertEqual(response.sendfile[0], 0)
        self.assertEqual(response.sendfile[1], p.TO_EOF)
        self.assertEqual(response.sendfile[2], os.path.join(APPS, "asgi_router.py"))

    def test_app_errors_end_with_error_frames(self):
        self.assertIn("ValueError: the app failed on purpose", self.fetch("/raise").error)
        self.assertIn("without sending a response", self.fetch("/no-response").error)
        half = self.fetch("/half-response")
        self.assertEqual(bytes(half.body), b"half")
        self.assertIn("without finishing its response", half.error)
        self.assertIn("control character", self.fetch("/bad-header").error)

    def test_stop_finishes_requests_in_hand_then_runs_the_shutdown(self):
        rid = self.send("/sleep", query="0.3")
        self.client.send(0, p.STOP)
        late = self.send("/state")
        self.assertTrue(self.client.response(late).reclaimed)
        self.assertEqual(bytes(self.client.response(rid).body), b"slept")
        self.assertEqual(self.worker.wait(), 0)
        self.worker.stdout.wait_for("lifespan shutdown")

    def test_many_requests_run_at_once(self):
        ids = [self.send("/sleep", query="0.5") for _ in range(40)]
        for rid in ids:
            self.assertEqual(bytes(self.client.response(rid, timeout=5).body), b"slept")


class LifespanTests(unittest.TestCase):
    def start(self, mode):
        env = dict(os.environ)
        env["ASGI_STARTUP"] = mode
        worker = WorkerProcess("asgi_router:app", env=env)
        self.addCleanup(worker.close)
        return worker

    def test_a_failed_startup_is_a_load_error(self):
        worker = self.start("failed")
        frame = worker.client.link_frame()
        self.assertEqual(frame.kind, p.LOAD_ERROR)
        self.assertIn("lifespan.startup.failed): database unreachable", frame.payload.decode())
        self.assertEqual(worker.wait(), 4)

    def test_a_startup_that_raises_is_a_load_error_with_its_traceback(self):
        worker = self.start("raise")
        frame = worker.client.link_frame()
        self.assertEqual(frame.kind, p.LOAD_ERROR)
        self.assertIn("ValueError: startup exploded", frame.payload.decode())
        self.assertEqual(worker.wait(), 4)

    def test_an_app_without_lifespan_is_served_without_it(self):
        worker = self.start("unsupported")
        info = worker.client.ready()
        self.assertEqual(info["interface"], "asgi")
        worker.stderr.wait_for("ASGI lifespan is not supported by the app")


class InterfaceTests(unittest.TestCase):
    def test_auto_detects_coroutine_functions_and_callables(self):
        async def asgi(scope, receive, send):
            pass

        class Middleware:
            async def __call__(self, scope, receive, send):
                pass

        def wsgi(environ, start_response):
            pass

        self.assertEqual(app_interface(asgi), "asgi")
        self.assertEqual(app_interface(Middleware()), "asgi")
        self.assertEqual(app_interface(wsgi), "wsgi")
        self.assertEqual(app_interface(Middleware), "wsgi")
        self.assertEqual(app_interface(wsgi, "asgi"), "asgi")

    def test_a_wsgi_app_says_so_in_ready(self):
        worker = WorkerProcess("echo:application", "--threads", "3")
        self.addCleanup(worker.close)
        info = worker.client.ready()
        self.assertEqual((info["interface"], info["concurrency"]), ("wsgi", 3))


class AsgiTaskFactoryTests(AsgiWorkerCase):
    """An app that sets a task factory in its lifespan startup gets every request task from it
    (no eager start that would go around it)."""

    env = {"ASGI_TASK_FACTORY": "1"}

    def test_request_tasks_come_from_the_apps_factory(self):
        before = int(bytes(self.fetch("/factory").body))
        self.fetch("/state")
        self.fetch("/state", body=b"x")
        after = int(bytes(self.fetch("/factory").body))
        # /state twice and the last /factory itself: three tasks more.
        self.assertEqual(after - before, 3)


if __name__ == "__main__":
    unittest.main()
