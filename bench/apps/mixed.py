"""Scenario mixed: ``/slow`` waits 2 s (a report, an export, a slow query), anything else
answers at once. The load sends 5% slow requests; the question is how long the short ones
wait behind them."""

import time

SLOW = 2.0


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/slow":
        time.sleep(SLOW)
        body = b"slow\n"
    else:
        body = b"short\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
