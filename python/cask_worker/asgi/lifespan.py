"""ASGI lifespan: the app's startup before the worker says READY, its shutdown on drain.

    startup   app gets lifespan.startup ──▶ .complete  READY, requests flow
                                        ──▶ .failed    LOAD_ERROR, the worker exits 4
                                        ──▶ raises     (after receiving it) the same, with
                                                       the traceback
              app raises before it asked   lifespan is not supported: logged once, and
              for a message                requests flow without it (as uvicorn's "auto")
    shutdown  after the last request of a draining worker (STOP or SIGTERM): the app gets
              lifespan.shutdown; a failure is logged, and the worker still exits 0

The `state` dict is the lifespan scope's; every request scope gets a shallow copy of it.
"""

import asyncio
import sys
import traceback

__all__ = ["Lifespan", "LifespanFailed"]


class LifespanFailed(Exception):
    """The app's startup failed: the message is what the front prints before exiting 4."""


class Lifespan:
    def __init__(self, app, loop):
        self.app = app
        self.loop = loop
        self.state = {}
        self.supported = True
        self._inbox = None          # made inside the running loop (Python 3.8 binds it at birth)
        self._asked = False         # the app called receive() at least once
        self._reply = None          # future: the app's answer to the last event
        self._task = None
        self._error = None

    async def startup(self):
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        self._inbox = asyncio.Queue()
        self._task = self.loop.create_task(self._main(scope))
        answer = await self._ask("lifespan.startup")
        if answer is None:
            if not self._asked:
                self.supported = False
                sys.stderr.write(
                    "ASGI lifespan is not supported by the app (it raised before asking for "
                    "a message); serving without startup and shutdown:\n%s" % self._error)
                return
            raise LifespanFailed("The ASGI app failed at startup (lifespan):\n%s" % self._error)
        if answer["type"] == "lifespan.startup.failed":
            raise LifespanFailed(
                "The ASGI app failed at startup (lifespan.startup.failed): %s"
                % (answer.get("message") or "no message"))

    async def shutdown(self):
        if not self.supported or self._task is None or self._task.done():
            return
        answer = await self._ask("lifespan.shutdown")
        if answer is None:
            sys.stderr.write("The ASGI app failed at shutdown (lifespan):\n%s" % self._error)
        elif answer["type"] == "lifespan.shutdown.failed":
            sys.stderr.write("The ASGI app failed at shutdown (lifespan.shutdown.failed): %s\n"
                             % (answer.get("message") or "no message"))
        if not self._task.done():
            # The app's lifespan coroutine usually returns after shutdown; give it a moment.
            await asyncio.wait([self._task], timeout=1)

    async def _ask(self, event):
        """Send `event`; the app's answer, or None if its lifespan task ended first."""
        self._reply = self.loop.create_future()
        self._inbox.put_nowait({"type": event})
        done, _ = await asyncio.wait([self._reply, self._task], return_when=asyncio.FIRST_COMPLETED)
        if self._reply in done:
            return self._reply.result()
        return None

    async def _main(self, scope):
        try:
            await self.app(scope, self._receive, self._send)
        except BaseException:
            self._error = traceback.format_exc()
        else:
            self._error = "the app's lifespan coroutine returned without answering\n"

    async def _receive(self):
        self._asked = True
        return await self._inbox.get()

    async def _send(self, message):
        kind = message.get("type")
        if kind not in ("lifespan.startup.complete", "lifespan.startup.failed",
                        "lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            raise ValueError("Unexpected ASGI message in a lifespan scope: %r" % (kind,))
        if self._reply is not None and not self._reply.done():
            self._reply.set_result(message)
