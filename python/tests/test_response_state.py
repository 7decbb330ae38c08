"""start_response() and write() used out of order raise ResponseStateError, which both
`except AssertionError` (what wsgiref raises) and `except RuntimeError` (what mod_wsgi
raises) catch."""

import io
import threading
import unittest

from tests.linkclient import RunnerCase
from cask_worker import ResponseStateError
from cask_worker import protocol as p
from cask_worker.exchange import Exchange


class ResponseStateErrorTests(unittest.TestCase):
    def test_except_assertion_error_and_except_runtime_error_both_catch_it(self):
        self.assertEqual(ResponseStateError.__mro__[1:3], (AssertionError, RuntimeError))
        for caught in (AssertionError, RuntimeError, Exception):
            with self.subTest(caught.__name__):
                try:
                    raise ResponseStateError("out of order")
                except caught as error:
                    self.assertIs(type(error), ResponseStateError)
                    self.assertEqual((str(error), error.args), ("out of order", ("out of order",)))


class ExchangeMisuseTests(unittest.TestCase):
    """Each misuse on an Exchange of its own, its frames going to a list instead of a link."""

    def setUp(self):
        self.frames = []
        self.exchange = Exchange(1, b"", self.frames.append, threading.Condition())

    def run_app(self, app):
        errors = io.StringIO()
        self.exchange.run(app, {"REQUEST_METHOD": "GET", "RAW_URI": "/"}, errors)
        return errors.getvalue()

    def test_write_before_start_response(self):
        with self.assertRaisesRegex(ResponseStateError, r"write\(\) called before start_response\(\)"):
            self.exchange.write(b"early")
        self.assertEqual(self.frames, [])

    def test_start_response_twice_before_any_output(self):
        self.exchange.start_response("200 OK", [])
        with self.assertRaisesRegex(ResponseStateError, "called twice without exc_info"):
            self.exchange.start_response("404 Not Found", [])

    def test_start_response_twice_after_output(self):
        write = self.exchange.start_response("200 OK", [])
        write(b"sent")
        self.assertTrue(self.exchange.head_sent)
        with self.assertRaisesRegex(ResponseStateError, "called twice without exc_info"):
            self.exchange.start_response("500 Internal Server Error", [])

    def test_write_after_the_response_ended(self):
        kept = []

        def app(environ, start_response):
            kept.append(start_response("200 OK", [("Content-Type", "text/plain")]))
            return [b"done"]

        self.run_app(app)
        self.assertTrue(self.exchange.finished)
        with self.assertRaisesRegex(ResponseStateError, "already ended"):
            kept[0](b"too late")

    def test_body_before_start_response_ends_in_an_error_naming_the_class(self):
        def returns(environ, start_response):
            return [b"no head"]

        def yields(environ, start_response):
            yield b"no head"

        for app, fragment in [(returns, b"returned without calling start_response()"),
                              (yields, b"yielded body bytes before start_response()")]:
            with self.subTest(app.__name__):
                self.setUp()
                self.run_app(app)
                frames = p.FrameDecoder().feed(b"".join(self.frames))
                self.assertEqual([frame.kind for frame in frames], [p.ERROR])
                self.assertIn(b"ResponseStateError: The application " + fragment,
                              frames[0].payload)


class CaughtByTheAppTests(RunnerCase):
    """Apps that catch the error of a second start_response() after output and go on."""

    def test_an_app_catching_runtime_error_finishes_its_response(self):
        response = self.fetch("/fail/twice_caught_as_runtime_error")
        self.assertEqual((response.status, response.kinds), ("200 OK", [p.HEAD, p.DATA]))
        self.assertEqual(bytes(response.body), b"started;caught ResponseStateError: "
                                               b"start_response() called twice without exc_info")

    def test_an_app_catching_assertion_error_finishes_its_response(self):
        response = self.fetch("/fail/twice_caught_as_assertion_error")
        self.assertEqual((response.status, response.kinds), ("200 OK", [p.HEAD, p.DATA]))
        self.assertEqual(bytes(response.body), b"started;caught ResponseStateError: "
                                               b"start_response() called twice without exc_info")


if __name__ == "__main__":
    unittest.main()
