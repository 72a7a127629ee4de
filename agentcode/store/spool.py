"""`agentcode run`'s history entry, appended to a file beside the database: no SQLite on its path.

Importing sqlite3 and the store, opening the database and committing cost a one-shot run ~12 ms
of a ~150 ms process. So `run` (`agentcode.execute`) appends its entry -- redacted and capped
as every entry (rows.py) -- as one JSON line to ``history.db.spool`` (mode 0600, beside the
database), and whoever opens the store next (`agentcode history`, a session's first entry, the
next `gen`) merges the file into the database before anything else, so the history shows every
run, in order.

Safe with any number of processes at once, and crash-safe:

- an appender holds a shared lock (flock) on the file while it writes its line in one
  ``write`` (O_APPEND), and checks afterwards that the file it locked is still the one at the
  path (a merge may have moved it away meanwhile): if not, it writes to the new one;
- a merge takes the exclusive lock, which waits for the appenders in their write, renames the
  file to a name of its own and lets go at once, so no appender ever waits for SQLite; it then
  inserts the lines in one transaction and removes the renamed file;
- a renamed file is merged under its own exclusive lock, by one merge at a time (another
  skips it), and only while it is still at its path;
- every line has a random id, recorded in the ``spooled`` table in that same transaction: a
  merge that crashed after its commit leaves its renamed file, and the next merge (any file
  named ``*.spool.*.merging`` is merged too) adds none of its entries twice;
- a line cut short (a full disk, a killed process) is not JSON and is skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from agentcode.store.notice import warn_once
from agentcode.store.rows import COLUMNS, Row, execution_row, resolve_path

if TYPE_CHECKING:
    import sqlite3

    from agentcode.config import Settings
    from agentcode.types import Execution

SUFFIX = ".spool"
_MERGING = ".merging"
_WIDTH = len(COLUMNS.split(","))
_MARKS = ", ".join("?" * _WIDTH)


def spool_path(db: Path) -> Path:
    return db.with_name(db.name + SUFFIX)


def record_run(settings: Settings, code: str, execution: Execution | None, *,
               timed_out: bool = False) -> None:
    """Spool a one-shot run's entry; never raises (one warning per process, as every history
    write)."""
    if execution is None or not settings.history:
        return
    try:
        append(resolve_path(None, settings), execution_row(code, execution, timed_out=timed_out))
    except Exception as exc:  # noqa: BLE001 - history is a convenience; the result matters
        warn_once(exc)


def append(db: Path, row: Row) -> None:
    """Add ``row`` (of `agentcode.store.rows.COLUMNS`, scrubbed) to ``db``'s spool. Raises
    OSError."""
    line = json.dumps({"id": os.urandom(16).hex(), "row": list(row)},
                      ensure_ascii=False).encode() + b"\n"
    path = spool_path(db)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for _ in range(100):  # a merge moves the file away between our open and our lock: rare
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            if _same_file(fd, path):
                written = os.write(fd, line)  # one write: other appenders' lines stay whole
                if written != len(line):
                    with contextlib.suppress(OSError):
                        os.write(fd, b"\n")  # end the torn line: the next one stays readable
                    raise OSError(f"the history spool {path} took {written} of {len(line)} "
                                  "bytes")
                return
        finally:
            os.close(fd)
    raise OSError(f"the history spool {path} kept moving")


def _same_file(fd: int, path: Path) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def merge(conn: sqlite3.Connection, db: Path) -> int:
    """Move ``db``'s spooled entries into it (``conn``, in autocommit mode); how many were new."""
    taken = _take(spool_path(db))
    pending = sorted(db.parent.glob(db.name + SUFFIX + ".*" + _MERGING))  # crashed merges too
    if taken is not None and taken not in pending:
        pending.append(taken)
    added = 0
    for path in pending:
        added += _merge_file(conn, path)
    return added


def _take(path: Path) -> Path | None:
    """Rename the spool to a name of this merge's own, once no appender is writing to it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        if os.fstat(fd).st_size == 0:
            return None
        fcntl.flock(fd, fcntl.LOCK_EX)
        if not _same_file(fd, path):
            return None  # another merge took it
        # Named by when it was taken, so that merges go in the order the entries were spooled.
        taken = path.with_name(f"{path.name}.{time.time_ns():020d}{os.urandom(4).hex()}"
                               f"{_MERGING}")
        os.rename(path, taken)
        return taken
    finally:
        os.close(fd)


def _merge_file(conn: sqlite3.Connection, path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return 0  # another merge did it
    try:
        # Another merge on it: wait for it, so that no newer file is merged before this older
        # one is in (a run's entries would be out of order in `history`).
        fcntl.flock(fd, fcntl.LOCK_EX)
        if not _same_file(fd, path):
            return 0  # merged and removed while we opened it
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read()
        return _insert_lines(conn, path, data)
    finally:
        os.close(fd)  # the lock goes with it, after the file is removed


def _insert_lines(conn: sqlite3.Connection, path: Path, data: bytes) -> int:
    import sqlite3

    lines = []
    for raw in data.splitlines():
        try:
            item = json.loads(raw)
            lines.append((str(item["id"]), tuple(item["row"])))
        except (ValueError, KeyError, TypeError):
            continue  # cut short: skipped
    added = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for line_id, row in lines:
            if len(row) != _WIDTH or not conn.execute(
                    "INSERT OR IGNORE INTO spooled (id) VALUES (?)", (line_id,)).rowcount:
                continue  # not a row of ours, or merged before
            try:
                conn.execute(f"INSERT INTO entries ({COLUMNS}) VALUES ({_MARKS})", row)
            except sqlite3.Error:
                continue  # a value SQLite refuses: that entry only is lost
            if row[0]:  # a session's entry, as HistoryStore.insert_row records it
                conn.execute(
                    "INSERT INTO sessions (id, created_at, last_used_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET last_used_at = excluded.last_used_at",
                    (row[0], row[10], row[10]))
            added += 1
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    path.unlink(missing_ok=True)
    # The file is gone and we hold its lock: no merge can read these ids again (one that
    # stopped before this line left the file, and the ids that keep its entries from doubling).
    conn.executemany("DELETE FROM spooled WHERE id = ?", [(line_id,) for line_id, _ in lines])
    return added
