"""`agentcode gen` and `agentcode run` record into the history, in real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agentcode.store import open_store

WARNING = "agentcode: warning: history not saved: "


def agentcode(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentcode", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
    )


def test_gen_is_recorded_and_listed(agentcode_home: Path) -> None:
    result = agentcode("gen", "-m", "fake", "say hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "print('hello from fake')\n"
    listed = agentcode("history", "--json")
    [entry] = json.loads(listed.stdout)
    assert entry["kind"] == "gen" and entry["prompt"] == "say hello"
    assert entry["code"] == "print('hello from fake')\n"
    shown = agentcode("history", "show", str(entry["id"]), "--code")
    assert shown.stdout == result.stdout


def test_gen_no_history_flag_and_env(agentcode_home: Path) -> None:
    assert agentcode("gen", "-m", "fake", "a", "--no-history").returncode == 0
    assert agentcode("gen", "-m", "fake", "b", env={"AGENTCODE_NO_HISTORY": "1"}).returncode == 0
    assert not (agentcode_home / "history.db").exists()


def test_gen_db_flag(agentcode_home: Path, tmp_path: Path) -> None:
    db = tmp_path / "elsewhere.db"
    assert agentcode("gen", "-m", "fake", "say hello", "--db", str(db)).returncode == 0
    assert not (agentcode_home / "history.db").exists()
    with open_store(db) as store:
        assert [e.prompt for e in store.list()] == ["say hello"]


def test_gen_with_an_unusable_history_still_works(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"\x00garbage" * 512)
    for db in ("/dev/null/x.db", str(corrupt)):
        result = agentcode("gen", "-m", "fake", "say hello", "--db", db)
        assert result.returncode == 0
        assert result.stdout == "print('hello from fake')\n"
        assert result.stderr.count(WARNING) == 1 and "Traceback" not in result.stderr
        warning, label = result.stderr.rstrip().splitlines()[-2:]
        assert warning.endswith("(use --no-history to silence)")
        assert label == "agentcode: ran cleanly (no input) (1 round)"


def test_run_is_recorded_with_its_outcome(agentcode_home: Path) -> None:
    ok = agentcode("run", "-", stdin="print('hi')\n")
    failed = agentcode("run", "-", stdin="import sys\nsys.exit(3)\n")
    assert (ok.returncode, ok.stdout, failed.returncode) == (0, "hi\n", 3)
    listed = agentcode("history", "--kind", "run")
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(r[2], r[3], r[6]) for r in rows] == [
        ("run", "exit 3", "import sys"),
        ("run", "ok", "print('hi')"),
    ]
    assert agentcode("history", "--failed").stdout.count("\n") == 1


def test_run_timeout_is_recorded(agentcode_home: Path) -> None:
    result = agentcode("run", "--timeout", "1", "-", stdin="import time\ntime.sleep(30)\n")
    assert result.returncode == 124
    [entry] = json.loads(agentcode("history", "--json").stdout)
    assert (entry["exit_code"], entry["error"]) == (124, "TimeoutError")


def test_run_history_flags_and_broken_store(agentcode_home: Path, tmp_path: Path) -> None:
    assert agentcode("run", "--no-history", "-", stdin="print(1)\n").returncode == 0
    assert not (agentcode_home / "history.db").exists()
    db = tmp_path / "runs.db"
    assert agentcode("run", "--db", str(db), "-", stdin="print(2)\n").returncode == 0
    with open_store(db) as store:
        assert [e.stdout for e in store.list()] == ["2\n"]
    broken = agentcode(
        "run", "--db", "/dev/null/x.db", "-", stdin="print(3)\nraise SystemExit(5)\n"
    )
    assert (broken.returncode, broken.stdout) == (5, "3\n")
    assert broken.stderr.count(WARNING) == 1


def test_runs_that_exit_right_after_their_entry_leave_a_whole_history(
        agentcode_home: Path) -> None:
    # `run` does not wait for the store's close (SQLite's checkpoint): each process may exit
    # during it. Every entry is still there, once, and the file is sound.
    for n in range(6):
        done = agentcode("run", "-", stdin=f"print({n})\n")
        assert (done.returncode, done.stdout) == (0, f"{n}\n"), done.stderr
    with open_store() as store:
        assert [e.stdout for e in reversed(store.list())] == [f"{n}\n" for n in range(6)]
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
