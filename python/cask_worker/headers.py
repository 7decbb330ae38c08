"""Checks on what an app passes to start_response, and the head bytes that result.

Everything that reaches the link has been checked here, so the front never forwards a
status line or header an app got wrong (response splitting, hop-by-hop fields; PEP 3333
"Other HTTP Features" and RFC 9110 section 5). A failed check raises inside the app's
start_response call, which the runner turns into a 500.

Status lines and header names repeat across requests, so the ones that passed are kept in
small sets and checked again by one lookup; values vary and get one C-level scan each.
"""

import re

# RFC 9110 section 7.6.1 and 9112 section 9.6: connection-specific fields end at the
# front; PEP 3333 forbids apps from sending them. "Trailers" is not a field but a common
# misspelling of "Trailer", refused too.
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade",
))

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z").match
# RFC 9110 section 5.5: field values and reason phrases are VCHAR, SP, HTAB and obs-text.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]").search

# Far above what any client or proxy accepts (nginx buffers 4-8 KiB of response head),
# and small enough that a HEAD frame always has room for a body chunk.
MAX_HEAD_SIZE = 1024 * 1024

_CACHE_LIMIT = 1024
_good_statuses = set()
_good_names = set()


def head_bytes(status, headers):
    """Validate status and headers; return the NUL-joined latin-1 head of a HEAD frame."""
    if status not in _good_statuses:
        check_status(status)
    if not isinstance(headers, list):
        raise TypeError(
            "Response headers must be a list of (name, value) tuples: got %s"
            % type(headers).__name__)
    parts = [status]
    append = parts.append
    for item in headers:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError(
                "Each response header must be a (name, value) tuple: got %r" % (item,)) from None
        if name not in _good_names:
            check_name(name)
        if type(value) is not str and not isinstance(value, str):
            raise TypeError("Header value must be a str: %s: %r" % (name, value))
        # isprintable() is one C pass that is true for almost every real value; only
        # the rest (tabs, latin-1 extras, or a real control character) pay for the regex.
        if not value.isprintable() and _CONTROL(value) is not None:
            raise ValueError(
                "Header value contains a control character (CR, LF, NUL...): %s: %r"
                % (name, value))
        append(name)
        append(value)
    try:
        head = "\0".join(parts).encode("latin-1")
    except UnicodeEncodeError:
        _raise_not_latin1(headers)
        raise
    if len(head) > MAX_HEAD_SIZE:
        raise ValueError("Response headers too large: %d bytes (max %d)" % (len(head), MAX_HEAD_SIZE))
    return head


def check_status(status):
    if not isinstance(status, str):
        raise TypeError("Status must be a str like '200 OK': got %r" % (status,))
    code = status[:3]
    if len(code) != 3 or not all("0" <= c <= "9" for c in code) or code[0] == "0":
        raise ValueError("Status must start with a three-digit code: %r" % status)
    if status[3:4] != " ":
        raise ValueError("Status must be a code, a space and a reason like '200 OK': %r" % status)
    if _CONTROL(status) is not None:
        raise ValueError("Status contains a control character (CR, LF, NUL...): %r" % status)
    try:
        status.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("Status must be latin-1 text: %r" % status) from None
    if len(_good_statuses) < _CACHE_LIMIT:
        _good_statuses.add(status)


def check_name(name):
    if not isinstance(name, str):
        raise TypeError("Header name must be a str: %r" % (name,))
    if _TOKEN(name) is None:
        raise ValueError("Header name is not a valid HTTP token: %r" % name)
    if name.lower() in HOP_BY_HOP:
        raise ValueError("Hop-by-hop header not allowed from a WSGI app (PEP 3333): %r" % name)
    if len(_good_names) < _CACHE_LIMIT:
        _good_names.add(name)


def _raise_not_latin1(headers):
    for name, value in headers:
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(
                "Header value must be latin-1 text (encode it, e.g. RFC 8187): %s: %r"
                % (name, value)) from None


def content_length(headers):
    """The app's Content-Length: None when absent, -1 when it is not a plain number."""
    for name, value in headers:
        if len(name) == 14 and name.lower() == "content-length":
            value = value.strip()
            if value.isdigit() and value.isascii():
                return int(value)
            return -1
    return None
