"""A raw ASGI 3 app for the worker tests: one path per behaviour, no framework.

Lines it prints to stdout (`lifespan startup`, `disconnect /path`, ...) are what the
subprocess tests wait for. The environment variable ASGI_STARTUP picks how the lifespan
startup goes: "ok" (default), "failed" (lifespan.startup.failed), "raise" (raises after
receiving the startup event), "unsupported" (raises before asking for any message).
"""

import asyncio
import json
import os
import sys

FILE = os.path.abspath(__file__)
FACTORY_MADE = []


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def read_body(receive):
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, chunks
        chunks.append(message["body"])
        if not message.get("more_body"):
            return b"".join(chunks), chunks


async def respond(send, status, body, headers=(), content_type=b"text/plain"):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type)] + list(headers)})
    await send({"type": "http.response.body", "body": body})


async def lifespan(scope, receive, send):
    mode = os.environ.get("ASGI_STARTUP", "ok")
    if mode == "unsupported":
        raise RuntimeError("no lifespan here")
    message = await receive()
    assert message["type"] == "lifespan.startup"
    if mode == "failed":
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
        return
    if mode == "raise":
        raise ValueError("startup exploded")
    scope["state"]["answer"] = 42
    if os.environ.get("ASGI_TASK_FACTORY"):
        # Every task of the loop made by a factory of the app's (as tracing libraries do):
        # /factory answers how many it has made.
        loop = asyncio.get_running_loop()

        def factory(loop, coro, **kwargs):
            FACTORY_MADE.append(1)
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(factory)
    say("lifespan startup")
    await send({"type": "lifespan.startup.complete"})
    message = await receive()
    assert message["type"] == "lifespan.shutdown"
    say("lifespan shutdown")
    await send({"type": "lifespan.shutdown.complete"})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    path = scope["path"][len(scope["root_path"]):]
    if path == "/scope":
        public = {k: v for k, v in scope.items() if k not in ("headers", "raw_path", "query_string")}
        public["headers"] = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]]
        public["raw_path"] = scope["raw_path"].decode("latin-1")
        public["query_string"] = scope["query_string"].decode("latin-1")
        await respond(send, 200, json.dumps(public).encode(), content_type=b"application/json")
    elif path == "/echo":
        body, chunks = await read_body(receive)
        sizes = ",".join(str(len(c)) for c in chunks)
        await respond(send, 200, body, headers=[(b"x-chunks", sizes.encode())])
    elif path == "/stream":
        count = int(scope["query_string"] or b"3")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for index in range(count):
            await send({"type": "http.response.body", "body": b"part%d;" % index, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/big":
        size = int(scope["query_string"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(size).encode())]})
        await send({"type": "http.response.body", "body": b"x" * size})
        say("big sent %d" % size)
    elif path == "/wait-disconnect":
        await respond_start_and_wait(scope, receive, send)
    elif path == "/sleep":
        say("sleeping %s" % scope["query_string"].decode())
        try:
            await asyncio.sleep(float(scope["query_string"] or b"60"))
        except asyncio.CancelledError:
            say("cancelled %s" % path)
            raise
        await respond(send, 200, b"slept")
    elif path == "/pathsend":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": FILE})
    elif path == "/no-response":
        return
    elif path == "/half-response":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"half", "more_body": True})
    elif path == "/raise":
        raise ValueError("the app failed on purpose")
    elif path == "/bad-header":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-bad", b"one\r\ntwo")]})
    elif path == "/task":
        # The request's task is current from the app's first step on, eager start or not
        # (libraries such as anyio key their state on it).
        first = asyncio.current_task()
        await asyncio.sleep(0)
        body = {"task": first is not None, "same": first is asyncio.current_task()}
        await respond(send, 200, json.dumps(body).encode(), content_type=b"application/json")
    elif path == "/factory":
        await respond(send, 200, str(len(FACTORY_MADE)).encode())
    elif path == "/state":
        await respond(send, 200, json.dumps(scope.get("state")).encode())
    else:
        await respond(send, 404, b"not found")


async def respond_start_and_wait(scope, receive, send):
    """Reads the body, then waits on receive() until the client goes away."""
    await read_body(receive)
    say("waiting %s" % scope["path"])
    message = await receive()
    say("%s %s" % (message["type"], scope["path"]))


application = app
