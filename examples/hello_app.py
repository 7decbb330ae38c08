"""The example app `cask serve` runs when no APP is given: a page that shows the request it
received, which is also a quick way to see what a WSGI app gets from Cask."""

import html
import sys

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;width:100%}td{border-bottom:1px solid #ddd;padding:.3rem .5rem;"
    "vertical-align:top;font-family:ui-monospace,monospace;font-size:.9rem}td:first-child{white-space:nowrap}"
)


def application(environ, start_response):
    body_size = 0
    stream = environ["wsgi.input"]
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        body_size += len(chunk)
    rows = []
    for key in sorted(environ):
        value = environ[key]
        if not isinstance(value, str):
            value = repr(value)
        rows.append(
            "<tr><td>%s</td><td>%s</td></tr>" % (html.escape(key), html.escape(value))
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Cask</title>"
        "<style>%s</style></head><body><h1>Hello from Cask</h1>"
        "<p>%s %s — Python %s, body %d bytes</p><table>%s</table></body></html>"
        % (
            STYLE,
            html.escape(environ["REQUEST_METHOD"]),
            html.escape(environ.get("RAW_URI", environ["PATH_INFO"])),
            sys.version.split()[0],
            body_size,
            "".join(rows),
        )
    ).encode("utf-8")
    start_response(
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))],
    )
    return [page]
