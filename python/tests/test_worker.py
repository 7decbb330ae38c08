"""`python -m cask_worker` as a real child process, started the way the front starts it:
the handshake, exit codes, signals, stdio, app specs and a few responses end to end."""

import json
import os
import signal
import sys
import time
import unittest

from tests.linkclient import APPS, WorkerProcess, environ_for
from cask_worker import protocol as p

# Tests may run the worker under another interpreter: CASK_TEST_PYTHON=pypy3.
PYTHON = os.environ.get("CASK_TEST_PYTHON") or sys.executable


def start(app, *args, **kwargs):
    return WorkerProcess(app, *args, python=PYTHON, **kwargs)


class SharedWorkerTests(unittest.TestCase):
    """Responses from one worker process with 4 threads."""

    @classmethod
    def setUpClass(cls):
        cls.worker = start("router", "--threads", "4", "--multiprocess")
        cls.client = cls.worker.client
        cls.info = cls.client.ready()
        cls.next_id = 1

    @classmethod
    def tearDownClass(cls):
        cls.client.send(0, p.STOP)
        code = cls.worker.wait()
        cls.worker.close()
        assert code == 0, "exit code %r" % code

    def fetch(self, path, query="", body=b"", **kwargs):
        rid = type(self).next_id
        type(self).next_id += 1
        environ = environ_for(path, query=query, body=body, method="POST" if body else "GET", **kwargs)
        self.client.request(rid, environ, body=body)
        return self.client.response(rid)

    def test_ready_describes_the_worker(self):
        self.assertEqual(self.info["pid"], self.worker.proc.pid)
        self.assertEqual(self.info["threads"], 4)
        self.assertIn(self.info["implementation"], ("cpython", "pypy"))
        self.assertRegex(self.info["python"], r"^3\.\d+\.\d+")

    def test_validated_echo(self):
        response = self.fetch("/validated", query="q=1", body=b"payload")
        self.assertEqual(response.status, "200 OK", response)
        environ = json.loads(bytes(response.body))
        self.assertEqual(environ["body"], "payload")
        self.assertIs(environ["wsgi.multiprocess"], True)
        self.assertIs(environ["wsgi.multithread"], True)
        self.assertEqual(json.loads(bytes(self.fetch("/echo").body))["wsgi.errors"], "<TextIOWrapper>")
        # wsgiref.validate complains with warnings, AssertionErrors or unraisable errors
        # (an iterator collected unclosed), all of which would show on stderr.
        time.sleep(0.05)
        for line in self.worker.stderr.lines:
            for word in ("/validated", "wsgiref", "Warning", "AssertionError", "Exception ignored"):
                self.assertNotIn(word, line)

    def test_app_output_reaches_stdout_and_stderr_line_by_line(self):
        self.assertEqual(bytes(self.fetch("/stream/printer").body), b"printed")
        self.worker.stdout.wait_for("hello from the app")
        self.worker.stderr.wait_for("to wsgi.errors")

    def test_an_app_error_is_reported_in_its_error_frame_and_the_worker_lives_on(self):
        response = self.fetch("/fail/raise_before")
        self.assertIn("RuntimeError: boom before headers", response.error)
        self.assertEqual(self.fetch("/echo").status, "200 OK")

    def test_system_exit_in_the_app_does_not_stop_the_worker(self):
        self.assertIn("SystemExit", self.fetch("/fail/system_exit").error)
        self.assertEqual(self.fetch("/echo").status, "200 OK")

    def test_close_is_called_on_success_and_on_error(self):
        self.fetch("/stream/recorded", query="proc-ok")
        self.worker.stdout.wait_for("closed proc-ok")

    def test_big_response_under_flow_control(self):
        response = self.fetch("/stream/big")
        self.assertEqual(len(response.body), 5 * 1024 * 1024)
        self.worker.stdout.wait_for("closed big")


