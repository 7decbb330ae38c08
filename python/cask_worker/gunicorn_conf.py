"""Reads a gunicorn config file for the front: `python -m cask_worker.gunicorn_conf LOCATION`.

A gunicorn config file is Python: its settings are the module's globals, computed when it
runs (`workers = multiprocessing.cpu_count() * 2 + 1`). The front is Node, so it runs this
once at start with the configured interpreter, and maps what it prints onto its own
settings (src/config/gunicorn.ts). The file is run as gunicorn runs it
(gunicorn/app/base.py, `get_config_from_filename`): as a module named `__config__`, with
the working directory (`--chdir`) first on `sys.path`, from

    PATH or file:PATH     a file; any name (`gunicorn.conf.py`, `gunicorn.conf`)
    python:MODULE         a module found on sys.path

and prints one JSON object on stdout (the file's own prints go to stderr):

    {"file": ABSOLUTE PATH or null, "module": NAME or null,
     "settings": {NAME: VALUE, ...},      every public global but modules
     "env": {NAME: VALUE or null, ...}}   what running the file changed in os.environ

A VALUE is JSON when it can be (tuples become lists); a function or class is
{"$callable": "qualified.name"}; anything else is {"$repr": "repr(...)"}.

Exit status: 0 read; 2 the file does not exist; 3 it raised (the traceback is on stderr).
"""

import argparse
import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import traceback
import types

EXIT_MISSING = 2
EXIT_RAISED = 3
REPR_LIMIT = 200


def encode(value, depth=0):
    """The value as JSON can carry it, for the front to check against gunicorn's settings."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth < 8 and isinstance(value, (list, tuple)):
        return [encode(item, depth + 1) for item in value]
    if depth < 8 and isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {key: encode(item, depth + 1) for key, item in value.items()}
    if callable(value):
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        module = getattr(value, "__module__", None)
        if name and module and module != "__config__":
            name = "%s.%s" % (module, name)
        return {"$callable": name or repr(value)[:REPR_LIMIT]}
    return {"$repr": repr(value)[:REPR_LIMIT]}


def run_file(path):
    """Runs the file as gunicorn does and returns its globals."""
    name = "__config__"
    if os.path.splitext(path)[1] in (".py", ".pyc"):
        spec = importlib.util.spec_from_file_location(name, path)
    else:
        # gunicorn reads a file of any name as Python source (with a warning).
        loader = importlib.machinery.SourceFileLoader(name, path)
        spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return vars(module)


def read(location):
    """(file, module, globals) of a gunicorn config location."""
    if location.startswith("python:"):
        module_name = location[len("python:"):]
        return None, module_name, vars(importlib.import_module(module_name))
    path = location[len("file:"):] if location.startswith("file:") else location
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    return path, None, run_file(path)


def settings_of(namespace):
    out = {}
    for key, value in namespace.items():
        if key.startswith("_") or isinstance(value, types.ModuleType):
            continue
        out[key] = encode(value)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cask_worker.gunicorn_conf")
    parser.add_argument("location", metavar="LOCATION")
    parser.add_argument("--chdir", metavar="DIR")
    args = parser.parse_args(argv)
    if args.chdir:
        os.chdir(args.chdir)
    # gunicorn puts its working directory first on sys.path before it reads the file, so
    # the file may import the project's own modules.
    here = os.getcwd()
    sys.path[:] = [here] + [d for d in sys.path if d not in (here, "")]
    before = dict(os.environ)
    stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        path, module, namespace = read(args.location)
    except FileNotFoundError as missing:
        sys.stderr.write("no such file: %s\n" % missing)
        return EXIT_MISSING
    except BaseException:
        sys.stderr.write(traceback.format_exc())
        return EXIT_RAISED
    finally:
        sys.stdout = stdout
    env = {k: v for k, v in os.environ.items() if before.get(k) != v}
    env.update({k: None for k in before if k not in os.environ})
    result = {"file": path, "module": module, "settings": settings_of(namespace), "env": env}
    stdout.write(json.dumps(result) + "\n")
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
