"""The runner end to end over a socketpair, in this process: responses as frames,
app errors, the environ the app sees, and link errors."""

import json
import os
import shutil
import socket
import struct
import sys
import tempfile
import unittest
import warnings

from tests.linkclient import LinkClient, RunnerCase, environ_for, wait_until
import router
import streaming
from cask_worker import protocol as p
from cask_worker.runner import Runner


class ResponseTests(RunnerCase):
    def test_ready_reports_pid_python_and_threads(self):
        info = self.worker.info
        self.assertEqual(info["pid"], os.getpid())
        self.assertEqual(info["threads"], 2)
        self.assertEqual(info["implementation"], sys.implementation.name)
        self.assertTrue(info["python"].startswith("%d.%d" % sys.version_info[:2]))

    def test_a_list_response_is_one_head_frame_with_end(self):
        response = self.fetch("/echo")
        self.assertEqual(response.kinds, [p.HEAD])
        self.assertEqual(response.status, "200 OK")
        self.assertEqual(response.header("Content-Type"), "application/json")
        environ = json.loads(bytes(response.body))
        self.assertEqual(environ["PATH_INFO"], "/echo")
        self.assertEqual(environ["wsgi.version"], [1, 0])
        self.assertIs(environ["wsgi.multithread"], True)
        self.assertIs(environ["wsgi.multiprocess"], False)
        self.assertIs(environ["wsgi.run_once"], False)
        self.assertIs(environ["wsgi.input_terminated"], True)
        self.assertEqual(environ["wsgi.url_scheme"], "http")
        self.assertEqual(environ["SERVER_SOFTWARE"], "Cask/0.1")
        self.assertEqual(environ["wsgi.file_wrapper"], "<type>")

    def test_the_validated_echo_app_never_complains(self):
        unraisable = []
        old_hook = sys.unraisablehook
        sys.unraisablehook = unraisable.append
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                big = b"x" * 70000
                for body, chunks in [(b"", None), (b"abc\r\ndef", None),
                                     (big, [big[:20000], b"", big[20000:]])]:
                    rid = self.next_id
                    self.next_id += 1
                    environ = environ_for("/validated", method="POST", body=body, query="a=1")
                    self.client.request(rid, environ, body=body, chunks=chunks)
                    response = self.client.response(rid)
                    self.assertEqual(response.status, "200 OK", response)
                    self.assertEqual(json.loads(bytes(response.body))["body"], body.decode())
        finally:
            sys.unraisablehook = old_hook
        self.assertEqual(self.worker.errors.getvalue(), "")
        self.assertEqual(unraisable, [])

    @unittest.skipUnless(sys.implementation.name == "cpython", "reference counting is CPython's")
    def test_a_request_leaves_no_reference_cycle_behind(self):
        # Each cycle left per request brings on the cyclic collector every few hundred
        # requests; the environ and the exchange must go by reference counting alone.
        import gc
        self.fetch("/echo")
        gc.collect()
        gc.disable()
        try:
            for _ in range(20):
                self.assertEqual(self.fetch("/echo").status, "200 OK")
                self.assertEqual(self.fetch("/stream/generator").status, "200 OK")
            self.assertEqual(gc.collect(), 0)
        finally:
            gc.enable()

    def test_body_frames_and_body_file_reach_wsgi_input(self):
        body = b"line one\nline two\nthree"
        ops = "read:3,readline,readline:2,readlines,read,read:-1,read:none"
        expected = ["lin", "e one\n", "li", ["ne two\n", "three"], "", "", ""]
        response = self.fetch("/inputs", query=ops, body=body)
        self.assertEqual(json.loads(bytes(response.body)), expected)
        folder = tempfile.mkdtemp()
        try:
            path = os.path.join(folder, "body")
            with open(path, "wb") as f:
                f.write(body)
            for query, result in [(ops, expected), ("iter", [body.decode().splitlines(True)])]:
                rid = self.next_id
                self.next_id += 1
                self.client.request(rid, environ_for("/inputs", query=query, body=body),
                                    body_file=path)
                self.assertEqual(json.loads(bytes(self.client.response(rid).body)), result)
        finally:
            shutil.rmtree(folder)

    def test_a_missing_body_file_is_an_error_for_that_request_only(self):
        rid = self.next_id
        self.next_id += 1
        self.client.request(rid, environ_for("/echo"), body_file="/nonexistent/cask-body")
        self.assertIn("FileNotFoundError", self.client.response(rid).error)
        self.assertEqual(self.fetch("/echo").status, "200 OK")

    def test_write_then_iterable(self):
        response = self.fetch("/stream/with_write")
        self.assertEqual(bytes(response.body), b"one,two,three")
        self.assertEqual(response.kinds, [p.HEAD, p.DATA, p.DATA])

    def test_generator_blocks_go_out_one_frame_each(self):
        response = self.fetch("/stream/generator")
        self.assertEqual(bytes(response.body), b"block0;block1;block2;block3;block4;")
        self.assertEqual(response.kinds, [p.HEAD] + [p.DATA] * 5)

    def test_empty_bodies(self):
        response = self.fetch("/stream/empty")
        self.assertEqual((response.status, response.kinds, bytes(response.body)),
                         ("204 No Content", [p.HEAD], b""))
        response = self.fetch("/stream/empty_generator")
        self.assertEqual((response.kinds, response.header("Content-Length")), ([p.HEAD], "0"))

    def test_close_is_called_after_success(self):
        response = self.fetch("/stream/recorded", query="ok-tag")
        self.assertEqual(bytes(response.body), b"abc")
        wait_until(lambda: "ok-tag" in streaming.closed)

    def test_the_block_that_completes_the_content_length_ends_the_response(self):
        rid = self.get("/stream/sized", query="sized-tag")
        response = self.client.response(rid)
        # Before, the iterable's end was a frame of its own: [HEAD, DATA, DATA(END)].
        self.assertEqual((response.kinds, bytes(response.body)), ([p.HEAD, p.DATA], b"abcdef"))
        wait_until(lambda: "sized-tag" in streaming.closed)
        self.assert_nothing_after(rid)
        self.assertEqual(self.worker.errors.getvalue(), "")

    def test_an_iterator_of_one_sized_block_is_one_frame(self):
        rid = self.get("/stream/sized_one")
        response = self.client.response(rid)
        self.assertEqual((response.kinds, bytes(response.body)), ([p.HEAD], b"hello"))
        wait_until(lambda: "sized_one" in streaming.closed)
        self.assert_nothing_after(rid)

    def test_write_counts_towards_the_content_length(self):
        rid = self.get("/stream/sized_after_write")
        response = self.client.response(rid)
        self.assertEqual((response.kinds, bytes(response.body)), ([p.HEAD, p.DATA], b"one,two"))
        wait_until(lambda: "sized_after_write" in streaming.closed)
        self.assert_nothing_after(rid)
        self.assertIn("Response longer than its Content-Length: GET /stream/sized_after_write\n"
                      "4 bytes after the declared length were dropped", self.worker.errors.getvalue())

    def test_bytes_past_the_content_length_are_dropped_and_reported(self):
        rid = self.get("/stream/sized_too_long")
        response = self.client.response(rid)
        self.assertEqual((response.kinds, bytes(response.body)), ([p.HEAD], b"abc"))
        wait_until(lambda: "sized_too_long" in streaming.closed)
        self.assert_nothing_after(rid)
        wait_until(lambda: "3 bytes after the declared length were dropped"
                   in self.worker.errors.getvalue())

    def test_a_block_longer_than_the_content_length_is_left_to_the_front(self):
        # The worker does not cut a block: the front drops what is past the length and
        # closes the connection (test/integration tests it).
        response = self.fetch("/stream/sized_overshoot")
        self.assertEqual((response.kinds, bytes(response.body)), ([p.HEAD, p.DATA], b"abc"))

    def test_many_requests_beyond_the_threads_wait_in_the_queue(self):
        ids = [self.get("/echo", query="n=%d" % i) for i in range(40)]
        for index, rid in enumerate(ids):
            body = json.loads(bytes(self.client.response(rid).body))
            self.assertEqual(body["QUERY_STRING"], "n=%d" % index)


