"""How the worker describes a failed execution: the exception's text, its traceback without the
worker's frames, and the failing frame's variables, each bounded (part of the worker's source).
"""

import sys
import types

from agentcode.sandbox.local.worker_state import _COMPILE, WORKER_FILENAME, _State, _write_all


def _format_exception(exc):
    """The traceback as `python script.py` prints it, without the worker's own frames; never
    raises (the code's exception may break str(), __format__ or its own attributes)."""
    try:
        return _traceback_text(exc)
    except BaseException:  # noqa: BLE001 - user code: every failure is data
        return f"{_type_name(exc)}: <the traceback could not be formatted>\n"


def _traceback_text(exc):
    import traceback

    report = traceback.TracebackException.from_exception(exc)
    pending, seen = [report], set()
    while pending:
        part = pending.pop()
        if part is None or id(part) in seen:
            continue
        seen.add(id(part))
        frames = [f for f in part.stack if f.filename != WORKER_FILENAME]
        part.stack = traceback.StackSummary.from_list(frames)
        pending += [part.__cause__, part.__context__]
    return "".join(report.format())


def _type_name(obj):
    """The class's own name (a metaclass cannot swap in a property that raises)."""
    try:
        name = vars(type)["__name__"].__get__(type(obj))
        return name if type(name) is str else "object"
    except BaseException:  # noqa: BLE001 - whatever the class does, the worker goes on
        return "object"


def _text(obj, limit):
    """``str(obj)``, cut to ``limit``: never raises (a ``__str__`` or ``__format__`` that raises
    or returns no str is the code's failure, not the worker's), never unbounded."""
    try:
        text = str(obj)
        if type(text) is not str:
            text = str.__str__(text)
    except BaseException:  # noqa: BLE001 - user code: every failure is data
        text = f"<{_type_name(obj)} object: str() failed>"
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    return text


def _write_err(text):
    """To the code's stderr, whatever the code did to sys.stderr."""
    try:
        sys.stderr.write(text)
    except BaseException:  # noqa: BLE001 - a replaced or closed stderr
        try:  # noqa: SIM105 - no contextlib import (start-up cost)
            _write_all(2, text.encode("utf-8", "replace"))
        except OSError:
            pass


def _error(exc, text, filename=None):
    limit = _State.output_bytes
    error = {"name": _type_name(exc), "value": _text(exc, limit), "traceback": _text(text, limit)}
    if filename is not None:
        error["frame_locals"] = _frame_locals(exc, filename)
    return error


# The failing frame's variables, shown to a repair (what the program saw: `row = {'r': 'e'}`
# makes a csv.DictReader over a string obvious). Bounded: they go back into a model's prompt.
LOCALS_COUNT = 10
LOCALS_CHARS = 120


def _frame_locals(exc, filename):
    """name -> short repr of the variables of the innermost frame of the user's program
    (``filename``), those on the failing line first; modules, functions, classes and dunder
    names left out. {} when no frame is the program's or anything goes wrong."""
    import re
    import reprlib

    try:
        frame, line = None, ""
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == filename:
                frame = tb.tb_frame
                import linecache

                line = linecache.getline(filename, tb.tb_lineno)
            tb = tb.tb_next
        if frame is None:
            return {}
        shown = reprlib.Repr()
        shown.maxstring = shown.maxother = LOCALS_CHARS - 20
        shown.maxlist = shown.maxtuple = shown.maxdict = shown.maxset = 6
        shown.maxlevel = 3
        on_line = set(re.findall(r"[A-Za-z_]\w*", line))
        names = [n for n in frame.f_locals if not n.startswith("__")]
        names.sort(key=lambda n: n not in on_line)  # stable: first-bound order otherwise
        out = {}
        for name in names:
            value = frame.f_locals[name]
            if isinstance(value, (types.ModuleType, types.FunctionType, type,
                                  types.BuiltinFunctionType, types.MethodType)):
                continue
            try:
                text = shown.repr(value)
            except Exception:  # noqa: BLE001 - a broken __repr__ is the user's
                text = f"<{type(value).__name__} object>"
            out[name] = text if len(text) <= LOCALS_CHARS else text[: LOCALS_CHARS - 3] + "..."
            if len(out) >= LOCALS_COUNT:
                break
        return out
    except BaseException:  # noqa: BLE001 - a late interrupt: the error itself still goes back
        return {}


def _compile(code, filename):
    """Split the code like a notebook cell: the statements, and a last bare expression."""
    import _ast  # not ast: its imports (enum, contextlib, ...) delayed every first execution

    _remember_source(filename, code)
    tree = _COMPILE(code, filename, "exec", _ast.PyCF_ONLY_AST)
    last = None
    # A trailing ';' silences the value, as in IPython.
    if tree.body and isinstance(tree.body[-1], _ast.Expr) and not code.rstrip().endswith(";"):
        last = _ast.Expression(tree.body.pop().value)
    body = _COMPILE(tree, filename, "exec")
    return body, (_COMPILE(last, filename, "eval") if last is not None else None)


# Sources of the executions so far, for a linecache not imported yet (`_remember_source`).
_SOURCES: dict = {}


def _remember_source(filename, code):
    """The code's lines, for tracebacks and `inspect.getsource`: into linecache's cache, or,
    while nothing has imported linecache (it loads tokenize and re: ~5 ms of every session's
    first execution), kept here and handed to it when it is imported (`_restore_sources`)."""
    entry = (len(code), None, code.splitlines(True), filename)
    linecache = sys.modules.get("linecache")
    if linecache is not None and isinstance(getattr(linecache, "cache", None), dict):
        linecache.cache[filename] = entry
    else:
        _SOURCES[filename] = entry


def _restore_sources(linecache):
    linecache.cache.update(_SOURCES)
    _SOURCES.clear()
