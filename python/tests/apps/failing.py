"""Apps that break the rules, one per name; router.py mounts them under /fail/NAME."""

import sys


def raise_before(environ, start_response):
    raise RuntimeError("boom before headers")


def raise_after(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first block"
    raise RuntimeError("boom after headers")


def yield_str(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["not bytes"]


def yield_str_later(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"ok"
    yield "not bytes"


def return_none(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return None


def return_bytes(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return b"bare bytes"


def system_exit(environ, start_response):
    sys.exit(3)


def keyboard_interrupt(environ, start_response):
    raise KeyboardInterrupt()


def no_start_response(environ, start_response):
    return [b"body without headers"]


def _status_app(status, headers):
    def app(environ, start_response):
        start_response(status, headers)
        return [b"should never be seen"]
    return app


bad_status = _status_app("OK", [])
bad_status_crlf = _status_app("200 OK\r\nX-Injected: 1", [])
bad_status_bytes = _status_app(b"200 OK", [])
crlf_header = _status_app("200 OK", [("X-Split", "a\r\nSet-Cookie: evil=1")])
nul_header = _status_app("200 OK", [("X-Nul", "a\0b")])
hop_header = _status_app("200 OK", [("Connection", "close")])
transfer_encoding = _status_app("200 OK", [("Transfer-Encoding", "chunked")])
bad_name = _status_app("200 OK", [("Bad Name", "x")])
bytes_header = _status_app("200 OK", [(b"X-Bytes", b"x")])
not_latin1 = _status_app("200 OK", [("X-Name", "caf\u00e9 \u2603")])
tuple_headers = _status_app("200 OK", (("X-A", "1"),))


def twice(environ, start_response):
    start_response("200 OK", [])
    start_response("500 Oops", [])
    return [b""]


def _twice_after_output(caught):
    """A second start_response() once the headers went out, caught the way an app written
    against one server or another does: RuntimeError (mod_wsgi) or AssertionError (wsgiref)."""
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"started;")
        try:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        except caught as error:
            return [("caught %s: %s" % (type(error).__name__, error)).encode("latin-1")]
        return [b"not raised"]
    return app


twice_caught_as_runtime_error = _twice_after_output(RuntimeError)
twice_caught_as_assertion_error = _twice_after_output(AssertionError)


def recovers(environ, start_response):
    """Catches its own bad start_response and reports an error page instead."""
    try:
        start_response("200 OK", [("X-Bad", "a\nb")])
    except ValueError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                       sys.exc_info())
        return [b"recovered"]
    return [b"unreachable"]


def late_exc_info(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"started"
    try:
        raise ValueError("late failure")
    except ValueError:
        start_response("500 Internal Server Error", [], sys.exc_info())
    yield b"unreachable"


def close_raises(environ, start_response):
    class Body:
        def __iter__(self):
            return iter([b"fine"])

        def close(self):
            raise RuntimeError("close failed")

    start_response("200 OK", [("Content-Type", "text/plain")])
    return Body()


def write_after_end(environ, start_response):
    """Keeps write() and calls it from close(), after the final frame went out."""
    write = start_response("200 OK", [("Content-Type", "text/plain")])

    class Body(list):
        def close(self):
            write(b"too late")

    return Body([b"done"])


huge_head = _status_app("200 OK", [("X-Huge", "x" * (1024 * 1024 + 1))])