class ErrorTests(RunnerCase):
    def error_of(self, name):
        response = self.fetch("/fail/" + name)
        self.assertIsNotNone(response.error, response)
        return response

    def test_errors_before_headers_send_only_an_error_frame(self):
        cases = {
            "raise_before": "boom before headers",
            "yield_str": "must produce bytes, not str",
            "return_none": "returned None",
            "return_bytes": "wrap it in a list",
            "system_exit": "SystemExit",
            "keyboard_interrupt": "KeyboardInterrupt",
            "no_start_response": "without calling start_response()",
            "bad_status": "three-digit code",
            "bad_status_crlf": "control character",
            "bad_status_bytes": "Status must be a str",
            "crlf_header": "control character",
            "nul_header": "control character",
            "hop_header": "Hop-by-hop",
            "transfer_encoding": "Hop-by-hop",
            "bad_name": "not a valid HTTP token",
            "bytes_header": "Header name must be a str",
            "not_latin1": "latin-1",
            "tuple_headers": "must be a list",
            "twice": "called twice without exc_info",
            "huge_head": "Response headers too large",
        }
        for name, fragment in cases.items():
            with self.subTest(name):
                response = self.error_of(name)
                self.assertEqual(response.kinds, [p.ERROR])
                self.assertIn(fragment, response.error)
                self.assertIn("Traceback", response.error)
        # The traceback travels in the ERROR frame only: the front logs it, once.
        self.assertNotIn("boom before headers", self.worker.errors.getvalue())
        self.assertEqual(self.fetch("/echo").status, "200 OK")  # the worker lives on

    def test_errors_after_headers_end_with_an_error_frame(self):
        for name, fragment in [("raise_after", "boom after headers"),
                               ("yield_str_later", "not str"),
                               ("late_exc_info", "late failure")]:
            with self.subTest(name):
                response = self.error_of(name)
                self.assertEqual(response.kinds[0], p.HEAD)
                self.assertEqual(response.kinds[-1], p.ERROR)
                self.assertIn(fragment, response.error)

    def test_exc_info_before_headers_replaces_the_response(self):
        response = self.fetch("/fail/recovers")
        self.assertEqual((response.status, bytes(response.body)),
                         ("500 Internal Server Error", b"recovered"))

    def test_close_is_called_after_an_error_in_the_iterable(self):
        response = self.fetch("/stream/fails_midway", query="err-tag")
        self.assertEqual((response.kinds, bytes(response.body)), ([p.HEAD, p.ERROR], b"a"))
        self.assertIn("midway failure", response.error)
        wait_until(lambda: "err-tag" in streaming.closed)

    def test_an_error_after_the_last_declared_byte_is_only_logged(self):
        rid = self.get("/stream/sized_fails_after", query="late-tag")
        response = self.client.response(rid)
        self.assertEqual((response.kinds, bytes(response.body), response.error),
                         ([p.HEAD], b"abc", None))
        wait_until(lambda: "late-tag" in streaming.closed)
        self.assert_nothing_after(rid)
        logged = self.worker.errors.getvalue()
        self.assertIn("Error after the response ended GET /stream/sized_fails_after", logged)
        self.assertIn("RuntimeError: failure after the last byte", logged)

    def test_write_after_the_end_is_refused_and_logged(self):
        response = self.fetch("/fail/write_after_end")
        self.assertEqual((response.kinds, bytes(response.body)), ([p.HEAD, p.DATA], b"done"))
        wait_until(lambda: "already ended" in self.worker.errors.getvalue())

    def test_an_error_in_close_after_the_response_is_only_logged(self):
        response = self.fetch("/fail/close_raises")
        self.assertEqual((response.kinds, bytes(response.body)), ([p.HEAD, p.DATA], b"fine"))
        wait_until(lambda: "close failed" in self.worker.errors.getvalue())


