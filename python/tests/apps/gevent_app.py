"""A WSGI app for the gevent worker tests: it waits on I/O the way apps do (a sleep, a socket
read), and prints what it sees for the subprocess tests. Importing it tells whether the
standard library was patched before the app came in."""

import socket
import sys
import time

PATCHED_AT_IMPORT = type(socket.socket).__module__ != "socket" or "gevent" in socket.socket.__module__


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def sleep_after(body, seconds):
    """The whole response, then a wait of `seconds` in the same greenlet."""
    yield body
    try:
        time.sleep(seconds)
    except BaseException as error:
        say("interrupted after %s by %s" % (seconds, type(error).__name__))
        raise


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = environ.get("QUERY_STRING") or "0.5"
    if path == "/sleep-after":
        body = b"all of it"
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return sleep_after(body, float(query))
    if path == "/sleep":
        say("sleeping %s" % query)
        try:
            time.sleep(float(query))
        except BaseException as error:
            say("interrupted %s by %s" % (query, type(error).__name__))
            raise
        body = b"slept " + query.encode()
    elif path == "/patched":
        body = b"yes" if PATCHED_AT_IMPORT else b"no"
    else:
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
