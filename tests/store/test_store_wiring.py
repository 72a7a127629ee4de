"""generate(), execute(), Session and the CLI record into the history store (real SQLite)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentcode.api.generation import generate
from agentcode.config import Settings, load_settings
from agentcode.store import open_store, reset_warning
from agentcode.testing import FakeModel


def block(code: str) -> str:
    return f"```python\n{code}```\n"


@pytest.fixture(autouse=True)
def fresh_warning() -> None:
    reset_warning()


def entries(db: Path | None = None) -> list:  # type: ignore[type-arg]
    with open_store(db) as store:
        return store.list(limit=None)


def test_generate_records_one_entry(agentcode_home: Path) -> None:
    gen = generate("print one", model=FakeModel(block("print(1)\n"), model_id="fake-a"))
    [entry] = entries()
    assert (entry.kind, entry.prompt, entry.code, entry.model) == (
        "gen",
        "print one",
        gen.code,
        gen.model_id,
    )
    assert entry.session_id is None and len(entry.attempts) == len(gen.attempts)


def test_generate_with_history_off_records_nothing(agentcode_home: Path) -> None:
    generate("print one", model=FakeModel(block("print(1)\n")), settings=Settings(history=False))
    assert not (agentcode_home / "history.db").exists()


def test_generate_honours_settings_db(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "other.db"))
    generate("print two", model=FakeModel(block("print(2)\n")), settings=settings)
    [entry] = entries(tmp_path / "other.db")
    assert entry.prompt == "print two" and entry.session_id is None


def test_generate_from_async_code_records_one_entry(agentcode_home: Path) -> None:
    async def inside_a_loop() -> None:
        generate("print three", model=FakeModel(block("print(3)\n")))

    asyncio.run(inside_a_loop())
    [entry] = entries()
    assert entry.code == "print(3)\n"


def test_agenerate_records_one_entry(agentcode_home: Path) -> None:
    from agentcode.api.generation import agenerate

    gen = asyncio.run(agenerate("print four", model=FakeModel(block("print(4)\n"))))
    [entry] = entries()
    assert (entry.kind, entry.prompt, entry.code) == ("gen", "print four", gen.code)


def test_generate_with_a_broken_store_still_returns_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(db="/dev/null/x.db")
    first = generate("a", model=FakeModel(block("print(1)\n")), settings=settings)
    second = generate("b", model=FakeModel(block("print(2)\n")), settings=settings)
    assert first.code == "print(1)\n" and second.code == "print(2)\n"
    assert capsys.readouterr().err.count("agentcode: warning: history not saved") == 1


def test_verified_generation_is_one_entry_not_one_per_candidate(agentcode_home: Path) -> None:
    broken, fixed = "print(1 / 0)\n", "print(1 / 1)\n"
    gen = generate(
        "divide",
        model=FakeModel([block(broken), block(fixed)]),
        settings=load_settings(timeout=10),
        verify=True,
        max_repairs=1,
    )
    assert gen.verified and len(gen.rounds) == 2
    [entry] = entries()
    assert entry.code == fixed and entry.verified is True


def test_execute_records_one_untagged_run(agentcode_home: Path) -> None:
    from agentcode.api.execution import execute

    execution = execute("print(6 * 7)")
    assert execution.stdout == "42\n"
    [entry] = entries()
    assert (entry.kind, entry.code, entry.stdout, entry.exit_code) == (
        "run",
        "print(6 * 7)",
        "42\n",
        0,
    )
    assert entry.session_id is None  # a one-shot run is no session to resume
    assert entry.backend == execution.backend


def test_execute_failure_and_history_off(agentcode_home: Path) -> None:
    from agentcode.api.execution import execute

    execute("print('kept')", settings=Settings(history=False))
    assert not (agentcode_home / "history.db").exists()
    execution = execute("raise ValueError('bad input')")
    assert execution.exit_code == 1
    [entry] = entries()
    assert entry.error == "ValueError" and "bad input" in (entry.stderr or "")


def test_execute_timeout_is_recorded_with_partial_output(agentcode_home: Path) -> None:
    from agentcode.api.execution import execute
    from agentcode.errors import ExecutionTimeoutError

    code = "import time\nprint('started', flush=True)\ntime.sleep(30)\n"
    with pytest.raises(ExecutionTimeoutError):
        execute(code, timeout=1)
    [entry] = entries()
    assert (entry.exit_code, entry.error) == (124, "TimeoutError")
    assert "started" in (entry.stdout or "")


def test_execute_with_a_broken_store_still_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from agentcode.api.execution import execute

    settings = load_settings(db="/dev/null/x.db")
    assert execute("print(1)", settings=settings).stdout == "1\n"
    assert execute("print(2)", settings=settings).stdout == "2\n"
    assert capsys.readouterr().err.count("agentcode: warning: history not saved") == 1


def test_session_tags_its_runs(agentcode_home: Path) -> None:
    from agentcode.api.session import Session

    with Session() as session:
        session.execute("x = 2")
        session.execute("print(x ** 10)")
    with open_store() as store:
        assert store.last_session_id() == session.id
        runs = store.conversation(session.id)
    assert [e.code for e in runs] == ["x = 2", "print(x ** 10)"]
    assert runs[1].stdout == "1024\n"


def test_session_generate_is_one_tagged_entry(agentcode_home: Path) -> None:
    from agentcode.api.session import Session

    with Session(model=FakeModel(block("print(x)\n"))) as session:
        session.execute("x = 5")
        session.generate("show x")
    with open_store() as store:
        kinds = [(e.kind, e.prompt) for e in store.conversation(session.id)]
    assert kinds == [("run", None), ("gen", "show x")]