class RootPathTests(RunnerCase):
    root_path = "/mnt/"

    def test_root_path_becomes_script_name(self):
        body = json.loads(bytes(self.fetch("/mnt/echo").body))
        self.assertEqual((body["SCRIPT_NAME"], body["PATH_INFO"]), ("/mnt", "/echo"))


class LinkErrorTests(unittest.TestCase):
    def check_exit(self, data, code=3):
        ours, theirs = socket.socketpair()
        runner = Runner(theirs, router.application, threads=1)
        runner.start()
        client = LinkClient(ours)
        client.ready()
        if data is None:
            ours.close()
        else:
            ours.sendall(data)
        self.assertEqual(runner.wait(), code)
        runner.stop()  # let its worker threads go
        ours.close()
        runner._reader.join(10)
        theirs.close()
        return runner.exit_reason

    def test_link_eof_exits_3(self):
        self.assertIn("closed the link", self.check_exit(None))

    def test_malformed_frames_exit_3(self):
        request = p.encode_frame(5, p.REQUEST, 0, p.encode_environ(environ_for("/")))
        cases = {
            "too long": struct.pack(">IIBBH", p.MAX_PAYLOAD + 1, 1, p.BODY, 0, 0),
            "unknown kind": p.encode_frame(1, 0x55, 0),
            "worker kind": p.encode_frame(1, p.HEAD, 0, b"\0\0\0\0"),
            "body for unknown id": p.encode_frame(9, p.BODY, 1, b"x"),
            "duplicate id": request + request,
            "bad window": p.encode_frame(1, p.WINDOW, 0, b"\0"),
            "odd environ": p.encode_frame(1, p.REQUEST, 1, b"PATH_INFO"),
        }
        for name, data in cases.items():
            with self.subTest(name):
                self.assertIn("Malformed frame", self.check_exit(data))


if __name__ == "__main__":
    unittest.main()
