"""Scenarios asgi-hello and asgi-hello-close: the hello app written for ASGI 3, the same
13 bytes as hello.py, with the lifespan answered so that every server starts it the same way."""

_HELLO = b"Hello, World!"
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
}
_BODY = {"type": "http.response.body", "body": _HELLO}


async def application(scope, receive, send):
    if scope["type"] == "http":
        await send(_START)
        await send(_BODY)
        return
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
