"""The user's tests and check, judged in a fresh Python process (stdlib only, runs in the jail).

`generation.checks.fresh` starts this process from a sandbox worker that no candidate has run
in; the source is test_harness.py's followed by this file's (the import below is dropped). The
setup code, the candidate and then the tests or the check run here, in one ``__main__``
namespace as in the worker. The verdict goes back over a unix socket that only this process's
``_verdict_main`` frame may connect to: an audit hook, installed before any of that code runs,
ends the process when anything else connects to it, and the driver accepts the connection of
this very process only (``SO_PEERCRED``), not of a child it forked. So what the candidate prints,
an exit (``sys.exit(0)``, ``os._exit(0)``) before the tests finished, or a report it writes
itself is no pass.

What the verdict is computed with cannot be changed by the code under test: the runner's
references are bound before it runs, its counts are immutable locals, the test file's
statements are compiled before the first one runs, and after every stage and every test the
dictionaries it relies on (builtins, the modules it uses, its own globals and classes, pytest)
must still hold the same objects. The hook also ends the run when the code sets a trace or
profile function, searches the garbage collector's objects or referrers, lists other threads'
frames, adds an audit hook, calls native code through ctypes, or rewrites a runner or test
function's code or defaults. docs/security.md says what this does not cover.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import linecache
import os
import socket
import sys
import types
from typing import Any

from agentcode.generation.checks.test_harness import (
    _cases,
    _describe,
    _pytest_stand_in,
    _short,
    _Skipped,
)

RUNNER_FILENAME = "<agentcode-verdict>"
PROGRAM_FILENAME = "<stdin>"  # as the worker names a program sent to it
TAMPERED_EXIT = 97
_FORBIDDEN = frozenset({
    "sys.settrace", "sys.setprofile", "sys._current_frames", "sys.addaudithook",
    "gc.get_objects", "gc.get_referrers",
    "ctypes.call_function", "ctypes.PyObj_FromPtr", "ctypes.string_at", "ctypes.wstring_at",
    "ctypes.addressof", "ctypes.cdata", "ctypes.cdata/buffer",
})
_WATCHED = ("builtins", "ast", "contextlib", "io", "json", "linecache", "math", "re", "socket",
            "traceback", "types")
_MISSING = object()


def _plain(path: Any, _type: type = type, _str: Any = str, _bytes: type = bytes,
           _fspath: Any = os.fspath, _isinstance: Any = isinstance) -> str | None:
    """A path as the open will see it ("" for a file descriptor); None when it is no path.
    A path-like object is asked once (an object that answers differently the second time, or
    a patched pathlib, is not caught: docs/security.md)."""
    kind = _type(path)
    if kind is int:
        return ""
    if kind is not _str and kind is not _bytes:
        try:
            path = _fspath(path)
        except Exception:  # noqa: BLE001 - not a path: the open fails anyway
            return None
        kind = _type(path)
    if kind is _bytes:
        return _bytes.decode(path, "utf-8", "surrogateescape")
    return _str.__str__(path) if _isinstance(path, _str) else None


def _guard(report_fd: int, main: types.FrameType, address: bytes, test_file: str) -> Any:
    """The audit hook: any event that could reach or rewrite the runner ends the process."""
    files = (RUNNER_FILENAME, test_file)

    def hook(event: str, args: tuple[Any, ...], _forbidden: frozenset[str] = _FORBIDDEN,
             _write: Any = os.write, _exit: Any = os._exit, _getframe: Any = sys._getframe,
             _function: type = types.FunctionType, _isinstance: Any = isinstance,
             _str: Any = str, _bytes: type = bytes, _memoryview: type = memoryview,
             _type: type = type, _basename: Any = os.path.basename,
             _plain: Any = _plain) -> None:
        why = None
        if event in _forbidden:
            why = event
        elif event in ("object.__setattr__", "object.__delattr__"):
            target = args[0]
            if _isinstance(target, _function) and target.__code__.co_filename in files:
                why = f"{event} {args[1]}"
        elif event == "socket.connect":
            # The address as the socket module reads it (str: encoded; else the buffer): a
            # subclass's own encode() or __bytes__ is never called.
            to = args[1]
            try:
                raw = (_str.encode(to, "utf-8", "surrogateescape") if _isinstance(to, _str)
                       else _memoryview(to).tobytes())
            except Exception:  # noqa: BLE001 - not an address this socket could be given
                raw = b""
            if raw == address and _getframe(1) is not main:
                why = "a connection to the verdict's socket"
        elif event == "import" and _isinstance(args[0], _str) and (
                args[0] in ("ctypes", "_ctypes") or args[0].startswith("ctypes.")):
            # ctypes calls (memmove into any address) raise no audit event: not importable.
            raise ImportError("ctypes is not available while the tests judge the code")
        elif event in ("open", "os.symlink"):
            # Writing /proc/self/mem (or a link to it) would rewrite the runner's memory.
            path = _plain(args[0])
            if path is None:
                why = f"{event} of a {_type(args[0]).__name__}"
            elif (_basename(path) == "mem" if event == "open" else "proc" in path):
                why = f"{event} {path[:100]}"
        if why is not None:
            _write(report_fd, b'{"tampered": "' + why.encode("ascii", "replace") + b'"}\n')
            _exit(TAMPERED_EXIT)

    return hook


def _snapshot(dicts: tuple[Any, ...]) -> tuple[tuple[Any, tuple[tuple[str, Any], ...]], ...]:
    """Each dictionary with its items (the objects held, so none is freed and its id reused)."""
    return tuple((d, tuple(d.items())) for d in dicts)


def _changed(snapshot: tuple[Any, ...], _missing: object = _MISSING) -> str | None:
    """The first name whose object changed since ``snapshot`` (None: all intact)."""
    for mapping, items in snapshot:
        for key, value in items:
            if mapping.get(key, _missing) is not value:
                return str(key)
    return None


def _statements(source: str, filename: str) -> tuple[tuple[Any, tuple[str, ...] | None], ...]:
    """The test file's top level, each statement compiled before any runs (code objects cannot
    be changed by what runs first), with the names an import binds (see _exec_module)."""
    tree = ast.parse(source, filename)
    out = []
    for node in tree.body:
        code = compile(ast.Module(body=[node], type_ignores=[]), filename, "exec")
        names = None
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = tuple((alias.asname or alias.name).split(".")[0] for alias in node.names)
        out.append((code, names))
    return tuple(out)


def _display(*objects: Any, **_: Any) -> None:
    for obj in objects:
        print(repr(obj))


def _failure(stage: str, exc: BaseException, source: str = "",
             filename: str = "") -> dict[str, Any]:
    try:
        name = type(exc).__name__
        value = str(exc)
    except BaseException:  # noqa: BLE001 - the code's own exception may refuse to be shown
        name, value = "Exception", "(an exception that cannot be shown)"
    detail = ""
    if source:
        try:
            detail = _describe(exc, source, filename)
        except BaseException:  # noqa: BLE001 - the description is optional
            detail = ""
    return {"stage": stage, "ok": False, "error": [name[:200], value[:2000]],
            "detail": detail[:4000]}


def _judge(job: dict[str, Any], namespace: dict[str, Any], intact: Any, mark: Any,
           pytest: Any, skip_types: tuple[type, ...], _exec: Any = exec, _eval: Any = eval,
           _compile: Any = compile, _system_exit: type[SystemExit] = SystemExit,
           _base: type[BaseException] = BaseException) -> dict[str, Any]:
    """Run the stages in ``namespace``; the verdict as a dict (``ok`` True only when all
    passed). ``intact()`` names what the code changed, or None."""
    for stage in ("setup", "run"):
        source = job.get(stage)
        if source is None:
            continue
        mark(stage)
        filename = PROGRAM_FILENAME if stage == "run" else "<setup>"
        # So tracebacks show the program's lines, as the worker's do.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            _exec(_compile(source, filename, "exec"), namespace)
        except _system_exit as exc:
            if exc.code not in (None, 0):
                return {"stage": stage, "ok": False, "exit": _short(exc.code)}
        except _base as exc:  # noqa: BLE001 - the code's failure is data
            return _failure(stage, exc)
        changed = intact()
        if changed is not None:
            return {"stage": stage, "ok": False, "tampered": changed}
    tests = job.get("tests")
    if tests is not None:
        mark("tests")
        verdict = _run_tests(tests, job["tests_filename"], namespace, intact, pytest,
                             skip_types)
        if not verdict["ok"]:
            return verdict
    check = job.get("check")
    if check is not None:
        mark("check")
        try:
            value = _eval(_compile(check, "<check>", "eval"), namespace)
            truth = bool(value)
        except _base as exc:  # noqa: BLE001
            return _failure("check", exc)
        changed = intact()
        if changed is not None:
            return {"stage": "check", "ok": False, "tampered": changed}
        if not truth:
            return {"stage": "check", "ok": False, "value": _short(value)}
    return {"ok": True}


def _run_tests(source: str, filename: str, namespace: dict[str, Any], intact: Any,
               pytest: Any, skip_types: tuple[type, ...], _exec: Any = exec,
               _base: type[BaseException] = BaseException,
               _import_error: type[ImportError] = ImportError,
               _len: Any = len) -> dict[str, Any]:
    """test_harness.run_tests, with counts only in immutable locals and the runner's state
    checked after the file's top level and after every test."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    sys.modules["pytest"] = pytest  # whatever the setup or the candidate left there
    try:
        statements = _statements(source, filename)
        for code, names in statements:
            try:
                _exec(code, namespace)
            except _import_error:
                if names is not None and all(name in namespace for name in names):
                    continue
                raise
    except _base as exc:  # noqa: BLE001 - pytest's Failed is a BaseException
        if type(exc) in skip_types:
            return {"ok": True}
        verdict = _failure("tests", exc, source, filename)
        verdict["file"] = True
        return verdict
    changed = intact()
    if changed is not None:
        return {"stage": "tests", "ok": False, "tampered": changed}
    # The modules and functions the test file's names hold (pytest, its helpers) stay them.
    held = ((namespace, tuple(
        (name, value) for name, value in namespace.items()
        if isinstance(value, types.ModuleType) or (
            isinstance(value, types.FunctionType) and value.__code__.co_filename == filename))),)
    plan = tuple(
        (name, func, tuple(tuple(case.items()) for case in _cases(func)))
        for name, func in tuple(namespace.items())
        if name.startswith("test") and callable(func)
        and getattr(func, "__code__", None) is not None
        and func.__code__.co_filename == filename
    )
    failures: tuple[str, ...] = ()
    first = ""
    ran = 0
    for name, func, cases in plan:
        code = func.__code__
        wanted = code.co_varnames[: code.co_argcount]
        for case in cases:
            params = dict(case)
            label = name + (f"[{', '.join(f'{k}={_short(v)}' for k, v in case)}]" if case else "")
            missing = tuple(arg for arg in wanted if arg not in params)
            ran += 1
            if missing:
                failures += (label,)
                first = first or (f"{label}: needs fixture(s) {', '.join(missing)}, which this "
                                  "runner lacks")
                continue
            try:
                func(**params)
            except _base as exc:  # noqa: BLE001 - every failure becomes a report
                if type(exc) in skip_types:
                    ran -= 1
                else:
                    failures += (label,)
                    detail = _failure("tests", exc, source, filename)["detail"]
                    first = first or f"{label} failed: {detail}"
            changed = intact() or _changed(held)
            if changed is not None:
                return {"stage": "tests", "ok": False, "tampered": changed}
    if failures:
        others = f"; also failed: {', '.join(failures[1:6])}" if _len(failures) > 1 else ""
        return {"stage": "tests", "ok": False, "failed": _len(failures), "ran": ran,
                "message": f"{_len(failures)} of {ran} tests failed{others}\n{first}"}
    return {"ok": True, "ran": ran}


