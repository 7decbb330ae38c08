"""The development error page: an exception as an HTML page (or JSON), built from its
traceback object with the standard library alone.

Only a worker started with `--debug-pages` (by `cask dev`) builds one; `cask serve` never
starts such a worker. The front decides who may see the page (a loopback Host from a
loopback peer, or a host listed in `--dev-allowed-hosts`); everyone else gets a plain 500.

What a page holds, for each exception of the chain (`raise ... from`, and exceptions raised
while handling another), oldest first:

    exception type and message
    each frame: file, line, function, the source around the line, the local variables
    the plain traceback, as the error log has it, for copying

Frames and locals can hold secrets, so a local (or a dict entry) whose name looks like one
(password, token, cookie, ...) is shown as `********`, and every value's repr is cut to
MAX_REPR characters. Building a page never raises: it runs the app's own __repr__ methods,
and any failure there is shown in place of the value.
"""

import html
import json
import linecache
import os
import re
import reprlib
import secrets
import sys
import traceback

from . import protocol as p
from .sources import is_library

MAX_REPR = 300
CONTEXT = 5          # lines of source shown each side of the frame's line
MAX_FRAMES = 60      # per exception: the outermost and innermost ones are kept
MAX_LOCALS = 60      # per frame
MAX_CHAIN = 5        # exceptions in a chain
MASK = "********"
SECRET = re.compile(
    r"pass|pwd|secret|token|api_?key|access_?key|private|credential|auth|cookie|session"
    r"|signature|csrf|salt",
    re.IGNORECASE)
WORKER_DIR = os.path.dirname(os.path.abspath(__file__))

PAGE_HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
]
# Inline style, the console's script (its nonce added), and same-origin scripts and
# connections: `--reload-browser` adds /__cask__/reload.js, which listens to the server.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'"


def is_secret(name):
    return isinstance(name, str) and SECRET.search(name) is not None


class SafeRepr(reprlib.Repr):
    """reprlib with short limits, and the values of secret-looking dict keys masked (the
    WSGI environ holds HTTP_COOKIE and HTTP_AUTHORIZATION)."""

    def __init__(self):
        reprlib.Repr.__init__(self)
        self.maxlevel = 3
        self.maxdict = 30
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = 30
        self.maxstring = 160
        self.maxlong = 60
        self.maxother = 160

    def repr_dict(self, x, level):
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        pieces = []
        for index, key in enumerate(x):
            if index >= self.maxdict:
                pieces.append("...")
                break
            value = MASK if is_secret(key) else self.repr1(x[key], level - 1)
            pieces.append("%s: %s" % (self.repr1(key, level - 1), value))
        return "{%s}" % ", ".join(pieces)


_repr = SafeRepr()


def safe_repr(value):
    try:
        text = _repr.repr(value)
    except BaseException as error:  # an app's __repr__ may raise anything
        text = "<repr() failed: %s>" % type(error).__name__
    return text if len(text) <= MAX_REPR else text[:MAX_REPR - 3] + "..."


def describe(exc_type, exc):
    name = getattr(exc_type, "__qualname__", None) or getattr(exc_type, "__name__", "Exception")
    module = getattr(exc_type, "__module__", "builtins")
    if module not in ("builtins", "__main__", None):
        name = "%s.%s" % (module, name)
    try:
        message = str(exc)
    except BaseException:
        message = "<str() failed>"
    return name, message


def _source(filename, lineno, module_globals):
    """[(number, text)] around `lineno`, fresh from disk (the file may have just changed)."""
    if not filename or filename.startswith("<"):
        return []
    linecache.checkcache(filename)
    lines = linecache.getlines(filename, module_globals)
    start = max(1, lineno - CONTEXT)
    end = min(len(lines), lineno + CONTEXT)
    return [(n, lines[n - 1].rstrip("\r\n")) for n in range(start, end + 1)]


def _frame(frame, lineno):
    code = frame.f_code
    filename = code.co_filename
    names = []
    try:
        items = list(frame.f_locals.items())
    except BaseException:
        items = []
    if frame.f_locals is frame.f_globals:
        # A module's top level: its globals, less the interpreter's own `__name__` and kin.
        items = [(k, v) for k, v in items if not (k.startswith("__") and k.endswith("__"))]
    for name, value in items[:MAX_LOCALS]:
        names.append((name, MASK if is_secret(name) else safe_repr(value)))
    if len(items) > MAX_LOCALS:
        names.append(("...", "%d more" % (len(items) - MAX_LOCALS)))
    return {
        "file": filename,
        "line": lineno,
        "function": getattr(code, "co_qualname", code.co_name),
        "library": is_library(filename),
        "source": _source(filename, lineno, frame.f_globals),
        "locals": names,
    }


