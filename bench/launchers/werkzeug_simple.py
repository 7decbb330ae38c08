"""Serve a WSGI app with werkzeug's run_simple (threaded), for `cask bench`.

usage: werkzeug_simple.py PORT MODULE:CALLABLE
Request logging is turned down to errors: every other server in the bench runs without an
access log, and werkzeug's per-request log line would otherwise dominate its profile."""

import importlib
import logging
import sys

from werkzeug.serving import run_simple


def main():
    port, target = int(sys.argv[1]), sys.argv[2]
    module, _, name = target.partition(":")
    app = getattr(importlib.import_module(module), name or "application")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
