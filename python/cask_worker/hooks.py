"""Server hooks (`cask serve --hooks SPEC`): the functions of one module that, if defined,
run at the matching moment. Names, arguments and meanings are gunicorn's, so a gunicorn
config file works as a hooks module as it is (`--hooks gunicorn.conf.py`; its settings are
plain module globals and are ignored).

    runs in each worker (this process)         runs in the front's hook process (hookhost.py)
    post_fork(server, worker)   before the app  on_starting(server)  an error aborts the start
    post_worker_init(worker)    app loaded      when_ready(server)   every worker ready
    pre_request(worker, req)                    on_reload(server)    SIGHUP / `cask reload`
    post_request(worker, req, environ, resp)    child_exit(server, worker)  a worker exited
    worker_abort(worker)        SIGABRT (stuck) nworkers_changed(server, new_value, old_value)
    worker_exit(server, worker) clean exit      on_exit(server)      just before the front exits
                                                pre_exec(server)     SIGUSR2, before the new process

An exception in a hook is logged with its traceback and the server goes on (on_starting
excepted). SPEC is a module name (`myproject.hooks`) or a path to a .py file.
"""

import importlib
import importlib.util
import os
import sys
import traceback

WORKER_HOOKS = (
    "post_fork", "post_worker_init", "pre_request", "post_request", "worker_abort",
    "worker_exit",
)
MASTER_HOOKS = (
    "on_starting", "when_ready", "on_reload", "child_exit", "nworkers_changed", "on_exit",
    "pre_exec",
)

DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50


def load_module(spec):
    """A module name, or a .py file (any file name: `gunicorn.conf.py` is not a module name)."""
    if spec.endswith(".py") or "/" in spec or os.sep in spec:
        path = os.path.abspath(spec)
        if not os.path.isfile(path):
            raise ImportError("Hooks file not found: %r (looked at %s)" % (spec, path))
        module_spec = importlib.util.spec_from_file_location("cask_hooks", path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules["cask_hooks"] = module
        module_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


class Log:
    """What gunicorn hooks call `server.log` / `worker.log`: logging.Logger's methods,
    writing to the front's error log through `emit(level, text)`."""

    def __init__(self, emit):
        self._emit = emit

    def _log(self, level, msg, args):
        try:
            text = str(msg) % args if args else str(msg)
        except Exception:
            text = "%s %r" % (msg, args)
        try:
            self._emit(level, text)
        except Exception:
            pass

    def debug(self, msg, *args, **_kwargs):
        self._log(DEBUG, msg, args)

    def info(self, msg, *args, **_kwargs):
        self._log(INFO, msg, args)

    def warning(self, msg, *args, **_kwargs):
        self._log(WARNING, msg, args)

    warn = warning

    def error(self, msg, *args, **_kwargs):
        self._log(ERROR, msg, args)

    def critical(self, msg, *args, **_kwargs):
        self._log(CRITICAL, msg, args)

    def exception(self, msg, *args, **_kwargs):
        self._log(ERROR, "%s\n%s" % (msg, traceback.format_exc().rstrip()), args)


class Hooks:
    """The hooks a module defines, each called so that it cannot take the caller down."""

    def __init__(self, module, log, names):
        self.log = log
        self.functions = {}
        for name in names:
            function = getattr(module, name, None)
            if callable(function):
                self.functions[name] = function

    def has(self, name):
        return name in self.functions

    def call(self, name, *args):
        """Run one hook; True if it is not defined or returned, False if it raised."""
        function = self.functions.get(name)
        if function is None:
            return True
        try:
            function(*args)
            return True
        except BaseException:
            self.log.error("Hook %s failed:\n%s" % (name, traceback.format_exc().rstrip()))
            return False


class Server:
    """The `server` argument: gunicorn passes its Arbiter; this carries what hooks read."""

    proc_name = "cask"

    def __init__(self, log, pid, **fields):
        self.log = log
        self.pid = pid
        self.num_workers = fields.pop("num_workers", None)
        self.address = fields.pop("address", [])
        self.cfg = Namespace(fields.pop("cfg", {}))
        for key, value in fields.items():
            setattr(self, key, value)


class Worker:
    """The `worker` argument: one worker process (gunicorn's Worker attributes that make
    sense here). `age` is the worker's number, counting up from 1 over the server's life."""

    def __init__(self, log, pid, ppid, age, generation=1, **fields):
        self.log = log
        self.pid = pid
        self.ppid = ppid
        self.age = age
        self.generation = generation
        self.alive = True
        self.booted = False
        for key, value in fields.items():
            setattr(self, key, value)

    def notify(self):
        """gunicorn's heartbeat; the front watches workers through their link instead."""


class Namespace:
    def __init__(self, values):
        self.__dict__.update(values)

    def __repr__(self):
        return "Namespace(%r)" % self.__dict__


class Request:
    """The `req` argument, read from the environ: method, uri, path, query, version,
    headers ([(NAME, value)], names upper-cased as gunicorn's), scheme, remote_addr."""

    def __init__(self, environ):
        self.method = environ.get("REQUEST_METHOD", "")
        self.path = environ.get("PATH_INFO", "")
        self.query = environ.get("QUERY_STRING", "")
        self.uri = environ.get("RAW_URI") or self.path + ("?" + self.query if self.query else "")
        protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
        try:
            major, minor = protocol.split("/", 1)[1].split(".", 1)
            self.version = (int(major), int(minor))
        except (IndexError, ValueError):
            self.version = (1, 1)
        self.scheme = environ.get("wsgi.url_scheme", "http")
        self.remote_addr = environ.get("REMOTE_ADDR", "")
        self.peer_addr = (self.remote_addr, environ.get("REMOTE_PORT", ""))
        headers = []
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers.append((key[5:].replace("_", "-"), value))
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if key in environ:
                headers.append((key.replace("_", "-"), environ[key]))
        self.headers = headers


class Response:
    """The `resp` argument of post_request: status ("200 OK"), status_code, headers,
    sent (body bytes sent)."""

    def __init__(self, status, headers, sent):
        self.status = status
        try:
            self.status_code = int(status.split(" ", 1)[0])
        except (ValueError, AttributeError):
            self.status_code = None
        self.headers = list(headers or ())
        self.sent = sent
        self.response_length = sent
