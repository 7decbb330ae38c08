"""App factories for spec tests: `factory:create_app('hi', n=2)` and friends."""


def create_app(greeting="hello", n=1, extra=None):
    body = (greeting * n).encode()
    if extra:
        body += b"|" + repr(extra).encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    return app


class Holder:
    def __init__(self):
        self.wsgi_app = create_app("from attribute")


holder = Holder()
not_callable = 42
app = create_app("default app")
