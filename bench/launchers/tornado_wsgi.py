"""Serve a WSGI app with Tornado's WSGIContainer (as Tornado's docs show), for `cask bench`.

usage: tornado_wsgi.py PORT PROCESSES MODULE:CALLABLE
The app runs on the IOLoop thread, so one request at a time per process; PROCESSES > 1
forks after binding (tornado.process), the way Tornado scales across cores."""

import importlib
import sys

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.process
import tornado.wsgi


def main():
    port, processes, target = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    module, _, name = target.partition(":")
    app = getattr(importlib.import_module(module), name or "application")
    sockets = tornado.netutil.bind_sockets(port, address="127.0.0.1", backlog=1024)
    if processes > 1:
        tornado.process.fork_processes(processes, max_restarts=0)
    server = tornado.httpserver.HTTPServer(tornado.wsgi.WSGIContainer(app))
    server.add_sockets(sockets)
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
