"""Scenarios ws-broadcast-16 and ws-broadcast-1000: a WebSocket room. A member that sends
`broadcast N ROUND` has the app send N messages, `ROUND INDEX`, to every member, each member by
a task of its own (so a slow member holds only its own); `size` answers `size COUNT`. GET on
any path answers hello, which is how the bench sees the server is up."""

import asyncio

ROOM = set()


async def _to(member, count, round_):
    try:
        for index in range(count):
            await member({"type": "websocket.send", "text": "%s %d" % (round_, index)})
    except Exception:
        pass  # the member left meanwhile


async def application(scope, receive, send):
    kind = scope["type"]
    if kind == "http":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")]})
        await send({"type": "http.response.body", "body": b"Hello, World!"})
        return
    if kind == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    ROOM.add(send)
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text") or ""
            if text.startswith("broadcast "):
                _, count, round_ = text.split()
                members = list(ROOM)
                await asyncio.gather(*(_to(m, int(count), round_) for m in members))
            elif text == "size":
                await send({"type": "websocket.send", "text": "size %d" % len(ROOM)})
    finally:
        ROOM.discard(send)
