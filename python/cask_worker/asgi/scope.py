"""The ASGI connection scope of a request, from the environ the front computed.

The front sends every request as the CGI/WSGI variables (docs/protocol.md, REQUEST), for
WSGI and ASGI workers alike, so the front has one encoder and this module one decoder:

    REQUEST_METHOD            method
    SCRIPT_NAME               root_path (text)
    SCRIPT_NAME + PATH_INFO   path (text: the mount point is part of it, ASGI "www" 2.4)
    RAW_URI                   raw_path (bytes, the target as sent, up to "?")
    QUERY_STRING              query_string (bytes)
    SERVER_PROTOCOL           http_version ("1.0", "1.1", "2")
    wsgi.url_scheme           scheme ("http", "https"; "ws", "wss" for a WebSocket)
    REMOTE_ADDR, REMOTE_PORT  client (None over a Unix socket)
    SERVER_NAME, SERVER_PORT  server
    HTTP_*, CONTENT_TYPE,     headers, names lowercased with "-" for "_"
    CONTENT_LENGTH

The reverse mapping of header names is exact: the front drops every request field whose
name has an "_" (a dashed twin could not be told apart), so "_" in a variable is always "-"
in the field. Repeated fields arrive joined by ", " (cookies by "; "), as the front joins
them for WSGI: RFC 9110 section 5.3 makes the two forms equivalent.

Environ values are PEP 3333 native strings (bytes as latin-1): bytes fields are one
encode("latin-1"); text fields are those bytes decoded as UTF-8, with undecodable bytes
replaced, as uvicorn does.
"""

__all__ = ["parse_environ", "http_scope", "websocket_scope", "ASGI_VERSION"]

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}

_VERSIONS = {"HTTP/1.1": "1.1", "HTTP/1.0": "1.0", "HTTP/2": "2", "HTTP/2.0": "2"}
_names = {}


def parse_environ(payload):
    """A REQUEST payload as a dict of native strings (one decode, one split)."""
    if not payload:
        return {}
    parts = payload.decode("latin-1").split("\0")
    pairs = iter(parts)
    return dict(zip(pairs, pairs))


def _header_name(key):
    name = _names.get(key)
    if name is None:
        name = key[5:].lower().replace("_", "-").encode("latin-1")
        if len(_names) < 1024:
            _names[key] = name
    return name


def _text(native):
    return native.encode("latin-1").decode("utf-8", "replace")


def _common(environ, state):
    headers = []
    append = headers.append
    for key, value in environ.items():
        if key[:5] == "HTTP_":
            append((_header_name(key), value.encode("latin-1")))
    content_type = environ.get("CONTENT_TYPE")
    if content_type is not None:
        append((b"content-type", content_type.encode("latin-1")))
    length = environ.get("CONTENT_LENGTH")
    if length is not None:
        append((b"content-length", length.encode("latin-1")))
    root_path = _text(environ.get("SCRIPT_NAME", ""))
    path_info = environ.get("PATH_INFO", "")
    raw_uri = environ.get("RAW_URI") or path_info
    query = raw_uri.find("?")
    remote = environ.get("REMOTE_ADDR", "")
    remote_port = environ.get("REMOTE_PORT", "")
    server_port = environ.get("SERVER_PORT", "")
    # Fresh dicts for every request: middleware may add to them.
    scope = {
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": _VERSIONS.get(environ.get("SERVER_PROTOCOL", ""), "1.1"),
        "path": root_path + _text(path_info),
        "raw_path": (raw_uri if query < 0 else raw_uri[:query]).encode("latin-1"),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": root_path,
        "headers": headers,
        "client": (remote, int(remote_port)) if remote and remote_port.isdigit() else None,
        "server": (environ.get("SERVER_NAME", ""), int(server_port) if server_port.isdigit() else None),
    }
    if state is not None:
        # ASGI lifespan "state": each request gets a shallow copy of what startup put there.
        scope["state"] = state.copy()
    return scope


def http_scope(environ, state=None):
    scope = _common(environ, state)
    scope["type"] = "http"
    scope["method"] = environ.get("REQUEST_METHOD", "GET")
    scope["scheme"] = environ.get("wsgi.url_scheme", "http")
    # `http.response.pathsend`: the app names a file and the front sends it (SENDFILE).
    scope["extensions"] = {"http.response.pathsend": {}}
    return scope


def websocket_scope(environ, state=None):
    scope = _common(environ, state)
    scope["type"] = "websocket"
    scope["scheme"] = "wss" if environ.get("wsgi.url_scheme") == "https" else "ws"
    offered = environ.get("HTTP_SEC_WEBSOCKET_PROTOCOL", "")
    scope["subprotocols"] = [p.strip() for p in offered.split(",") if p.strip()]
    # `websocket.http.response`: a refused handshake answered with the app's own response.
    scope["extensions"] = {"websocket.http.response": {}}
    return scope
