"""What a session's start waits for in the jail: the worker's compile and its imports.

The worker's code is compiled on the host and kept like a module's bytecode (jail.worker_code);
the worker loads no json, re, ast, linecache or enum before the first execution's result
(the C parts they are built on do the work), and what that saves must not change what code
sees: tracebacks and inspect.getsource still find the code of earlier executions.
"""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from agentcode.sandbox.local import jail
from agentcode.sandbox.local.session import LocalSandboxSession

HEAVY = ("json", "re", "ast", "linecache", "enum", "functools", "collections", "tokenize")


def test_a_fresh_worker_has_loaded_none_of_the_heavy_modules(jail: LocalSandboxSession) -> None:
    loaded = jail.execute(f"import sys; sorted(m for m in {HEAVY!r} if m in sys.modules)")
    assert loaded.text == "[]"


def test_earlier_code_is_found_by_inspect_and_tracebacks(jail: LocalSandboxSession) -> None:
    assert jail.execute("def twice(x):\n    return 2 * x\n").ok
    assert jail.execute("def fails():\n    return 1 / 0\n").ok
    # linecache is imported only now: it must still get the sources of both executions.
    shown = jail.execute("import inspect; print(inspect.getsource(twice))")
    assert shown.stdout == "def twice(x):\n    return 2 * x\n\n"
    failed = jail.execute("fails()")
    assert failed.error is not None
    assert "    return 1 / 0\n" in failed.error.traceback
    assert 'File "<stdin-2>", line 2, in fails' in failed.error.traceback


def test_results_encode_as_json_does(jail: LocalSandboxSession) -> None:
    value = jail.execute("x = {'a': [1, 2.5, None, True], 'é': float('nan')}\nprint(x)\nx")
    assert value.ok and value.text == "{'a': [1, 2.5, None, True], 'é': nan}"
    weird = jail.execute("class S(str):\n    pass\nprint(S('\\u2028 \"q\"'))")
    assert weird.stdout == '\u2028 "q"\n'


def test_the_compiled_worker_is_kept_with_its_source_and_used_only_for_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jail.worker_source()  # read from the package (kept): only the cache moves to tmp_path
    monkeypatch.setattr(jail, "__file__", str(tmp_path / "jail.py"))
    monkeypatch.setattr("sys.dont_write_bytecode", False)
    jail.worker_code.cache_clear()
    try:
        code = jail.worker_code()
        cache = tmp_path / "__pycache__"
        (kept,) = cache.iterdir()
        source, stored = marshal.loads(kept.read_bytes())
        assert source == jail.worker_source() and stored == code
        same = marshal.loads(code)
        # A cache for another source (an upgrade) is not used: it is compiled again.
        kept.write_bytes(marshal.dumps(("print('stale')", marshal.dumps(compile(
            "print('stale')", "<string>", "exec")))))
        jail.worker_code.cache_clear()
        assert marshal.loads(jail.worker_code()) == same
        jail.worker_code.cache_clear()
        monkeypatch.setattr("sys.dont_write_bytecode", True)
        kept.unlink()
        assert marshal.loads(jail.worker_code()) == same and list(cache.iterdir()) == []
    finally:
        jail.worker_code.cache_clear()


@pytest.mark.parametrize("isolated", [True, False], ids=["jail", "unsafe"])
def test_the_worker_is_not_dumpable_and_loads_no_ctypes(isolated: bool) -> None:
    # Unsafe: no uid change clears the flag, only the worker's own prctl does.
    from agentcode.config import Settings

    with LocalSandboxSession(Settings(), isolated=isolated) as session:
        before = session.execute("import sys; 'ctypes' in sys.modules")
        flag = session.execute("import ctypes; ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)")
    assert before.text == "False"
    assert flag.text == "0"  # PR_GET_DUMPABLE
