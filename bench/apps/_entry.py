"""Entry point every server loads in `cask bench`: imports the app named by
$CASKBENCH_APP ("module:callable" or "path/to/file.py:callable", like gunicorn) and wraps
it in the inside-view middleware. One entry for every server keeps the commands identical
apart from the server itself, and lets the bench measure a user's own app the same way.

The variables are named CASKBENCH_*, not CASK_BENCH_*: Cask reads CASK_* variables as its
own settings, and the server under test must not see the bench's plumbing."""

import importlib
import importlib.util
import os
import sys

from _inside import wrap


def _load(spec):
    target, _, name = spec.rpartition(":")
    if not target:
        target, name = spec, "application"
    if target.endswith(".py") or os.sep in target:
        path = os.path.abspath(target)
        sys.path.insert(0, os.path.dirname(path))
        mod_spec = importlib.util.spec_from_file_location("_cask_bench_target", path)
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    obj = module
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


_dir = os.environ.get("CASKBENCH_APP_DIR")
if _dir and _dir not in sys.path:
    sys.path.insert(0, _dir)

application = wrap(_load(os.environ.get("CASKBENCH_APP", "hello:application")))
