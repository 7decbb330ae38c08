"""The runner over a socketpair, in this process: flow control, CANCEL (queued, running,
waiting for a window or for FILE_TAKEN), STOP, and wsgi.file_wrapper as SENDFILE."""

import json
import os
import shutil
import tempfile
import threading
import time
import unittest

from tests.linkclient import InProcessWorker, Response, RunnerCase, environ_for, wait_until
import files
import router
import streaming
from cask_worker import protocol as p


class SingleThreadTests(RunnerCase):
    threads = 1

    def test_multithread_is_false_with_one_thread(self):
        self.assertIs(json.loads(bytes(self.fetch("/echo").body))["wsgi.multithread"], False)

    def test_cancel_of_a_queued_request_answers_without_running_it(self):
        streaming.events["q-blocker"] = threading.Event()
        first = self.get("/stream/slow", query="q-blocker")
        second = self.get("/stream/recorded", query="q-never-run")
        self.client.cancel(second)
        self.assertEqual(self.client.response(second).error, "cancelled")
        streaming.events["q-blocker"].set()
        self.assertEqual(bytes(self.client.response(first).body), b"firstsecondthird")
        self.assertNotIn("q-never-run", streaming.closed)

    def test_cancel_mid_response_stops_the_iterable_and_closes_it(self):
        streaming.events["c-mid"] = threading.Event()
        rid = self.get("/stream/slow", query="c-mid")
        wait_until(lambda: "c-mid" in streaming.started)
        self.client.cancel(rid)
        wait_until(lambda: self.worker.runner.exchanges[rid].cancelled)
        streaming.events["c-mid"].set()
        response = self.client.response(rid)
        self.assertEqual(response.error, "cancelled")
        wait_until(lambda: "c-mid" in streaming.closed)
        self.assertEqual(self.worker.errors.getvalue(), "")

    def test_cancel_while_the_body_arrives_answers_once_it_is_complete(self):
        rid = 77
        self.client.send(rid, p.REQUEST, 0, p.encode_environ(environ_for("/stream/recorded", query="c-body")))
        self.client.send(rid, p.BODY, 0, b"part")
        self.client.cancel(rid)
        self.client.send(rid, p.BODY, p.FLAG_END, b"")
        self.assertEqual(self.client.response(rid).error, "cancelled")
        self.assertEqual(self.fetch("/echo").status, "200 OK")
        self.assertNotIn("c-body", streaming.closed)

    def test_cancel_and_window_for_unknown_ids_are_ignored(self):
        self.client.cancel(999)
        self.client.window(998, 100)
        self.client.send(997, p.FILE_TAKEN)
        self.assertEqual(self.fetch("/echo").status, "200 OK")

    def test_stop_finishes_queued_requests_then_exits_0(self):
        ids = [self.get("/stream/sleep", query="0.05") for _ in range(3)]
        self.client.send(0, p.STOP)
        for rid in ids:
            self.assertEqual(bytes(self.client.response(rid).body), b"slept")
        for thread in self.worker.runner._threads:
            thread.join(10)
        self.assertEqual(self.worker.runner.exit_code, 0)

    def test_a_request_after_stop_is_given_back(self):
        streaming.events["s-block"] = threading.Event()
        first = self.get("/stream/slow", query="s-block")
        self.client.send(0, p.STOP)
        late = self.get("/echo")
        self.assertTrue(self.client.response(late).reclaimed)
        streaming.events["s-block"].set()
        self.assertEqual(self.client.response(first).status, "200 OK")

    def test_reclaim_gives_back_only_requests_not_started(self):
        streaming.events["r-block"] = threading.Event()
        started = self.get("/stream/slow", query="r-block")
        waiting = [self.get("/stream/recorded", query="r-never-%d" % i) for i in range(3)]
        wait_until(lambda: "r-block" in streaming.started)
        for rid in reversed([started] + waiting):  # newest first, like the front
            self.client.reclaim(rid)
        self.client.reclaim(4242)  # unknown: ignored
        for rid in waiting:
            response = self.client.response(rid)
            self.assertEqual((response.reclaimed, response.kinds), (True, [p.RECLAIMED]))
        streaming.events["r-block"].set()
        self.assertEqual(bytes(self.client.response(started).body), b"firstsecondthird")
        self.assertFalse([tag for tag in streaming.closed if tag.startswith("r-never")])
        rid = self.get("/stream/recorded", query="r-after")
        self.assertEqual(bytes(self.client.response(rid).body), b"abc")

    def test_reclaim_while_the_body_arrives_answers_once_it_is_complete(self):
        rid = 78
        self.client.send(rid, p.REQUEST, 0, p.encode_environ(environ_for("/stream/recorded", query="r-body")))
        self.client.reclaim(rid)
        self.client.send(rid, p.BODY, p.FLAG_END, b"body")
        self.assertTrue(self.client.response(rid).reclaimed)
        self.assertNotIn("r-body", streaming.closed)