def _verdict_main(job: dict[str, Any], report_fd: int, _dumps: Any = json.dumps,
                  _write: Any = os.write, _exit: Any = os._exit, _socket: Any = socket.socket,
                  _unix: int = socket.AF_UNIX, _stream: int = socket.SOCK_STREAM,
                  _base: type[BaseException] = BaseException) -> None:
    """Judge the job and send the verdict; only this frame may connect to the verdict socket."""
    main = sys._getframe()
    address = job["address"].encode("utf-8")
    test_file = job.get("tests_filename") or "<no tests>"

    def mark(stage: str) -> None:
        _write(report_fd, b'{"stage": "' + stage.encode("ascii") + b'"}\n')

    try:
        import pytest  # a real pytest where the sandbox has one, as the harness prefers
        chosen: Any = pytest
        skip_types: tuple[type, ...] = (_Skipped, pytest.skip.Exception)
    except ImportError:
        chosen = _pytest_stand_in()
        skip_types = (_Skipped,)
    user_main = types.ModuleType("__main__")
    namespace = user_main.__dict__
    namespace["__builtins__"] = builtins
    namespace["display"] = _display
    sys.modules["__main__"] = user_main
    sys.argv = [str(arg) for arg in job.get("argv") or ["-"]]
    sys.stdin = io.TextIOWrapper(io.BytesIO(job.get("stdin") or b""),
                                 encoding="utf-8")
    watched = tuple(vars(sys.modules[name]) for name in _WATCHED if name in sys.modules)
    runner = globals()
    classes = tuple(vars(value) for value in runner.values() if isinstance(value, type)
                    and value.__module__ == runner["__name__"])
    snapshot = _snapshot((*watched, runner, *classes, vars(chosen)))

    def intact(_changed: Any = _changed, _snapshot: Any = snapshot, _builtins: Any = builtins,
               _namespace: Any = namespace, _listdir: Any = os.listdir,
               _len: Any = len) -> str | None:
        if _len(_listdir("/proc/self/task")) != 1:  # one could change what the others rely on
            return "a thread the code left running"
        if _namespace.get("__builtins__") is not _builtins:
            return "__builtins__"
        return _changed(_snapshot)

    sys.addaudithook(_guard(report_fd, main, address, test_file))
    try:
        verdict = _judge(job, namespace, intact, mark, chosen, skip_types)
    except _base:  # noqa: BLE001 - e.g. a RecursionError while reporting a failure
        verdict = {"ok": False, "stage": "tests", "error": ["Exception", "the runner failed"]}
    try:
        data = _dumps(verdict).encode("utf-8")
    except _base:  # noqa: BLE001 - a value the code made that JSON refuses
        data = b'{"ok": false, "stage": "tests", "error": ["Exception", "unreportable"]}'
    changed = intact()
    if changed is not None and b'"ok": true' in data:
        last = "tests" if job.get("check") is None else "check"
        data = _dumps({"ok": False, "stage": last, "tampered": changed}).encode("utf-8")
    channel = _socket(_unix, _stream)
    channel.connect(address)
    channel.sendall(data)
    channel.close()
    _exit(0)
