"""Scenario io-wait: the handler waits 100 ms on a "backend" (a sleep that releases the
GIL, and that gevent's monkey-patching turns into a cooperative wait), then answers.
Throughput is bounded by how many requests a server lets wait at once."""

import time

WAIT = 0.1


def application(environ, start_response):
    time.sleep(WAIT)
    body = b"waited\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
