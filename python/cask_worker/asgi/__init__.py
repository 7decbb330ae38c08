"""Cask's ASGI 3 worker: one asyncio loop runs the app's requests and WebSockets as tasks,
behind the same worker link as the WSGI worker (docs/protocol.md, docs/asgi.md)."""

from .http import ClientDisconnected
from .lifespan import LifespanFailed
from .runner import AsgiRunner, new_loop

__all__ = ["AsgiRunner", "ClientDisconnected", "LifespanFailed", "new_loop"]
