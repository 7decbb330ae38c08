"""Server hooks: loading a module or a gunicorn.conf.py, calling hooks safely, the objects
they get, the worker-side hooks in a real worker, and the front's hook process."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import unittest

from tests.linkclient import PYTHON_DIR, REPO, WorkerProcess, environ_for
from tests.test_worker import PYTHON
from cask_worker import hooks as h
from cask_worker import protocol as p

HOOKS_DIR = os.path.join(REPO, "test", "fixtures", "hooks")
GUNICORN_CONF = os.path.join(HOOKS_DIR, "gunicorn.conf.py")


class Recorder:
    def __init__(self):
        self.lines = []

    def emit(self, level, text):
        self.lines.append((level, text))


class LoadingTests(unittest.TestCase):
    def test_a_gunicorn_conf_py_file_loads_although_its_name_is_not_a_module_name(self):
        module = h.load_module(GUNICORN_CONF)
        self.assertEqual(module.workers, 4)
        self.assertTrue(callable(module.post_fork))

    def test_a_module_name_is_imported(self):
        sys.path.insert(0, HOOKS_DIR)
        try:
            module = h.load_module("failing_hooks")
        finally:
            sys.path.remove(HOOKS_DIR)
        self.assertTrue(callable(module.pre_request))

    def test_a_missing_file_says_where_it_looked(self):
        with self.assertRaisesRegex(ImportError, "Hooks file not found: 'nope.py'"):
            h.load_module("nope.py")


class CallTests(unittest.TestCase):
    def test_only_known_callable_names_are_hooks(self):
        module = h.load_module(GUNICORN_CONF)
        hooks = h.Hooks(module, h.Log(Recorder().emit), h.WORKER_HOOKS)
        self.assertEqual(sorted(hooks.functions), sorted(
            ["post_fork", "post_worker_init", "pre_request", "post_request", "worker_exit"]))
        self.assertTrue(hooks.call("worker_abort", None), "an undefined hook is a no-op")

    def test_a_hook_that_raises_is_logged_with_its_traceback_and_reported(self):
        class Module:
            @staticmethod
            def pre_request(worker, req):
                raise ValueError("bad %s" % req)

        log = Recorder()
        hooks = h.Hooks(Module, h.Log(log.emit), h.WORKER_HOOKS)
        self.assertFalse(hooks.call("pre_request", None, "/x"))
        level, text = log.lines[0]
        self.assertEqual(level, h.ERROR)
        self.assertIn("Hook pre_request failed:\nTraceback", text)
        self.assertIn("ValueError: bad /x", text)

    def test_log_formats_like_logging(self):
        log = Recorder()
        logger = h.Log(log.emit)
        logger.info("%s %d", "a", 1)
        logger.warning("plain")
        logger.debug("%s", "d")
        self.assertEqual(log.lines, [(h.INFO, "a 1"), (h.WARNING, "plain"), (h.DEBUG, "d")])


class ObjectTests(unittest.TestCase):
    def test_request_reads_the_environ_like_gunicorns_request(self):
        environ = environ_for("/p", query="a=1", headers=[("X-Thing", "v")], method="POST")
        environ["SERVER_PROTOCOL"] = "HTTP/1.0"
        req = h.Request(environ)
        self.assertEqual((req.method, req.path, req.query, req.version), ("POST", "/p", "a=1", (1, 0)))
        self.assertEqual(req.uri, "/p?a=1")
        self.assertIn(("X-THING", "v"), req.headers)
        self.assertEqual(req.remote_addr, "127.0.0.1")

    def test_response_has_status_and_code(self):
        resp = h.Response("404 Not Found", [("A", "b")], 12)
        self.assertEqual((resp.status, resp.status_code, resp.sent), ("404 Not Found", 404, 12))

    def test_server_cfg_is_attribute_access(self):
        server = h.Server(None, 12, num_workers=3, cfg={"max_requests": 5})
        self.assertEqual((server.pid, server.num_workers, server.cfg.max_requests), (12, 3, 5))


class WorkerHookTests(unittest.TestCase):
    def test_worker_side_hooks_run_in_the_worker_with_gunicorn_arguments(self):
        with tempfile.TemporaryDirectory() as folder:
            record = os.path.join(folder, "record.jsonl")
            env = dict(os.environ, HOOKS_RECORD=record)
            worker = WorkerProcess("router", "--hooks", GUNICORN_CONF, "--age", "7",
                                   "--generation", "2", python=PYTHON, env=env)
            try:
                client = worker.client
                client.ready()
                client.request(1, environ_for("/echo", query="q=1"))
                self.assertEqual(client.response(1).status, "200 OK")
                client.send(0, p.STOP)
                self.assertEqual(worker.wait(), 0)
            finally:
                worker.close()
            with open(record) as lines:
                records = [json.loads(line) for line in lines]
        names = [r["hook"] for r in records]
        self.assertEqual(names, ["post_fork", "post_worker_init", "pre_request", "post_request",
                                 "worker_exit"])
        self.assertEqual(records[0]["age"], 7)
        self.assertEqual(records[2]["path"], "/echo")
        self.assertEqual(records[2]["query"], "q=1")
        self.assertEqual(records[3]["status_code"], 200)
        self.assertEqual({r["pid"] for r in records}, {worker.proc.pid})
        # worker.log.debug in pre_request reached the front as a LOG frame.
        logs = [f for f in client.link_frames if f.kind == p.LOG]
        self.assertIn((10, "GET /echo"), [p.decode_log(f.payload) for f in logs])


class HookHost:
    """python -m cask_worker.hookhost with its channel on fd 3, as src/pool/hooks.ts starts it."""

    def __init__(self, spec, *args):
        ours, theirs = socket.socketpair()
        command = [PYTHON, "-m", "cask_worker.hookhost", "--hooks", spec] + list(args)
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
        shell = 'fd=$1; shift; exec "$@" 3<&$fd'
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", shell, "sh", str(theirs.fileno())] + command,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(theirs.fileno(),), env=env)
        theirs.close()
        ours.settimeout(20)
        self.sock = ours
        self.reader = ours.makefile("rb")

    def send(self, message):
        self.sock.sendall(json.dumps(message).encode() + b"\n")

    def receive(self):
        return json.loads(self.reader.readline().decode())

    def close(self):
        self.reader.close()
        self.sock.close()
        code = self.proc.wait(20)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


class HookHostTests(unittest.TestCase):
    def test_master_hooks_run_in_one_process_and_hand_back_environment_changes(self):
        with tempfile.TemporaryDirectory() as folder:
            os.environ["HOOKS_RECORD"] = os.path.join(folder, "record.jsonl")
            try:
                host = HookHost(GUNICORN_CONF)
                self.assertEqual(host.receive()["ready"], sorted(
                    ["on_starting", "when_ready", "on_reload", "child_exit", "nworkers_changed",
                     "on_exit"]))
                server = {"pid": 1, "num_workers": 2, "address": ["http://x"], "cfg": {"workers": 2}}
                host.send({"call": "on_starting", "server": server, "args": []})
                reply = host.receive()
                self.assertEqual(reply["ok"], True)
                self.assertEqual(reply["env"], {"FROM_ON_STARTING": "set by on_starting"})
                host.send({"call": "when_ready", "server": server, "args": []})
                self.assertEqual(host.receive(), {"log": 20, "text": "when_ready ran"})
                self.assertEqual(host.receive(), {"done": "when_ready", "ok": True})
                host.send({"call": "child_exit", "server": server,
                           "args": [{"pid": 99, "age": 3, "generation": 1, "exitcode": 0}]})
                self.assertTrue(host.receive()["ok"])
                self.assertEqual(host.close(), 0, "exits 0 when the front closes the channel")
                with open(os.environ["HOOKS_RECORD"]) as lines:
                    records = [json.loads(line) for line in lines]
            finally:
                del os.environ["HOOKS_RECORD"]
        self.assertEqual([r["hook"] for r in records], ["on_starting", "when_ready", "child_exit"])
        self.assertEqual(records[0]["workers"], 2)
        self.assertEqual((records[2]["worker_pid"], records[2]["age"]), (99, 3))
        self.assertEqual(len({r["pid"] for r in records}), 1)

    def test_a_failing_hook_is_reported_in_its_reply(self):
        host = HookHost("failing_hooks", "--pythonpath", HOOKS_DIR)
        self.assertEqual(host.receive()["ready"], ["when_ready"])
        host.send({"call": "when_ready", "server": {"pid": 1}, "args": []})
        reply = host.receive()
        self.assertFalse(reply["ok"])
        self.assertIn("KeyError: 'when_ready went wrong'", reply["error"])
        self.assertEqual(host.close(), 0)

    def test_a_module_that_cannot_be_imported_is_an_error_and_exit_4(self):
        host = HookHost("no_such_hooks_module")
        self.assertIn("No module named 'no_such_hooks_module'", host.receive()["error"])
        self.assertEqual(host.close(), 4)


if __name__ == "__main__":
    unittest.main()
