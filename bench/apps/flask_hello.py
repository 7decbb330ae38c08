"""Scenarios flask-hello and flask-browser: the hello app written in Flask, as most Python
web apps are, so the figures include a framework's routing, request and response objects
on top of the server. Every path answers (the browser shape asks for /search?...)."""

from flask import Flask, Response

app = Flask(__name__)


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def hello(path):
    return Response("Hello, World!", mimetype="text/plain")


application = app
