"""Cask's Python worker: runs a WSGI app (PEP 3333) behind the worker link.

Start it with `python -m cask_worker --app SPEC` (see __main__.py); the link format is
docs/protocol.md, implemented by `protocol`.
"""

from .app import load_app
from .environ import FileWrapper, base_environ, build_environ
from .errors import (
    EXIT_LINK_ERROR, EXIT_LOAD_ERROR, EXIT_STOPPED, AppLoadError, ProtocolError,
    ResponseStateError,
)
from .protocol import FrameDecoder, encode_frame
from .runner import Runner

__version__ = "0.1"

__all__ = [
    "AppLoadError",
    "EXIT_LINK_ERROR",
    "EXIT_LOAD_ERROR",
    "EXIT_STOPPED",
    "FileWrapper",
    "FrameDecoder",
    "ProtocolError",
    "ResponseStateError",
    "Runner",
    "base_environ",
    "build_environ",
    "encode_frame",
    "load_app",
]
