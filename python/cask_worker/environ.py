"""The WSGI environ (PEP 3333): the per-worker constants, the per-request merge,
`wsgi.input` and `wsgi.file_wrapper`.

The front computes every per-request variable (docs/protocol.md, "Frames from the front
to a worker"); the worker only adds the constants and the body, so a request costs one
dict copy and one update.
"""

import io
import os
import stat
import sys

from .errors import ProtocolError

SERVER_SOFTWARE = "Cask/0.1"


class FileWrapper:
    """`wsgi.file_wrapper` (PEP 3333, "Optional Platform-Specific File Handling").

    Iterating reads `blksize` blocks, so any server can send it; the runner recognises
    this exact class and lets the front send the file itself (SENDFILE) when the file is a
    regular file it can name by path.
    """

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def close(self):
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()

    def sendfile_target(self):
        """(absolute path, offset) if the front can send the file by path, else None.

        The path must lead to the very file the descriptor is open on (same device and
        inode): a name that was renamed, deleted or is relative to another directory
        would make the front send some other file.
        """
        filelike = self.filelike
        if isinstance(filelike, io.TextIOBase):
            return None  # text files yield str blocks: the iterable path reports that
        fileno = getattr(filelike, "fileno", None)
        name = getattr(filelike, "name", None)
        if fileno is None or not isinstance(name, str):
            return None
        try:
            opened = os.fstat(fileno())
            if not stat.S_ISREG(opened.st_mode):
                return None
            path = os.path.abspath(name)
            named = os.stat(path)
            if (named.st_dev, named.st_ino) != (opened.st_dev, opened.st_ino):
                return None
            offset = filelike.tell()
            path.encode("utf-8")  # the link carries UTF-8; surrogate-escaped names cannot go
        except (OSError, ValueError, TypeError, AttributeError):
            return None
        if not isinstance(offset, int) or offset < 0:
            return None
        return path, offset


def base_environ(threads, multiprocess, errors=None):
    """The keys that are the same for every request of this worker."""
    return {
        "wsgi.version": (1, 0),
        "wsgi.errors": sys.stderr if errors is None else errors,
        "wsgi.multithread": threads > 1,
        "wsgi.multiprocess": bool(multiprocess),
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileWrapper,
        "wsgi.input_terminated": True,
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
    }


def build_environ(base, payload, root_path=""):
    """Merge one request's variables (the REQUEST payload) onto the base.

    The payload is decoded here, in the worker thread, straight into the copy of the
    base: one dict per request instead of two, and the reader thread stays free for the
    link. `wsgi.input` is added by the caller.
    """
    environ = base.copy()
    if payload:
        parts = payload.decode("latin-1").split("\0")
        if len(parts) & 1:
            raise ProtocolError("Environ payload has an odd number of strings: %d" % len(parts))
        pairs = iter(parts)
        environ.update(zip(pairs, pairs))
    if root_path:
        apply_root_path(environ, root_path)
    return environ


def apply_root_path(environ, root_path):
    """--root-path: the app is mounted under `root_path` (PEP 3333 SCRIPT_NAME).

    Only when the front left SCRIPT_NAME empty: the prefix becomes SCRIPT_NAME and, when
    PATH_INFO starts with it at a segment boundary, is cut from PATH_INFO (a proxy in
    front may or may not have stripped it already, as with gunicorn's SCRIPT_NAME).
    """
    if environ.get("SCRIPT_NAME"):
        return
    environ["SCRIPT_NAME"] = root_path
    path = environ.get("PATH_INFO", "")
    if path.startswith(root_path) and path[len(root_path):len(root_path) + 1] in ("", "/"):
        environ["PATH_INFO"] = path[len(root_path):]


def describe_request(environ):
    """A request as the error log names it, WSGI or ASGI: its method and target as sent
    (RAW_URI, else PATH_INFO)."""
    return "%s %s" % (environ.get("REQUEST_METHOD", "?"),
                      environ.get("RAW_URI") or environ.get("PATH_INFO", "?"))


def memory_input(body):
    """`wsgi.input` for a body that came in BODY frames (or none).

    BytesIO has every method PEP 3333 asks for (read(n), read(), read(-1), read(None),
    readline(limit), readlines(hint), iteration), in C, and ends exactly at the body's end.
    """
    return io.BytesIO(body)


def file_input(path):
    """`wsgi.input` for a body the front spooled to a file (BODY_FILE). The file holds
    exactly the body, so a buffered reader ends at the body's end too."""
    return open(path, "rb")