def _frames(tb, offset):
    """The frames of one traceback, numbered from `offset` across the whole chain in the
    order console.Consoles.keep() numbers them (before any are left out)."""
    frames = []
    while tb is not None:
        frame = tb.tb_frame
        # The worker's own frames (the call into the app) say nothing about the error.
        if not frame.f_code.co_filename.startswith(WORKER_DIR + os.sep):
            frames.append((frame, tb.tb_lineno, offset + len(frames)))
        tb = tb.tb_next
    count = len(frames)
    if count > MAX_FRAMES:
        half = MAX_FRAMES // 2
        frames = frames[:half] + frames[-half:]
    out = []
    for frame, lineno, index in frames:
        info = _frame(frame, lineno)
        info["index"] = index
        out.append(info)
    return out, count


def _chain(exc):
    """The exception and the ones behind it, oldest first, as Python prints them."""
    chain = []
    seen = set()
    while exc is not None and id(exc) not in seen and len(chain) < MAX_CHAIN:
        seen.add(id(exc))
        if exc.__cause__ is not None:
            link = "The above exception was the direct cause of the following exception:"
            nxt = exc.__cause__
        elif exc.__context__ is not None and not exc.__suppress_context__:
            link = "During handling of the above exception, another exception occurred:"
            nxt = exc.__context__
        else:
            link, nxt = None, None
        chain.append((exc, link))
        exc = nxt
    chain.reverse()
    return chain


def _exception(exc, link, offset):
    name, message = describe(type(exc), exc)
    frames, count = _frames(exc.__traceback__, offset)
    if isinstance(exc, SyntaxError) and exc.filename:
        # The code that would not compile has no frame of its own: show it as the last one.
        frames.append({
            "file": exc.filename, "line": exc.lineno or 0, "function": "<module>",
            "library": False, "source": _source(exc.filename, exc.lineno or 0, None),
            "locals": [], "index": None,
        })
    return {"type": name, "message": message, "frames": frames, "link": link, "count": count}


def build(exc_info, environ=None, context=None, consoles=None):
    """Everything the page shows, as a dict (the JSON body is this dict, less `library`)."""
    exc_type, exc, tb = exc_info
    if exc is None:
        exc = exc_type()
    if exc.__traceback__ is None:
        exc.__traceback__ = tb
    name, message = describe(exc_type, exc)
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    if environ is not None:
        context = "while handling %s %s" % (
            environ.get("REQUEST_METHOD", "?"),
            environ.get("RAW_URI") or environ.get("PATH_INFO", "/"))
    exceptions = []
    offset = 0
    for one, link in _chain(exc):
        exceptions.append(_exception(one, link, offset))
        offset += exceptions[-1].pop("count")
    return {
        "console": consoles.keep(exc) if consoles is not None else None,
        "title": "%s: %s" % (name, message) if message else name,
        "type": name,
        "message": message,
        "context": context,
        "exceptions": exceptions,
        "traceback": text,
        "python": "%s %s" % (sys.implementation.name, ".".join(map(str, sys.version_info[:3]))),
    }


def wants_json(environ):
    accept = (environ or {}).get("HTTP_ACCEPT", "")
    return "application/json" in accept and "text/html" not in accept


