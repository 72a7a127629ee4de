"""Runs a user's test file against a candidate, *inside the sandbox* (stdlib only).

`generation.checks.user_tests` sends this module's source into the sandbox session that already
ran the candidate, then calls ``run_tests(source, filename, namespace)`` with the candidate's
namespace. The test file's code runs there (plain top-level asserts work), then every ``test_*``
function is called. It returns a report: the counts (``failed`` of ``ran``) and a short message
for the model: which test failed, its assertion, and for ``assert a == b`` the two values, as
pytest would show them (`user_tests.tests_code` raises it as one ``AssertionError``). pytest
itself need not be installed in the sandbox: a small stand-in covers ``pytest.raises``,
``approx``, ``fail``, ``skip`` and ``mark.parametrize``.
"""

from __future__ import annotations

import ast
import contextlib
import linecache
import math
import re
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any

_MAX_REPR = 300
_MAX_TRACE_LINES = 12


class _Skipped(Exception):
    pass


def _short(value: object) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not hide the failure
        text = f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


# --- a stand-in for the parts of pytest that test files use most --------------------------------


class _Approx:
    def __init__(self, expected: Any, rel: float | None = None, abs: float | None = None) -> None:
        self.expected = expected
        self.rel = 1e-6 if rel is None else rel
        self.abs = 1e-12 if abs is None else abs

    def _close(self, actual: Any, expected: Any) -> bool:
        if isinstance(expected, (list, tuple)):
            return (
                isinstance(actual, (list, tuple))
                and len(actual) == len(expected)
                and all(self._close(a, e) for a, e in zip(actual, expected, strict=True))
            )
        if isinstance(expected, dict):
            return (
                isinstance(actual, dict)
                and actual.keys() == expected.keys()
                and all(self._close(actual[k], expected[k]) for k in expected)
            )
        try:
            return math.isclose(actual, expected, rel_tol=self.rel, abs_tol=self.abs)
        except TypeError:
            return bool(actual == expected)

    def __eq__(self, actual: object) -> bool:
        return self._close(actual, self.expected)

    def __repr__(self) -> str:
        return f"approx({self.expected!r})"


@contextlib.contextmanager
def _raises(expected: Any, match: str | None = None) -> Iterator[None]:
    try:
        yield
    except expected as exc:
        if match is not None and not re.search(match, str(exc)):
            raise AssertionError(
                f"{type(exc).__name__}({str(exc)!r}) does not match {match!r}"
            ) from None
        return
    name = getattr(expected, "__name__", str(expected))
    raise AssertionError(f"DID NOT RAISE {name}")


def _fail(reason: str = "") -> None:
    raise AssertionError(reason or "failed")


def _skip(reason: str = "") -> None:
    raise _Skipped(reason)


class _Mark:
    def parametrize(
        self, names: str | list[str], values: list[Any], **_: Any
    ) -> Callable[[Any], Any]:
        def mark(func: Any) -> Any:
            cases = list(getattr(func, "_agentcode_params", [])) or [{}]
            func._agentcode_params = _expand(cases, names, values)
            return func

        return mark

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # skip and skipif skip; xfail, slow and other markers are accepted and ignored.
        def marker(*args: Any, **_: Any) -> Any:
            skip = name == "skip" or (name == "skipif" and bool(args) and bool(args[0]))

            def apply(func: Any) -> Any:
                if skip:
                    func._agentcode_skip = True
                return func

            if len(args) == 1 and callable(args[0]) and name != "skipif":
                return apply(args[0])
            return apply

        return marker


class _Param:
    def __init__(self, *values: Any, marks: Any = (), id: str | None = None) -> None:  # noqa: A002
        self.values = values
        self.marks = marks


def _pytest_stand_in() -> types.ModuleType:
    module = types.ModuleType("pytest")
    module.raises = _raises  # type: ignore[attr-defined]
    module.approx = _Approx  # type: ignore[attr-defined]
    module.fail = _fail  # type: ignore[attr-defined]
    module.skip = _skip  # type: ignore[attr-defined]
    module.mark = _Mark()  # type: ignore[attr-defined]
    module.param = _Param  # type: ignore[attr-defined]
    module.fixture = _Mark().fixture  # type: ignore[attr-defined]
    return module


# --- explaining a failure -------------------------------------------------------------------------


def _assert_values(exc: BaseException, source: str, filename: str) -> str:
    """For ``assert left <op> right`` in the test file, evaluate both sides again and show them."""
    frame = None
    for tb_frame, _ in traceback.walk_tb(exc.__traceback__):
        if tb_frame.f_code.co_filename == filename:
            frame = tb_frame
    if frame is None or not isinstance(exc, AssertionError):
        return ""
    lineno = frame.f_lineno
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.lineno <= lineno <= (
            node.end_lineno or node.lineno
        ):
            test = node.test
            if isinstance(test, ast.Compare) and len(test.ops) == 1:
                try:
                    left = eval(ast.unparse(test.left), frame.f_globals, frame.f_locals)  # noqa: S307
                    right = eval(ast.unparse(test.comparators[0]), frame.f_globals, frame.f_locals)  # noqa: S307
                except Exception:  # noqa: BLE001 - the hint is optional
                    return ""
                return f"\n  left:  {_short(left)}\n  right: {_short(right)}"
    return ""


