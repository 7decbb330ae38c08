"""Scenario download: a 10 MB response streamed by a generator in 64 KiB pieces, as a
generated export would be, so the server's write path and buffering show. The pieces are
built once at import: the scenario measures the server, not the app making bytes."""

SIZE = 10 * 1024 * 1024
_CHUNK = 65536
_BODY = b"d" * SIZE
_PIECES = [memoryview(_BODY)[i : i + _CHUNK].tobytes() for i in range(0, SIZE, _CHUNK)]


def _stream():
    for piece in _PIECES:
        yield piece


def application(environ, start_response):
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(SIZE))],
    )
    return _stream()
