"""Echo app: answers with its environ as JSON (the JSON-able values) and the body it read.

It reads the body with read(CONTENT_LENGTH) only, the one form wsgiref.validate accepts.
"""

import json
from wsgiref.validate import validator


def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    report = {}
    for key, value in environ.items():
        if isinstance(value, (str, int, bool)) or value is None:
            report[key] = value
        elif isinstance(value, tuple):
            report[key] = list(value)
        else:
            report[key] = "<%s>" % type(value).__name__
    report["body"] = body.decode("latin-1")
    data = json.dumps(report, sort_keys=True).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]


validated = validator(application)