def _describe(exc: BaseException, source: str, filename: str) -> str:
    lines = source.splitlines()
    where = ""
    for tb_frame, lineno in traceback.walk_tb(exc.__traceback__):
        if tb_frame.f_code.co_filename == filename and 0 < lineno <= len(lines):
            where = f"\n  {filename}:{lineno}: {lines[lineno - 1].strip()}"
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    own = run_tests.__code__.co_filename  # the runner's frames say nothing to the model
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != own]
    trace = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    trace += traceback.format_exception_only(type(exc), exc)
    tail = "".join(trace).rstrip().splitlines()[-_MAX_TRACE_LINES:]
    report = message + where + _assert_values(exc, source, filename)
    if all(f.filename == filename for f in frames):
        return report  # raised by the test itself: the line and values say it all
    return report + "\n" + "\n".join(tail)


# --- running --------------------------------------------------------------------------------


def _exec_module(source: str, filename: str, namespace: dict[str, Any]) -> None:
    """Run the test file's top level, statement by statement, in the candidate's namespace.

    ``from slugify import slugify`` in a test file names the module the user's code would live
    in; the candidate defined ``slugify`` already, so an import that fails only because that
    module does not exist is skipped when every name it imports is present.
    """
    tree = ast.parse(source, filename)
    for node in tree.body:
        code = compile(ast.Module(body=[node], type_ignores=[]), filename, "exec")
        try:
            exec(code, namespace)  # noqa: S102 - this *is* the sandboxed test run
        except ImportError:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and all(
                (alias.asname or alias.name).split(".")[0] in namespace for alias in node.names
            ):
                continue
            raise


def _expand(
    cases: list[dict[str, Any]], names: str | list[str], values: list[Any]
) -> list[dict[str, Any]]:
    """Each case times each row of a ``parametrize``; ``pytest.param(...)`` rows are unwrapped."""
    argnames = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    rows = []
    for value in values:
        if hasattr(value, "values") and hasattr(value, "marks"):  # pytest.param(...)
            rows.append(tuple(value.values))
        else:
            rows.append((value,) if len(argnames) == 1 else tuple(value))
    return [{**case, **dict(zip(argnames, row, strict=True))} for case in cases for row in rows]


def _is_skip(exc: BaseException) -> bool:
    """Our stand-in's skip, or a real pytest's (``pytest.skip()`` raises ``Skipped``)."""
    return isinstance(exc, _Skipped) or type(exc).__name__ == "Skipped"


def _cases(func: Any) -> list[dict[str, Any]]:
    """The parameter sets to call a test with: [] when it is marked skip, [{}] when plain."""
    if getattr(func, "_agentcode_skip", False):
        return []
    if hasattr(func, "_agentcode_params"):
        return list(func._agentcode_params)
    cases: list[dict[str, Any]] = [{}]
    for mark in getattr(func, "pytestmark", []):  # marks set by a real pytest in the sandbox
        name: str = getattr(mark, "name", "")
        args: tuple[Any, ...] = tuple(getattr(mark, "args", ()))
        if name == "skip" or (name == "skipif" and args and args[0]):
            return []
        if name == "parametrize" and len(args) >= 2:
            cases = _expand(cases, args[0], list(args[1]))
    return cases


def run_tests(source: str, filename: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run the test file against ``namespace``: ``{"failed": n, "ran": m, "message": text}``,
    the message empty when all passed; the counts None when the file itself failed."""
    # So tracebacks show the test file's lines, as they would for a file on disk.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    if sys.modules.get("pytest") is None:
        try:
            import pytest  # noqa: F401
        except ImportError:
            sys.modules["pytest"] = _pytest_stand_in()
    try:
        _exec_module(source, filename, namespace)
    except KeyboardInterrupt:  # the sandbox's timeout: let it stop the run
        raise
    except BaseException as exc:  # noqa: BLE001 - pytest's Failed is a BaseException
        if _is_skip(exc):
            return {"failed": 0, "ran": 0, "message": ""}
        return {"failed": None, "ran": None,
                "message": f"the test file failed: {_describe(exc, source, filename)}"}

    tests = [
        (name, value)
        for name, value in list(namespace.items())
        if name.startswith("test")
        and callable(value)
        and getattr(value, "__code__", None)
        and value.__code__.co_filename == filename
    ]
    failures: list[str] = []
    first = ""
    ran = 0
    for name, func in tests:
        for params in _cases(func):
            label = name + (
                f"[{', '.join(f'{k}={_short(v)}' for k, v in params.items())}]" if params else ""
            )
            missing = [
                arg
                for arg in func.__code__.co_varnames[: func.__code__.co_argcount]
                if arg not in params
            ]
            ran += 1
            if missing:
                failures.append(label)
                first = (
                    first
                    or f"{label}: needs fixture(s) {', '.join(missing)}, which this runner lacks"
                )
                continue
            try:
                func(**params)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - every failure becomes a report
                if _is_skip(exc):
                    ran -= 1
                    continue
                failures.append(label)
                first = first or f"{label} failed: {_describe(exc, source, filename)}"
    if failures:
        others = f"; also failed: {', '.join(failures[1:6])}" if len(failures) > 1 else ""
        return {"failed": len(failures), "ran": ran,
                "message": f"{len(failures)} of {ran} tests failed{others}\n{first}"}
    print(f"agentcode: {ran} tests passed", file=sys.stderr)
    return {"failed": 0, "ran": ran, "message": ""}
