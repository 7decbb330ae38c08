"""One app that mounts every fixture app, so a test class shares one worker process.

/echo, /validated, /inputs, /fail/NAME, /stream/NAME, /files/NAME, /slow/NAME.
"""

import echo
import failing
import files
import inputs
import slow
import streaming


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    parts = path.strip("/").split("/")
    if parts[0] == "echo":
        return echo.application(environ, start_response)
    if parts[0] == "validated":
        return echo.validated(environ, start_response)
    if parts[0] == "inputs":
        return inputs.application(environ, start_response)
    modules = {"fail": failing, "stream": streaming, "files": files, "slow": slow}
    if parts[0] in modules and len(parts) == 2:
        return getattr(modules[parts[0]], parts[1])(environ, start_response)
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no fixture at " + path.encode("latin-1")]
