"""Serve a WSGI app with the standard library's wsgiref, for `cask bench`.

usage: wsgiref_simple.py PORT MODULE:CALLABLE
Left as stock as possible (one thread, listen backlog 5, HTTP/1.0); only the per-request
log line to stderr is silenced, as for every other server in the bench."""

import importlib
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def main():
    port, target = int(sys.argv[1]), sys.argv[2]
    module, _, name = target.partition(":")
    app = getattr(importlib.import_module(module), name or "application")
    make_server("127.0.0.1", port, app, handler_class=QuietHandler).serve_forever()


if __name__ == "__main__":
    main()
