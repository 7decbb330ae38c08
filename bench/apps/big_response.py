"""Scenarios slow-readers and slow-readers-list: a 20 MB response for clients that read it
slowly or not at all, at /stream yielded by a generator in 64 KiB pieces, at /list as a
one-item list; any other path answers "Hello, World!" (the fast client and the readiness
probe). 20 MB is far more than the socket buffers hold on loopback and more than waitress
queues for one connection before its worker thread waits (16 MB), so a server that
writes with the app's thread is held by each reader."""

SIZE = 20 * 1024 * 1024
_PIECE = b"r" * 65536
_PIECES = SIZE // len(_PIECE)
_HELLO = b"Hello, World!"
_whole = []


def _stream():
    for _ in range(_PIECES):
        yield _PIECE


def _one_piece():
    # Built on first use, so the streamed scenario does not carry 20 MB per process.
    if not _whole:
        _whole.append(_PIECE * _PIECES)
    return _whole


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/stream":
        body, size = _stream(), SIZE
    elif path == "/list":
        body, size = _one_piece(), SIZE
    else:
        body, size = [_HELLO], len(_HELLO)
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))],
    )
    return body
