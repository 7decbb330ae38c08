"""Fails at import time: the worker must report LOAD_ERROR and exit 4."""

raise RuntimeError("this app cannot even be imported")