def render_json(page):
    out = dict(page)
    out.pop("console", None)
    out["exceptions"] = [dict(e, frames=[
        {"file": f["file"], "line": f["line"], "function": f["function"],
         "code": next((t for n, t in f["source"] if n == f["line"]), None),
         "locals": dict(f["locals"])} for f in e["frames"]]) for e in page["exceptions"]]
    return json.dumps({"error": out}, indent=1).encode("utf-8", "backslashreplace")


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#b3261e;color:#fff;padding:16px 24px}
h1{font-size:20px;margin:0 0 4px;word-break:break-word}
header p{margin:0;opacity:.9}
main{padding:8px 24px 40px}
h2{font-size:15px;margin:24px 0 8px}
.link{color:#666;font-style:italic;margin:24px 0 0}
details.frame{background:#fff;border:1px solid #ddd;border-radius:4px;margin:6px 0}
details.frame>summary{cursor:pointer;padding:6px 10px;font-family:ui-monospace,monospace}
details.library>summary{color:#777}
.fn{font-weight:bold}
pre{margin:0;padding:6px 10px;overflow-x:auto;font:12.5px/1.4 ui-monospace,monospace}
.src{background:#f6f6f6;border-top:1px solid #eee}
.src .here{background:#fde2e1;display:block}
.no{color:#999;display:inline-block;width:4em}
table{border-collapse:collapse;margin:4px 10px 10px;font:12.5px ui-monospace,monospace}
td{border-top:1px solid #eee;padding:2px 12px 2px 0;vertical-align:top;word-break:break-all}
td.name{color:#555;white-space:nowrap}
textarea{width:100%;height:18em;font:12px ui-monospace,monospace}
footer{color:#888;font-size:12px;margin-top:24px}
form.console{margin:0 10px 4px}
form.console input{width:100%;box-sizing:border-box;font:12.5px ui-monospace,monospace;padding:4px}
pre.out:empty{display:none}
pre.out{background:#1e1e1e;color:#eee;margin:0 10px 10px;border-radius:3px}
"""


def _e(text):
    return html.escape(str(text), quote=True)


CONSOLE_FORM = (
    '<form class="console" data-frame="%d"><input name="code" autocomplete="off" '
    'spellcheck="false" placeholder="&gt;&gt;&gt; Python in this frame (PIN required)">'
    '</form><pre class="out"></pre>')

# The console's client: a PIN asked once (the front sets a cookie), then each line POSTed
# with the traceback and frame it belongs to. Same origin only (CSP connect-src 'self').
SCRIPT = """
const tb = document.body.dataset.console;
const post = (path, body) => fetch(path, {method: 'POST', credentials: 'same-origin',
  headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
async function unlock() {
  const pin = prompt('Console PIN (printed where cask dev runs):');
  if (pin === null) return false;
  const answer = await post('/__cask__/pin', {pin});
  if (!answer.ok) { alert((await answer.json()).error); return false; }
  return true;
}
for (const form of document.querySelectorAll('form.console')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = form.elements.code, out = form.nextElementSibling, code = input.value;
    const send = () => post('/__cask__/console', {traceback: tb, frame: Number(form.dataset.frame), code});
    let answer = await send();
    if (answer.status === 401 && await unlock()) answer = await send();
    const result = await answer.json();
    out.textContent += '>>> ' + code + '\\n' + (result.output ?? (result.error + '\\n'));
    input.value = '';
  });
}
"""


def _render_frame(frame, innermost, console):
    classes = "frame library" if frame["library"] else "frame"
    opened = " open" if innermost or not frame["library"] else ""
    out = ['<details class="%s"%s><summary>%s, line %d, in <span class="fn">%s</span></summary>'
           % (classes, opened, _e(frame["file"]), frame["line"], _e(frame["function"]))]
    if frame["source"]:
        lines = []
        for number, text in frame["source"]:
            row = '<span class="no">%d</span>%s' % (number, _e(text))
            lines.append('<span class="here">%s</span>' % row if number == frame["line"]
                         else row + "\n")
        out.append('<pre class="src">%s</pre>' % "".join(lines))
    if frame["locals"]:
        out.append("<table>")
        for name, value in frame["locals"]:
            out.append('<tr><td class="name">%s</td><td>%s</td></tr>' % (_e(name), _e(value)))
        out.append("</table>")
    if console and frame["index"] is not None:
        out.append(CONSOLE_FORM % frame["index"])
    out.append("</details>")
    return "".join(out)


def render_html(page, nonce=None):
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        "<title>%s</title><style>%s</style></head>" % (_e(page["title"]), STYLE),
        '<body data-console="%s">' % _e(page["console"]) if page["console"] else "<body>",
        "<header><h1>%s</h1>" % _e(page["title"]),
    ]
    if page["context"]:
        parts.append("<p>%s</p>" % _e(page["context"]))
    parts.append("</header><main>")
    for exc in page["exceptions"]:
        if exc["link"]:
            parts.append('<p class="link">%s</p>' % _e(exc["link"]))
        heading = "%s: %s" % (exc["type"], exc["message"]) if exc["message"] else exc["type"]
        parts.append("<h2>%s</h2>" % _e(heading))
        frames = exc["frames"]
        for index, frame in enumerate(frames):
            parts.append(_render_frame(frame, index == len(frames) - 1, page["console"]))
    parts.append("<h2>Traceback</h2><textarea readonly>%s</textarea>" % _e(page["traceback"]))
    parts.append("<footer>Cask development server, %s. Shown only to local requests; "
                 "cask serve never shows this page.</footer></main></body></html>"
                 % _e(page["python"]))
    if page["console"] and nonce:
        parts.append('<script nonce="%s">%s</script>' % (nonce, SCRIPT))
    return "".join(parts).encode("utf-8", "backslashreplace")


def response(exc_info, environ=None, as_json=None, context=None, consoles=None):
    """The page as an ERROR_PAGE payload (status, headers, body), or None if it could not
    be built. `as_json` None: chosen from the request's Accept."""
    try:
        if as_json is None:
            as_json = wants_json(environ)
        page = build(exc_info, environ, context, None if as_json else consoles)
        policy = CSP
        if as_json:
            body, kind = render_json(page), "application/json"
        else:
            nonce = secrets.token_urlsafe(16) if page["console"] else None
            body, kind = render_html(page, nonce), "text/html; charset=utf-8"
            if nonce:
                policy = policy.replace("script-src 'self'", "script-src 'self' 'nonce-%s'" % nonce)
        headers = [("Content-Type", kind), ("Content-Length", str(len(body))),
                   ("Content-Security-Policy", policy)] + PAGE_HEADERS
        return p.encode_head("500 Internal Server Error", headers, body)
    except BaseException:
        try:
            sys.stderr.write("cask_worker: could not build the error page:\n"
                             + traceback.format_exc())
        except Exception:
            pass
        return None
