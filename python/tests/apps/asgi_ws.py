"""A raw ASGI app with WebSocket endpoints, for the worker tests. It prints what it sees
(`disconnect 1001 /echo`, ...) on stdout, where the subprocess tests wait for it."""

import asyncio
import sys


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    assert scope["type"] == "websocket", scope["type"]
    path = scope["path"]
    connect = await receive()
    assert connect["type"] == "websocket.connect"
    if path == "/echo":
        subprotocol = "chat" if "chat" in scope["subprotocols"] else None
        await send({"type": "websocket.accept", "subprotocol": subprotocol,
                    "headers": [(b"x-echo", b"yes")]})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                say("disconnect %d %s" % (message["code"], path))
                return
            await send({"type": "websocket.send", **{k: v for k, v in message.items()
                                                      if k in ("bytes", "text")}})
    elif path == "/deny":
        await send({"type": "websocket.close", "code": 1000})
    elif path == "/http-deny":
        await send({"type": "websocket.http.response.start", "status": 401,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "websocket.http.response.body", "body": b"who are you"})
    elif path == "/no-accept":
        return
    elif path == "/raise-before":
        raise ValueError("failed before accept")
    elif path == "/raise-after":
        await send({"type": "websocket.accept"})
        raise ValueError("failed after accept")
    elif path == "/close":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "bye"})
        await send({"type": "websocket.close", "code": 4001, "reason": "done"})
    elif path == "/flood":
        await send({"type": "websocket.accept"})
        count = int(scope["query_string"] or b"40")
        for index in range(count):
            await send({"type": "websocket.send", "bytes": bytes([index % 256]) * 65536})
        say("flood sent %d" % count)
        await send({"type": "websocket.close", "code": 1000})
    elif path == "/slow-reader":
        await send({"type": "websocket.accept"})
        say("slow reader waiting")
        await asyncio.sleep(float(scope["query_string"] or b"0.5"))
        total = 0
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                break
            total += len(message.get("bytes") or b"")
            if total >= 3 * 1024 * 1024:
                break
        say("slow reader got %d" % total)
        await send({"type": "websocket.close", "code": 1000})
