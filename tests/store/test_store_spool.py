"""`agentcode run`'s entries go to a spool beside the database and are merged by its next opener."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentcode.config import Settings
from agentcode.store import open_store, spool
from agentcode.store.rows import execution_row
from agentcode.types import Execution


def row(n: int) -> tuple[object, ...]:
    return execution_row(f"print({n})", Execution(stdout=f"{n}\n"))


def test_a_one_shot_run_spools_its_entry_without_sqlite_and_history_shows_it(
        tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    probe = textwrap.dedent("""
        import sys, agentcode
        result = agentcode.execute("print('secret-free')", sandbox="unsafe")
        print(result.stdout.strip(), 'sqlite3' in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "AGENTCODE_DB": str(db)}, timeout=120)
    assert done.stdout == "secret-free False\n", done.stderr
    assert not db.exists() and spool.spool_path(db).stat().st_mode & 0o777 == 0o600
    with open_store(db) as store:  # the opener merges it
        assert [e.stdout for e in store.list()] == ["secret-free\n"]
    assert not spool.spool_path(db).exists()
    with open_store(db) as store:  # once
        assert store.count() == 1


def test_spooled_entries_are_redacted_before_they_reach_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_API_KEY", "correct-horse-battery")
    db = tmp_path / "h.db"
    spool.record_run(Settings(db=str(db)), "print(key)",
                     Execution(stdout="key is correct-horse-battery\n"))
    assert b"correct-horse-battery" not in spool.spool_path(db).read_bytes()
    with open_store(db) as store:
        assert store.list()[0].stdout == "key is [REDACTED]\n"


def test_many_appenders_and_mergers_at_once_lose_and_repeat_nothing(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    open_store(db).close()
    appender = textwrap.dedent(f"""
        import sys
        from agentcode.store import spool
        from agentcode.store.rows import execution_row
        from agentcode.types import Execution
        for n in range(100):
            spool.append({str(db)!r}, execution_row(f"{{sys.argv[1]}}-{{n}}", Execution()))
    """).replace("spool.append(" + repr(str(db)), "spool.append(__import__('pathlib').Path("
                 + repr(str(db)) + ")")
    merger = textwrap.dedent(f"""
        from agentcode.store import open_store
        for _ in range(30):
            open_store({str(db)!r}).close()
    """)
    processes = [subprocess.Popen([sys.executable, "-c", appender, str(i)]) for i in range(4)]
    processes += [subprocess.Popen([sys.executable, "-c", merger]) for _ in range(2)]
    assert [p.wait(timeout=120) for p in processes] == [0] * 6
    with open_store(db) as store:
        codes = [e.code for e in store.list(limit=None)]
    assert sorted(codes) == sorted(f"{i}-{n}" for i in range(4) for n in range(100))
    for i in range(4):  # each process's entries in the order it wrote them
        mine = [c for c in reversed(codes) if c.startswith(f"{i}-")]
        assert mine == [f"{i}-{n}" for n in range(100)]


def test_a_line_cut_short_is_skipped_and_the_others_kept(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    spool.append(db, row(1))
    with spool.spool_path(db).open("ab") as handle:
        handle.write(b'{"id": "x", "row": [nul\n')  # a garbled line
    spool.append(db, row(2))
    with spool.spool_path(db).open("ab") as handle:
        handle.write(b'{"id": "y", "row": ["cut')  # a process killed mid-write, last
    with open_store(db) as store:
        assert [e.code for e in store.list()] == ["print(2)", "print(1)"]


def test_a_merge_that_stopped_after_its_commit_adds_nothing_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "h.db"
    open_store(db).close()
    for n in range(3):
        spool.append(db, row(n))
    real_unlink = Path.unlink

    def crash(self: Path, missing_ok: bool = False) -> None:
        raise KeyboardInterrupt("killed between the commit and the file's removal")

    monkeypatch.setattr(Path, "unlink", crash)
    with pytest.raises(KeyboardInterrupt):
        open_store(db)
    monkeypatch.setattr(Path, "unlink", real_unlink)
    leftover = list(tmp_path.glob("h.db.spool.*.merging"))
    assert len(leftover) == 1  # the renamed spool, its entries already committed
    spool.append(db, row(3))
    with open_store(db) as store:
        assert sorted(e.code or "" for e in store.list()) == [f"print({n})" for n in range(4)]
        assert store._conn.execute("SELECT count(*) FROM spooled").fetchone()[0] == 0
    assert not list(tmp_path.glob("h.db.spool*"))


def test_clearing_the_history_clears_the_spooled_entries_too(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    spool.append(db, row(1))
    with open_store(db) as store:
        assert store.clear() == 1
    with open_store(db) as store:
        assert store.count() == 0
