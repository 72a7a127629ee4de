"""Databases written by an older agentcode migrate in place and keep their rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agentcode.store import open_store
from agentcode.store.migrations import MIGRATIONS, applied, migrate, pending
from agentcode.types import Execution


def make_first_schema_db(path: Path) -> None:
    """What the first release wrote: only `m001_initial`, with rows in it."""
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, upto="m001_initial") == ["m001_initial"]
    conn.executemany(
        "INSERT INTO entries (session_id, kind, prompt, code, model, attempts, stdout, stderr,"
        " exit_code, duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                "old-session",
                "gen",
                "greet the world",
                "print('hello')",
                "qwen",
                '[{"model": "qwen"}]',
                None,
                None,
                None,
                40.0,
                "2025-01-01T00:00:00.000Z",
            ),
            (
                "old-session",
                "run",
                None,
                "print('hello')",
                None,
                "[]",
                "hello\n",
                "",
                0,
                1.5,
                "2025-01-01T00:00:01.000Z",
            ),
        ],
    )
    conn.close()


def test_old_database_migrates_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_first_schema_db(path)
    conn = sqlite3.connect(path)
    assert applied(conn) == ["m001_initial"]
    assert pending(conn) == [name for name, _ in MIGRATIONS][1:]
    conn.close()

    with open_store(path) as store:
        old = store.list()
        assert [(e.kind, e.code) for e in old] == [
            ("run", "print('hello')"),
            ("gen", "print('hello')"),
        ]
        assert old[1].attempts == [{"model": "qwen"}] and old[1].prompt == "greet the world"
        assert old[0].stdout == "hello\n" and old[0].stdout_dropped == 0 and old[0].error is None
        # The full-text index added later covers the rows written before it.
        assert [e.id for e in store.search("greet")] == [old[1].id]
        assert [e.id for e in store.search("hello")] == [old[0].id, old[1].id]
        # The sessions table added later knows the old session.
        assert store.last_session_id() == "old-session"
        assert len(store.conversation("old-session")) == 2
        new_id = store.record_execution("1/0", Execution(exit_code=1), session_id="old-session")
        assert new_id > old[0].id
    conn = sqlite3.connect(path)
    assert applied(conn) == [name for name, _ in MIGRATIONS]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1


def test_failed_migration_rolls_back_whole_run(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "h.db"
    make_first_schema_db(path)

    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("simulated failure")

    monkeypatch.setattr(
        "agentcode.store.migrations.MIGRATIONS", [*MIGRATIONS[:2], ("m003_broken", broken)]
    )
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn)
    except sqlite3.OperationalError:
        pass
    else:
        raise AssertionError("the broken migration should have raised")
    assert applied(conn) == ["m001_initial"]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables
    columns = {r[1] for r in conn.execute("PRAGMA table_info(entries)")}
    assert "backend" not in columns  # m002 was rolled back with the rest
    assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 2
