"""Scenarios hello, hello-close, browser, rate-sweep, slow-clients: the smallest useful
app. ``?size=N`` returns N bytes instead (the slow readers in slow-clients ask for a body
bigger than the socket buffers, so a server that writes with a blocking thread is held)."""

_HELLO = b"Hello, World!"
_cache = {}


def application(environ, start_response):
    body = _HELLO
    query = environ.get("QUERY_STRING", "")
    if query.startswith("size="):
        size = min(int(query[5:] or 0), 16 * 1024 * 1024)
        body = _cache.get(size)
        if body is None:
            body = _cache[size] = b"x" * size
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
