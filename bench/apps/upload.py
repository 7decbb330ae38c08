"""Scenario upload: the app reads the whole request body (10 MB in the default load) in
256 KiB reads, as a form or file upload handler would, and answers with the byte count."""


def application(environ, start_response):
    stream = environ["wsgi.input"]
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    total = 0
    while remaining > 0:
        chunk = stream.read(min(262144, remaining))
        if not chunk:
            break
        total += len(chunk)
        remaining -= len(chunk)
    body = b"%d\n" % total
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
