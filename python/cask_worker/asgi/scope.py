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

The payload is split as bytes, once: bytes fields (headers, raw_path, query_string) are
slices of it as they are, and only the few text fields are decoded, as UTF-8 with undecodable
bytes replaced (as uvicorn does). The environ dict itself is built only when something asks
for it (an error report, the development error page).
"""

__all__ = ["parse_environ", "read_scope", "ASGI_VERSION"]

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}

_VERSIONS = {b"HTTP/1.1": "1.1", b"HTTP/1.0": "1.0", b"HTTP/2": "2", b"HTTP/2.0": "2"}
# The variables the scope needs besides HTTP_*, each to its slot in `found`.
_SLOTS = {
    b"REQUEST_METHOD": 0, b"SCRIPT_NAME": 1, b"PATH_INFO": 2, b"RAW_URI": 3,
    b"QUERY_STRING": 4, b"SERVER_PROTOCOL": 5, b"wsgi.url_scheme": 6, b"REMOTE_ADDR": 7,
    b"REMOTE_PORT": 8, b"SERVER_NAME": 9, b"SERVER_PORT": 10, b"CONTENT_TYPE": 11,
    b"CONTENT_LENGTH": 12, b"HTTP_SEC_WEBSOCKET_PROTOCOL": 13,
}
# What each variable name is for the scope: a header name (bytes), a slot of `found` (int), or
# False for a variable the scope does not use. Learnt once per name, then one lookup.
_keys = {}


def _learn(key):
    slot = _SLOTS.get(key)
    if slot is not None:
        kind = slot
    elif key[:5] == b"HTTP_":
        kind = key[5:].lower().replace(b"_", b"-")
    else:
        kind = False
    if len(_keys) < 1024:
        _keys[key] = kind
    return kind


def parse_environ(payload):
    """A REQUEST payload as a dict of native strings (one decode, one split)."""
    if not payload:
        return {}
    parts = payload.decode("latin-1").split("\0")
    pairs = iter(parts)
    return dict(zip(pairs, pairs))


def _text(raw):
    return raw.decode("utf-8", "replace")


def read_scope(payload, state=None, websocket=False):
    """The scope of the request whose REQUEST (or WEBSOCKET) payload this is."""
    parts = iter(bytes(payload).split(b"\0") if payload else ())
    headers = []
    append = headers.append
    found = [b""] * 14
    keys = _keys
    for key, value in zip(parts, parts):
        kind = keys.get(key)
        if kind is None:
            kind = _learn(key)
        if kind.__class__ is bytes:
            append((kind, value))
        elif kind is not False:
            found[kind] = value
            if kind == 13:  # Sec-WebSocket-Protocol is a header too
                append((b"sec-websocket-protocol", value))
    if found[11]:
        append((b"content-type", found[11]))
    if found[12]:
        append((b"content-length", found[12]))
    root_path = _text(found[1])
    raw_uri = found[3] or found[2]
    query = raw_uri.find(b"?")
    remote, remote_port, server_port = found[7], found[8], found[10]
    scope = {
        # Fresh dicts for every request: middleware may add to them.
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": _VERSIONS.get(found[5], "1.1"),
        "path": root_path + _text(found[2]),
        "raw_path": raw_uri if query < 0 else raw_uri[:query],
        "query_string": found[4],
        "root_path": root_path,
        "headers": headers,
        "client": (remote.decode("latin-1"), int(remote_port))
        if remote and remote_port.isdigit() else None,
        "server": (found[9].decode("latin-1"), int(server_port) if server_port.isdigit() else None),
    }
    if state is not None:
        # ASGI lifespan "state": each request gets a shallow copy of what startup put there.
        scope["state"] = state.copy()
    if websocket:
        scope["type"] = "websocket"
        scope["scheme"] = "wss" if found[6] == b"https" else "ws"
        scope["subprotocols"] = [p.strip() for p in found[13].decode("latin-1").split(",")
                                 if p.strip()]
        # `websocket.http.response`: a refused handshake answered with the app's own response.
        scope["extensions"] = {"websocket.http.response": {}}
    else:
        scope["type"] = "http"
        scope["method"] = found[0].decode("latin-1") or "GET"
        scope["scheme"] = found[6].decode("latin-1") or "http"
        # `http.response.pathsend`: the app names a file and the front sends it (SENDFILE).
        scope["extensions"] = {"http.response.pathsend": {}}
    return scope
