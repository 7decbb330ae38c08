"""Which source files the app has loaded, for the front's file watcher (`cask dev`,
`cask serve --reload`).

A worker started with `--report-files` sends a FILES frame (docs/protocol.md) with the
files of every module loaded from outside the standard library and the installed packages:
once before READY, after any request that imported more modules, and before LOAD_ERROR
(with the files named by the traceback, so that fixing the broken file reloads the app).

Checking costs one len(sys.modules) per request; the modules are walked again only when
that number changed.
"""

import os
import site
import sys
import sysconfig
import threading

WORKER_DIR = os.path.dirname(os.path.abspath(__file__))
LIBRARY_PARTS = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


def _library_roots():
    roots = set()
    for scheme_key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(scheme_key)
        if path:
            roots.add(path)
    for getter in ("getsitepackages", "getusersitepackages"):
        try:
            found = getattr(site, getter)()
        except Exception:
            continue
        roots.update([found] if isinstance(found, str) else found)
    roots.add(WORKER_DIR)
    out = set()
    for root in roots:
        for form in (os.path.abspath(root), os.path.realpath(root)):
            out.add(form.rstrip(os.sep) + os.sep)
    return tuple(sorted(out))


LIBRARY_ROOTS = _library_roots()


def is_library(filename):
    """True for the standard library, installed packages and the worker itself."""
    if not filename or filename.startswith("<"):
        return True
    path = os.path.abspath(filename)
    if any(part in path for part in LIBRARY_PARTS):
        return True
    real = os.path.realpath(path)
    return path.startswith(LIBRARY_ROOTS) or real.startswith(LIBRARY_ROOTS)


def module_file(module):
    filename = getattr(module, "__file__", None)
    if not isinstance(filename, str) or not filename:
        return None
    return os.path.abspath(filename)


class Sources:
    """The app's source files not reported yet. Thread-safe: any app thread may ask."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen = set()
        self._count = -1

    def new_files(self, extra=()):
        """Files loaded since the last call (plus `extra`, e.g. a traceback's files)."""
        with self._lock:
            found = []
            count = len(sys.modules)
            if count != self._count:
                self._count = count
                for _ in range(3):
                    try:
                        modules = list(sys.modules.values())
                        break
                    except RuntimeError:  # another thread imported meanwhile
                        modules = []
                for module in modules:
                    filename = module_file(module)
                    if filename is not None:
                        found.append(filename)
            for filename in extra:
                if filename and not filename.startswith("<"):
                    found.append(os.path.abspath(filename))
            out = []
            for filename in found:
                if filename in self._seen:
                    continue
                self._seen.add(filename)
                if not is_library(filename):
                    out.append(filename)
            return sorted(out)


def traceback_files(exc):
    """Every file a traceback passes through, and a SyntaxError's own file."""
    files = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            files.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        if isinstance(exc, SyntaxError) and exc.filename:
            files.append(exc.filename)
        exc = exc.__cause__ or exc.__context__
    return files
