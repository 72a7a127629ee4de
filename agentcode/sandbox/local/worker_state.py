"""The worker's state and the functions it binds before any user code runs (see worker.py).

Part of the worker's source: `jail.worker_source` joins the worker_*.py parts and worker.py into
the one program the jail runs with ``python -I -B -c``; imports between the parts are dropped
there (the parts share one namespace in the jail), so each part also runs as a host module in
tests and type checks.
"""

import json
import os
import sys

# What the worker itself compiles, runs and encodes with, bound before any code runs: code that
# replaces builtins.compile or json.dumps must not change how a later request is run or what
# its result line says (the Verifier's tests run as a later request of the candidate's session).
_COMPILE, _EXEC, _EVAL = compile, exec, eval
_DUMPS = json.JSONEncoder().encode
_LOADS = json.JSONDecoder().decode

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
