"""The worker's state and the functions it binds before any user code runs (see worker.py).

Part of the worker's source: `jail.worker_source` joins the worker_*.py parts and worker.py into
the one program the jail runs with ``python -I -B -c``; imports between the parts are dropped
there (the parts share one namespace in the jail), so each part also runs as a host module in
tests and type checks.
"""

import _json
import os
import sys

# What the worker itself compiles, runs and encodes with, bound before any code runs: code that
# replaces builtins.compile or json.dumps must not change how a later request is run or what
# its result line says (the Verifier's tests run as a later request of the candidate's session).
_COMPILE, _EXEC, _EVAL = compile, exec, eval


def _not_json(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _JsonOptions:
    """What json's C scanner reads from a JSONDecoder: its defaults. The worker uses the C
    encoder and scanner json itself uses, without importing json (and re, which json's pure
    Python parts load): a session's start waits for the worker's imports."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int = float, int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"),
                      "NaN": float("nan")}.__getitem__


# json.JSONEncoder().encode and json.JSONDecoder().decode, as the C accelerator runs them.
_ENCODE = _json.make_encoder({}, _not_json, _json.encode_basestring_ascii, None, ": ", ", ",
                             False, False, True)
_SCAN = _json.make_scanner(_JsonOptions())  # type: ignore[arg-type]  # a context, duck-typed


def _DUMPS(value):  # noqa: N802 - named like the constant it replaced
    if isinstance(value, str):
        return _json.encode_basestring_ascii(value)
    return "".join(_ENCODE(value, 0))


def _LOADS(text):  # noqa: N802
    text = text.strip(" \t\n\r")
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        raise ValueError("not a JSON document") from None
    if end != len(text):
        raise ValueError("extra data after the JSON document")
    return value

WORKER_FILENAME = sys.argv[0] if sys.argv and sys.argv[0] != "-c" else "<string>"


class CPUTimeLimitExceeded(BaseException):
    """The execution used up its CPU-time budget (RLIMIT_CPU). Not an Exception: a blanket
    ``except Exception`` in user code must not swallow it."""


class _State:
    running = False
    cpu_budget = 60
    output_bytes = 1024 * 1024
    count = 0
    workdir = "."
    shown = None  # the running execution's display() outputs (None between executions)
    shown_bytes = 0  # their size so far: past output_bytes, display() drops and counts
    dropped = 0

def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
