"""Turn an app spec into a WSGI or ASGI callable, the way gunicorn reads its APP_MODULE.

    module                  module.application, else module.app
    module:name             an attribute
    module:obj.wsgi_app     an attribute path
    module:create_app(1, debug=True)   a factory called with literal arguments
    path/to/file.py:name    a file, imported under its own name with its folder on sys.path

Factory arguments go through ast.literal_eval only: a spec comes from a command line or a
config file, and must never run code beyond the app's own import.
"""

import ast
import importlib
import inspect
import os
import sys

from .errors import AppLoadError

DEFAULT_NAMES = ("application", "app")


def load_app(spec):
    """Import the module named by `spec` and return the WSGI callable."""
    module_part, sep, object_part = spec.partition(":")
    module_part = module_part.strip()
    object_part = object_part.strip()
    if not module_part:
        raise AppLoadError("App spec has no module: %r" % spec)
    if sep and not object_part:
        raise AppLoadError("App spec has nothing after the colon: %r" % spec)
    module = import_target(module_part)
    label = module.__name__
    if not object_part:
        for name in DEFAULT_NAMES:
            if hasattr(module, name):
                return check_callable(getattr(module, name), "%s:%s" % (label, name))
        raise AppLoadError(
            "Module %r has no 'application' or 'app' attribute: name one with %s:NAME"
            % (label, module_part))
    path, call = parse_object(object_part)
    target = module
    for index, name in enumerate(path):
        try:
            target = getattr(target, name)
        except AttributeError:
            where = label if index == 0 else "%s:%s" % (label, ".".join(path[:index]))
            raise AppLoadError("Failed to find attribute %r in %r" % (name, where)) from None
    where = "%s:%s" % (label, ".".join(path))
    if call is not None:
        args, kwargs = call
        if not callable(target):
            raise AppLoadError("Factory %s is not callable: %s" % (where, type(target).__name__))
        target = target(*args, **kwargs)
        where = "%s:%s" % (label, object_part)
    return check_callable(target, where)


def check_callable(obj, where):
    if not callable(obj):
        raise AppLoadError(
            "Application object must be callable: %s is %s" % (where, type(obj).__name__))
    return obj


def import_target(module_part):
    """A dotted module name, or a path to a .py file relative to the cwd."""
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        return import_file(module_part)
    return importlib.import_module(module_part)


def import_file(file_part):
    path = os.path.abspath(file_part)
    if not path.endswith(".py"):
        raise AppLoadError("App file must end in .py: %r" % file_part)
    if not os.path.isfile(path):
        raise AppLoadError("App file not found: %r (looked at %s)" % (file_part, path))
    folder, filename = os.path.split(path)
    name = filename[:-3]
    if not name.isidentifier():
        raise AppLoadError("App file name is not a module name: %r" % filename)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module = importlib.import_module(name)
    loaded = getattr(module, "__file__", None)
    # A module of that name imported earlier (or one of the stdlib) would shadow the file.
    if not loaded or not _same_file(loaded, path):
        raise AppLoadError(
            "App file %s is shadowed by the module %r already at %s: rename the file"
            % (path, name, loaded or "(built in)"))
    return module


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def parse_object(text):
    """'obj.attr' -> (['obj', 'attr'], None); 'f(1, x=2)' -> (['f'], ((1,), {'x': 2}))."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError as error:
        raise AppLoadError("App spec is not a name or a call: %r (%s)" % (text, error.msg)) from None
    call = None
    if isinstance(node, ast.Call):
        call = _literal_arguments(node, text)
        node = node.func
    path = _attribute_path(node)
    if path is None:
        raise AppLoadError(
            "App spec must be a name, an attribute path or a call of one: %r" % text)
    return path, call


def _attribute_path(node):
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    names.append(node.id)
    names.reverse()
    return names


def _literal_arguments(call, text):
    args = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            raise AppLoadError("App factory arguments cannot use *: %r" % text)
        args.append(_literal(arg, text))
    kwargs = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise AppLoadError("App factory arguments cannot use **: %r" % text)
        kwargs[keyword.arg] = _literal(keyword.value, text)
    return tuple(args), kwargs


def _literal(node, text):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        source = _source(node, text)
        raise AppLoadError(
            "App factory arguments must be Python literals: %s in %r" % (source, text)) from None


def _source(node, text):
    segment = getattr(ast, "get_source_segment", None)
    found = segment(text, node) if segment is not None else None
    return found if found else type(node).__name__


def app_interface(app, wanted="auto"):
    """'asgi' or 'wsgi': `wanted` unless it is 'auto', else what the callable looks like.

    An ASGI 3 app is a coroutine function, or an object whose __call__ is one (Starlette,
    FastAPI, Django's ASGIHandler, most middleware). Anything else is taken for WSGI: an
    ASGI app hidden behind a plain function (a decorator without functools.wraps, say)
    needs `--interface asgi`. A class is never taken for ASGI: calling it builds an
    instance, which is ASGI 2, and ASGI 2 is not served.
    """
    if wanted in ("asgi", "wsgi"):
        return wanted
    if isinstance(app, type):
        return "wsgi"
    if inspect.iscoroutinefunction(app):
        return "asgi"
    call = getattr(type(app), "__call__", None)
    return "asgi" if call is not None and inspect.iscoroutinefunction(call) else "wsgi"