class LifecycleTests(unittest.TestCase):
    def tearDown(self):
        worker = getattr(self, "worker", None)
        if worker is not None:
            worker.close()

    def test_stop_exits_0_after_the_requests_in_hand(self):
        self.worker = start("router", "--threads", "1")
        client = self.worker.client
        client.ready()
        for rid in (1, 2):
            client.request(rid, environ_for("/stream/sleep", query="0.1"))
        client.send(0, p.STOP)
        self.assertEqual(bytes(client.response(1).body), b"slept")
        self.assertEqual(bytes(client.response(2).body), b"slept")
        self.assertEqual(self.worker.wait(), 0)

    def test_sigterm_is_a_graceful_stop(self):
        self.worker = start("router", "--threads", "2")
        client = self.worker.client
        client.ready()
        client.request(1, environ_for("/stream/sleep", query="0.3"))
        self.worker.stdout.wait_for("sleeping")
        self.worker.proc.send_signal(signal.SIGTERM)
        self.assertEqual(bytes(client.response(1).body), b"slept")
        self.assertEqual(self.worker.wait(), 0)

    def test_sigint_is_ignored(self):
        self.worker = start("router")
        client = self.worker.client
        client.ready()
        self.worker.proc.send_signal(signal.SIGINT)
        time.sleep(0.1)
        client.request(1, environ_for("/echo"))
        self.assertEqual(client.response(1).status, "200 OK")
        client.send(0, p.STOP)
        self.assertEqual(self.worker.wait(), 0)

    def thread_policies(self):
        pid = self.worker.proc.pid
        return {int(tid): os.sched_getscheduler(int(tid)) for tid in os.listdir("/proc/%d/task" % pid)}

    def test_a_refused_scheduling_policy_is_reported_and_the_worker_goes_on(self):
        # A container's seccomp profile may refuse sched_setscheduler (EPERM); the kernel
        # itself never refuses SCHED_BATCH, so the refusal is staged in this process.
        from cask_worker import __main__ as entry
        real = getattr(os, "sched_setscheduler", None)

        def refuse(*_args):
            raise PermissionError(1, "Operation not permitted")
        os.sched_setscheduler = refuse
        try:
            problem = entry.use_scheduling("batch")
        finally:
            if real is None:
                del os.sched_setscheduler
            else:
                os.sched_setscheduler = real
        if real is None or not hasattr(os, "SCHED_BATCH"):
            self.assertIsNone(problem)  # not Linux: the setting is ignored without a word
        else:
            self.assertRegex(problem, r"^Cannot use the SCHED_BATCH policy \(.*not permitted\): "
                                      r"going on with the inherited one$")
        self.assertIsNone(entry.use_scheduling("inherit"))

    @unittest.skipUnless(hasattr(os, "SCHED_BATCH") and os.path.isdir("/proc/self/task"),
                         "SCHED_BATCH is Linux's")
    def test_scheduling_batch_covers_every_thread(self):
        # --scheduling batch is set before any thread starts, so the reader, the app's
        # threads and the link writer all inherit it; the app still answers.
        self.worker = start("router", "--threads", "3", "--scheduling", "batch")
        client = self.worker.client
        client.ready()
        client.request(1, environ_for("/echo"))
        self.assertEqual(client.response(1).status, "200 OK")
        policies = self.thread_policies()
        self.assertGreaterEqual(len(policies), 5)  # main, reader, three app threads
        self.assertEqual(set(policies.values()), {os.SCHED_BATCH}, policies)
        client.send(0, p.STOP)
        self.assertEqual(self.worker.wait(), 0)

    @unittest.skipUnless(hasattr(os, "SCHED_BATCH") and os.path.isdir("/proc/self/task"),
                         "SCHED_BATCH is Linux's")
    def test_scheduling_inherit_keeps_the_parents_policy(self):
        self.worker = start("router", "--threads", "2")
        self.worker.client.ready()
        self.assertEqual(set(self.thread_policies().values()), {os.sched_getscheduler(0)})
        self.worker.client.send(0, p.STOP)
        self.assertEqual(self.worker.wait(), 0)

    def test_link_eof_exits_3(self):
        self.worker = start("router")
        self.worker.client.ready()
        self.worker.client.close()
        self.assertEqual(self.worker.wait(), 3)
        self.assertIn("closed the link", self.worker.stderr.text)

    def test_a_malformed_frame_exits_3(self):
        self.worker = start("router")
        self.worker.client.ready()
        self.worker.client.send(1, 0x66)
        self.assertEqual(self.worker.wait(), 3)
        self.assertIn("Malformed frame", self.worker.stderr.text)

    def test_exit_3_even_while_a_thread_is_busy_in_the_app(self):
        self.worker = start("router")
        self.worker.client.ready()
        self.worker.client.request(1, environ_for("/stream/sleep", query="30"))
        self.worker.stdout.wait_for("sleeping")
        self.worker.client.close()
        self.assertEqual(self.worker.wait(timeout=10), 3)


class LoadTests(unittest.TestCase):
    def load_error(self, app, *args, **kwargs):
        worker = start(app, *args, **kwargs)
        try:
            frame = worker.client.link_frame()
            self.assertEqual(frame.kind, p.LOAD_ERROR)
            self.assertEqual(worker.wait(), 4)
            text = frame.payload.decode("utf-8")
            self.assertIn(text.splitlines()[-1], worker.stderr.text)
            return text
        finally:
            worker.close()

    def ready(self, app, *args, **kwargs):
        worker = start(app, *args, **kwargs)
        try:
            worker.client.ready()
            worker.client.request(1, environ_for("/"))
            response = worker.client.response(1)
            worker.client.send(0, p.STOP)
            self.assertEqual(worker.wait(), 0)
            return response
        finally:
            worker.close()

    def test_an_app_that_fails_at_import_is_a_load_error_with_its_traceback(self):
        text = self.load_error("broken_import")
        self.assertIn("Traceback", text)
        self.assertIn("this app cannot even be imported", text)
        self.assertIn("broken_import.py", text)

    def test_a_missing_attribute_or_module_is_a_load_error(self):
        self.assertIn("'missing' in 'factory'", self.load_error("factory:missing"))
        self.assertIn("No module named", self.load_error("no_such_cask_module"))
        self.assertIn("must be callable", self.load_error("factory:not_callable"))

    def test_factory_spec(self):
        response = self.ready("factory:create_app('hey', n=2)")
        self.assertEqual(bytes(response.body), b"heyhey")

    def test_file_spec_relative_to_chdir(self):
        response = self.ready("plain_module.py:application", "--chdir", APPS, pythonpath=())
        self.assertEqual(bytes(response.body), b"plain application")

    def test_module_found_through_chdir_alone(self):
        response = self.ready("plain_module", "--chdir", APPS, pythonpath=())
        self.assertEqual(bytes(response.body), b"plain application")

    def test_root_path(self):
        worker = start("echo", "--root-path", "/base")
        try:
            worker.client.ready()
            worker.client.request(1, environ_for("/base/x"))
            environ = json.loads(bytes(worker.client.response(1).body))
            self.assertEqual((environ["SCRIPT_NAME"], environ["PATH_INFO"]), ("/base", "/x"))
            worker.client.send(0, p.STOP)
            self.assertEqual(worker.wait(), 0)
        finally:
            worker.close()

    def test_bad_command_line(self):
        worker = start("echo", "--threads", "0")
        try:
            self.assertEqual(worker.wait(), 2)
            self.assertIn("--threads must be at least 1", worker.stderr.text)
        finally:
            worker.close()


if __name__ == "__main__":
    unittest.main()
