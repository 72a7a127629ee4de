"""The store under real concurrency and real crashes: separate processes, SIGKILL, real SQLite."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from agentcode.store import open_store
from agentcode.store.migrations import MIGRATIONS
from agentcode.types import Execution

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from agentcode.config import Settings
    from agentcode.store import record_execution_safely
    from agentcode.types import Execution

    db, go, worker = sys.argv[1], sys.argv[2], sys.argv[3]
    while not os.path.exists(go):  # start together, so the writes really overlap
        time.sleep(0.001)
    settings = Settings(db=db)
    for i in range(50):
        entry_id = record_execution_safely(
            settings, f"print({i})", Execution(stdout=f"w{worker}-{i}\\n"), session_id=f"w{worker}"
        )
        assert entry_id is not None, "not recorded"
    """
)


def test_eight_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    db, go = tmp_path / "h.db", tmp_path / "go"
    # No database yet: the eight processes also race to create and migrate it.
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(go), str(w)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    time.sleep(0.3)
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert err == ""  # not even a "history not saved" warning
    conn = sqlite3.connect(db)
    rows = set(conn.execute("SELECT session_id, stdout FROM entries").fetchall())
    assert len(rows) == 400
    assert rows == {(f"w{w}", f"w{w}-{i}\n") for w in range(8) for i in range(50)}
    assert (
        conn.execute("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'w3'").fetchone()[0]
        == 50
    )
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)


KILLED_IN_TRANSACTION = textwrap.dedent(
    """
    import sys, time
    from agentcode.store import open_store
    from agentcode.types import Execution

    store = open_store(sys.argv[1])
    for i in range(20):
        store.record_execution(f"print({i})", Execution(stdout=f"committed-{i}\\n"))
    # A big uncommitted transaction: spills pages into the WAL before the kill.
    with store.transaction():
        for i in range(200):
            store.record_execution("uncommitted", Execution(stdout="y" * 60000))
        print("in-transaction", flush=True)
        time.sleep(60)
    """
)


def test_writer_killed_mid_transaction_leaves_a_sound_database(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_IN_TRANSACTION, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "in-transaction\n", proc.stderr.read()  # type: ignore[union-attr]
    assert (tmp_path / "h.db-wal").stat().st_size > 1_000_000  # the transaction reached the WAL
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    with open_store(db) as store:
        entries = store.list(limit=None)
        assert sorted(e.stdout or "" for e in entries) == sorted(
            f"committed-{i}\n" for i in range(20)
        )
        assert store.search("uncommitted") == []
        store.record_execution("after", Execution(stdout="after the crash\n"))
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.execute("INSERT INTO entries_fts(entries_fts) VALUES('integrity-check')")  # raises if not
    assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 21


KILLED_WHILE_WRITING = textwrap.dedent(
    """
    import sys
    from agentcode.store import open_store
    from agentcode.types import Execution

    store = open_store(sys.argv[1])
    i = 0
    while True:
        entry_id = store.record_execution(f"print({i})", Execution(stdout=f"{i}\\n" + "z" * 5000))
        print(entry_id, flush=True)  # only after the commit returned
        i += 1
    """
)


def test_writer_killed_at_a_random_moment_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_WHILE_WRITING, str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        committed = [int(proc.stdout.readline()) for _ in range(50 + 37 * round_)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        committed += [int(line) for line in proc.stdout.read().split()]
        with open_store(db) as store:
            assert store.missing(committed) == []
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