class FlowControlTests(unittest.TestCase):
    def setUp(self):
        self.worker = InProcessWorker(router.application, threads=2, auto_window=False)
        self.client = self.worker.client

    def tearDown(self):
        self.assertEqual(self.worker.stop(), 0)

    def body_so_far(self, rid, quiet=0.2):
        """Frames until the worker goes quiet; returns the body length received."""
        response = self.client.responses.get(rid)
        if response is None:
            response = self.client.responses[rid] = Response(rid)
        while not response.done:
            try:
                frame = self.client.next_frame(rid, timeout=quiet)
            except TimeoutError:
                break
            self.client.apply(response, frame)
        return response

    def test_the_worker_stops_at_the_window_and_resumes_on_grants(self):
        for query in ("", "one"):
            with self.subTest(single_block=bool(query)):
                rid = 100 + len(query)
                self.client.request(rid, environ_for("/stream/big", query=query))
                response = self.body_so_far(rid)
                self.assertEqual(len(response.body), p.INITIAL_WINDOW)
                self.client.window(rid, 300000)
                response = self.body_so_far(rid)
                self.assertEqual(len(response.body), p.INITIAL_WINDOW + 300000)
                self.client.auto_window = True
                self.client.window(rid, len(response.body))
                response = self.client.response(rid)
                self.client.auto_window = False
                self.assertEqual(len(response.body), streaming.BIG_SIZE)
                self.assertEqual(bytes(response.body[:512]), bytes(range(256)) * 2)

    def test_other_requests_go_on_while_one_waits_for_its_window(self):
        big = 200
        self.client.request(big, environ_for("/stream/big"))
        self.assertEqual(len(self.body_so_far(big).body), p.INITIAL_WINDOW)
        self.client.request(201, environ_for("/echo"))
        self.assertEqual(self.client.response(201).status, "200 OK")
        self.client.cancel(big)
        self.assertEqual(self.body_so_far(big).error, "cancelled")
        wait_until(lambda: "big" in streaming.closed)

    def test_a_big_write_is_cut_to_the_window(self):
        self.client.request(300, environ_for("/stream/big_write"))
        self.assertEqual(len(self.body_so_far(300).body), p.INITIAL_WINDOW)
        self.client.cancel(300)
        self.assertEqual(self.body_so_far(300).error, "cancelled")


class FileWrapperTests(RunnerCase):
    def setUp(self):
        super().setUp()
        self.folder = tempfile.mkdtemp()
        self.path = os.path.join(self.folder, "served.txt")
        with open(self.path, "wb") as f:
            f.write(files.DATA)

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.folder)

    def fetch_file(self, name, take=True):
        rid = self.get("/files/" + name, headers=[("X-File", self.path)])
        response = self.client.response(rid)
        return rid, response, files.opened[-1]

    def test_a_regular_file_is_sent_by_the_front_and_closed_after_file_taken(self):
        rid, response, f = self.fetch_file("sendfile")
        self.assertEqual(response.kinds, [p.HEAD, p.SENDFILE])
        self.assertEqual(response.sendfile, (0, p.TO_EOF, self.path))
        time.sleep(0.05)
        self.assertFalse(f.closed, "closed before FILE_TAKEN")
        self.client.send(rid, p.FILE_TAKEN)
        wait_until(lambda: f.closed)

    def test_cancel_also_releases_a_file_waiting_for_file_taken(self):
        rid, response, f = self.fetch_file("buffered")
        self.assertEqual(response.sendfile, (0, p.TO_EOF, self.path))
        self.client.cancel(rid)
        wait_until(lambda: f.closed)

    def test_offset_and_content_length_bound_the_range(self):
        rid, response, f = self.fetch_file("seeked")
        self.assertEqual(response.sendfile, (100, 50, self.path))
        self.client.send(rid, p.FILE_TAKEN)
        wait_until(lambda: f.closed)

    def test_head_already_sent_by_write_then_sendfile(self):
        rid, response, f = self.fetch_file("after_write")
        self.assertEqual(response.kinds, [p.HEAD, p.SENDFILE])
        self.assertEqual(bytes(response.body), b"prefix;")
        self.client.send(rid, p.FILE_TAKEN)
        wait_until(lambda: f.closed)

    def test_files_without_a_usable_path_are_iterated(self):
        response = self.fetch("/files/memory")
        self.assertEqual(bytes(response.body), files.DATA)
        self.assertIsNone(response.sendfile)
        rid, response, f = self.fetch_file("renamed")
        self.assertIsNone(response.sendfile)
        self.assertEqual(bytes(response.body), files.DATA)
        wait_until(lambda: f.closed)


if __name__ == "__main__":
    unittest.main()
