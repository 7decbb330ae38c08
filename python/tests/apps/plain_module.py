"""A module whose WSGI callable is `application`: spec `plain_module` alone loads it."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"plain application"]


def app(environ, start_response):
    raise AssertionError("`application` wins over `app`")
