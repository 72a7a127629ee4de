"""`Session`: lazy start, state across executions, files, download, close."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentcode import Session
from agentcode.config import Limits, Settings
from agentcode.errors import SandboxUnavailableError, UsageError
from agentcode.testing import FakeSandbox
from agentcode.types import Execution


@pytest.fixture
def settings() -> Settings:
    return Settings(timeout=20, limits=Limits(tmp_mb=16, shm_mb=8, workdir_mb=32))


def test_state_and_files_persist_in_a_real_jail(settings: Settings, tmp_path: Path) -> None:
    with Session(settings=settings) as session:
        assert len(session.id) == 32 and int(session.id, 16) >= 0
        session.execute("import json\nrows = []")
        session.write_files({"in.json": '{"n": 2}'})
        result = session.execute("rows.append(json.load(open('in.json'))['n'])\n"
                                 "open('out.txt', 'w').write(str(rows))\nrows")
        assert result.text == "[2]" and result.session_id == session.id
        assert session.execute("x = input()\nx * 2", stdin="ab").text == "'abab'"
        saved = session.download(tmp_path / "dl")
        assert saved == [tmp_path / "dl" / "out.txt"]
        assert saved[0].read_text() == "[2]"
        sandbox = session.sandbox
    assert sandbox._worker is None  # type: ignore[attr-defined]  # the jail was stopped


def test_the_sandbox_starts_on_first_use(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         settings: Settings) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap: starting would fail
    session = Session(settings=settings)  # ...but nothing starts yet
    with pytest.raises(SandboxUnavailableError):
        session.execute("1")


def test_given_sandbox_is_not_closed_and_files_kwarg_writes_first() -> None:
    fake = FakeSandbox([Execution(stdout="done\n")])
    with Session(fake, settings=Settings()) as session:
        result = session.execute("go()", files={"a.txt": "x"}, stdin="in")
    assert fake.files == {"a.txt": b"x"} and fake.stdins == [b"in"]
    assert result.stdout == "done\n" and result.session_id == session.id
    assert fake.closed is False


def test_bad_file_names_are_usage_errors() -> None:
    with Session(FakeSandbox(), settings=Settings()) as session:
        with pytest.raises(UsageError, match="relative path"):
            session.write_files({"../escape.txt": b"x"})
        with pytest.raises(UsageError, match="no such file"):
            session.write_files(["/nonexistent/file.txt"])


def test_kill_from_another_thread_ends_the_running_code(settings: Settings) -> None:
    import threading
    import time

    results: list[Any] = []
    with Session("local", settings=settings) as session:
        session.execute("x = 1")
        runner = threading.Thread(target=lambda: results.append(
            session.execute("while True: pass", timeout=120)))
        runner.start()
        time.sleep(0.5)
        started = time.monotonic()
        session.kill()
        runner.join(20)
        assert not runner.is_alive() and time.monotonic() - started < 10
        assert results[0].error.name == "SandboxExited"
        after = session.execute("'x' in globals()")  # a fresh sandbox: the state is gone
    assert after.text == "False"


def test_known_input_is_described_and_run_on_unless_told_otherwise() -> None:
    from agentcode.api.session import known_input_options
    from agentcode.types import SMOKE_MAX_REPAIRS

    files = {"sales.csv": b"region,amount\nnorth,3\n"}
    context, smoke = known_input_options({"verify": None}, files=files, stdin=None,
                                         prompt="total per region")
    assert context is not None and "the file sales.csv" in context and "north,3" in context
    # The run is the library's choice (optional_run): without a sandbox the code comes unrun.
    assert smoke == {"verify": True, "max_repairs": SMOKE_MAX_REPAIRS, "stdin": None,
                     "files": files, "optional_run": True}
    _, unrun = known_input_options({"verify": False}, files=files, stdin="x", prompt="p")
    assert unrun == {"verify": False}
    empty, on_stdin = known_input_options({"max_repairs": 0}, files={}, stdin="", prompt="p")
    assert empty is not None and "empty" in empty  # empty stdin is known input too
    assert on_stdin["verify"] is True and on_stdin["max_repairs"] == 0
    assert known_input_options({}, files={}, stdin=None, prompt=None) == (None, {})
    # With no input, a request that asks for output is run once with empty stdin.
    _, asked = known_input_options({}, files={}, stdin=None, prompt="print the first 5 primes")
    assert asked == {"verify": True, "no_input": True, "optional_run": True,
                     "max_repairs": SMOKE_MAX_REPAIRS}


def test_an_executions_session_id_is_the_session_to_come_back_to() -> None:
    # One meaning on the way up: the agentcode Session that ran it (what the history, the
    # server and MCP call it); a one-shot run has none, whatever throwaway session it used.
    import agentcode
    from agentcode.api.tool_result import execution_outcome, timeout_outcome
    from agentcode.errors import ExecutionTimeoutError

    with agentcode.Session() as session:
        ran = session.execute("print(1)")
        assert ran.session_id == session.id
        assert execution_outcome(ran).data.session_id == session.id  # type: ignore[attr-defined]
        with pytest.raises(ExecutionTimeoutError) as stopped:
            session.execute("while True: pass", timeout=0.5)
        assert stopped.value.execution is not None
        assert stopped.value.execution.session_id == session.id
        assert timeout_outcome(stopped.value).data.session_id == session.id  # type: ignore[attr-defined]
    assert agentcode.execute("print(2)").session_id is None
