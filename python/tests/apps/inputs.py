"""Runs the wsgi.input calls named in QUERY_STRING and reports what each returned.

    ?read:3,readline,readline:2,read,read:-1,read:none,readlines,readlines:5,iter
"""

import json


def application(environ, start_response):
    stream = environ["wsgi.input"]
    results = []
    for op in environ.get("QUERY_STRING", "").split(","):
        name, _, arg = op.partition(":")
        args = () if not arg else ((None,) if arg == "none" else (int(arg),))
        if name == "iter":
            value = list(stream)
        else:
            value = getattr(stream, name)(*args)
        if isinstance(value, list):
            results.append([v.decode("latin-1") for v in value])
        else:
            results.append(value.decode("latin-1"))
    data = json.dumps(results).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [data]
