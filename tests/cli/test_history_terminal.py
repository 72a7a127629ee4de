"""`agentcode history` on a real terminal (a pty): a table, and `clear` asks before deleting."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from agentcode.store import open_store
from agentcode.types import Execution, Generation


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "h.db"
    with open_store(path) as store:
        store.record_generation(
            Generation(code="print(2 ** 10)", model_id="qwen", prompt="two to the ten")
        )
        store.record_execution("raise SystemExit(3)", Execution(exit_code=3))
    return path


def spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "agentcode", *args],
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_list_on_a_terminal_is_a_table(db: Path) -> None:
    child = spawn("history", "--db", str(db))
    output = child.read()
    child.close()
    assert child.exitstatus == 0
    assert "When (UTC)" in output and "Prompt / code" in output  # the table's header
    assert "\t" not in output
    assert "two to the ten" in output and "exit 3" in output
    assert output.index("exit 3") < output.index("two to the ten")  # newest first


def test_clear_asks_and_no_keeps_everything(db: Path) -> None:
    child = spawn("history", "clear", "--db", str(db))
    child.expect(r"Delete every history entry in .*\? \[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    with open_store(db) as store:
        assert store.count() == 2


def test_clear_asks_and_yes_deletes(db: Path) -> None:
    child = spawn("history", "clear", "--db", str(db))
    child.expect(r"\[y/N\]")
    child.sendline("y")
    child.expect("deleted 2 entries")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    with open_store(db) as store:
        assert store.count() == 0
