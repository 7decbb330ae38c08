"""Scenario download: a 10 MB response built once at import, returned in 64 KiB pieces
(as a generated export would be), so the server's write path and buffering show."""

SIZE = 10 * 1024 * 1024
_CHUNK = 65536
_BODY = b"d" * SIZE
_PIECES = [memoryview(_BODY)[i : i + _CHUNK].tobytes() for i in range(0, SIZE, _CHUNK)]


def application(environ, start_response):
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(SIZE))],
    )
    return _PIECES
