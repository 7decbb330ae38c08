"""wsgi.file_wrapper cases: a real file (sent by the front), a seeked file, a
Content-Length cut, an in-memory file (iterated), and close() recording."""

import io
import os

# Every file object handed out, so in-process tests can see when it is closed.
opened = []

DATA = b"".join(b"line %04d of the served file\n" % i for i in range(2000))


class Tracked(io.FileIO):
    def close(self):
        if not self.closed and os.environ.get("CASK_FIXTURE_PRINT_CLOSE"):
            print("file closed %s" % self.name)
        super().close()


def _path(environ):
    return environ["HTTP_X_FILE"]


def _open(environ, cls=None):
    f = cls(_path(environ), "r") if cls else open(_path(environ), "rb")
    opened.append(f)
    return f


def sendfile(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](_open(environ, Tracked))


def buffered(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](_open(environ), 4096)


def seeked(environ, start_response):
    f = _open(environ)
    f.seek(100)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "50")])
    return environ["wsgi.file_wrapper"](f)


def memory(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](io.BytesIO(DATA), 65536)


def renamed(environ, start_response):
    """The name no longer leads to the open file: must be iterated, not sent by path."""
    path = _path(environ)
    f = _open(environ)
    os.rename(path, path + ".moved")
    with open(path, "wb") as other:
        other.write(b"a different file")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](f)


def after_write(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"prefix;")
    return environ["wsgi.file_wrapper"](_open(environ))
