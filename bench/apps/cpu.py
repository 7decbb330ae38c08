"""Scenario cpu: a handler that burns about 5 ms of CPython 3.11 CPU on this kind of
machine. The work is a fixed loop, not a calibrated one, so every server does exactly the
same work; the bench's inside view reports how long it really took."""

_ROUNDS = 100000


def application(environ, start_response):
    acc = 0
    for i in range(_ROUNDS):
        acc = (acc + i * i) % 1000003
    body = b"%d\n" % acc
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
