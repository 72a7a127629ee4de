"""The history store: one SQLite file (WAL) of every `gen` and `run`, with full-text search."""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from agentcode.config import Settings
from agentcode.errors import StoreError, UsageError
from agentcode.store import spool
from agentcode.store.migrations import migrate
from agentcode.store.rows import COLUMNS, Row, entry_row, execution_row, resolve_path
from agentcode.types import Execution, Generation, HistoryEntry

BUSY_TIMEOUT_SECONDS = 10.0
Entries = list[HistoryEntry]


_read_hooks: list[Callable[[], None]] = []


def add_read_hook(hook: Callable[[], None]) -> None:
    """Call ``hook`` whenever the store is opened: `agentcode.store.recording` writes the entries
    its writer threads still hold, so a reader in this process sees every run so far."""
    _read_hooks.append(hook)


def open_store(
    path: str | os.PathLike[str] | None = None, settings: Settings | None = None
) -> HistoryStore:
    """Open (creating and migrating if needed) the history database. Raises `StoreError`."""
    for hook in _read_hooks:
        hook()
    db_path = resolve_path(path, settings)
    _create_private(db_path)
    try:
        # check_same_thread off: a Session's writer may be used from its caller's threads; the
        # writer serialises its calls (agentcode.store.recording.HistoryWriter).
        conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the history database {db_path}: {exc}") from exc
    try:
        _use_wal(conn)
        # NORMAL is durable against a crashed or killed process in WAL mode (not power loss).
        conn.execute("PRAGMA synchronous=NORMAL")
        migrate(conn)
        with contextlib.suppress(OSError):  # an unreadable spool: the rest of history works
            spool.merge(conn, db_path)  # `agentcode run`'s entries, before anything reads
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot use the history database {db_path}: {exc}") from exc
    conn.row_factory = sqlite3.Row
    return HistoryStore(conn, db_path)


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL (persistent, so usually already on). Switching needs an exclusive lock and
    SQLite reports "locked" at once instead of waiting for it, so several processes opening a new
    database together retry here within the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01 + random.random() * 0.04)


def _create_private(path: Path) -> None:
    """Create the directory and an empty file readable by the user only: history can be private."""
    for parent in (path, *path.parents):
        if parent.exists():
            if parent != path and not parent.is_dir():
                reason = f"{parent} is not a directory"
                raise StoreError(f"cannot create the history database {path}: {reason}")
            break
    if path.is_dir():
        raise StoreError(f"cannot use the history database {path}: it is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StoreError(f"cannot create the history database {path}: {reason}") from exc


class HistoryStore:
    """Entries newest first; text is redacted of AWS secrets and capped before it is written."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one transaction; nested uses join the outer one."""
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: undo only what this block wrote if it raises."""
        self._conn.execute("SAVEPOINT entry")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK TO entry")
            self._conn.execute("RELEASE entry")
            raise
        self._conn.execute("RELEASE entry")

    # -- writing -----------------------------------------------------------------------------

    def record_generation(self, gen: Generation, *, session_id: str | None = None) -> int:
        return self._insert(
            session_id=session_id,
            kind="gen",
            prompt=gen.prompt,
            code=gen.code,
            model=gen.model_id,
            attempts=[attempt.to_dict() for attempt in gen.attempts],
            duration_ms=gen.duration_ms,
            language=gen.language,
            verified=gen.verified,
            checked=gen.label,
        )

    def record_execution(
        self,
        code: str,
        execution: Execution,
        *,
        session_id: str | None = None,
        prompt: str | None = None,
        timed_out: bool = False,
    ) -> int:
        """Record a run; ``timed_out`` marks the partial `Execution` of an interrupted run."""
        return self.insert_row(execution_row(code, execution, session_id=session_id,
                                             prompt=prompt, timed_out=timed_out))

    def _insert(self, **fields: Any) -> int:
        return self.insert_row(entry_row(**fields))

    def insert_row(self, row: Row) -> int:
        """Insert a row of `agentcode.store.rows.COLUMNS` (already scrubbed); its entry id."""
        session_id, now = row[0], row[10]
        with self.transaction():
            cursor = self._conn.execute(
                f"INSERT INTO entries ({COLUMNS}) VALUES ({', '.join('?' * len(row))})", row
            )
            if session_id:
                self._conn.execute(
                    "INSERT INTO sessions (id, created_at, last_used_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET last_used_at = excluded.last_used_at",
                    (session_id, now, now),
                )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def delete(self, ids: Iterable[int]) -> int:
        """Delete these entries; return how many existed."""
        wanted = sorted(set(ids))
        with self.transaction():
            deleted = sum(
                self._conn.execute("DELETE FROM entries WHERE id = ?", (i,)).rowcount
                for i in wanted
            )
            self._drop_empty_sessions()
        return deleted

    def clear(self) -> int:
        """Delete every entry and session; return how many entries there were."""
        with self.transaction():
            count = self._conn.execute("DELETE FROM entries").rowcount
            self._conn.execute("DELETE FROM sessions")
        # Give the space back and leave no copy of the deleted text in the WAL file.
        self._conn.execute("VACUUM")
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count

    def _drop_empty_sessions(self) -> None:
        self._conn.execute(
            "DELETE FROM sessions WHERE id NOT IN"
            " (SELECT session_id FROM entries WHERE session_id IS NOT NULL)"
        )

    # -- reading -----------------------------------------------------------------------------

    def get(self, entry_id: int) -> HistoryEntry | None:
        row = self._conn.execute("SELECT * FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return _entry(row) if row else None

    def missing(self, ids: Iterable[int]) -> list[int]:
        """Those of ``ids`` that name no entry, in order."""
        return [
            i
            for i in dict.fromkeys(ids)
            if self._conn.execute("SELECT 1 FROM entries WHERE id = ?", (i,)).fetchone() is None
        ]

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM entries").fetchone()[0])

    def list(
        self,
        limit: int | None = 20,
        session: str | None = None,
        kind: str | None = None,
        failed: bool = False,
    ) -> Entries:
        """Newest first. ``failed`` keeps runs that raised or exited non-zero."""
        where: list[str] = []
        params: list[Any] = []
        if session:
            where.append("session_id = ?")
            params.append(session)
        if kind:
            if kind not in ("gen", "run"):
                raise UsageError(f"unknown kind {kind!r}: use 'gen' or 'run'")
            where.append("kind = ?")
            params.append(kind)
        if failed:
            where.append("(error IS NOT NULL OR (exit_code IS NOT NULL AND exit_code != 0))")
        sql = "SELECT * FROM entries"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(-1 if limit is None else limit)
        return [_entry(row) for row in self._conn.execute(sql, params)]

    def search(self, text: str, limit: int | None = 20) -> Entries:
        """Full-text search over prompt, code, stdout and stderr; newest first.

        ``text`` is an FTS5 query (``sqrt AND code:math``); if it is not valid FTS5 syntax it is
        searched for as a phrase instead, so ``foo(`` or ``a.b`` just work.
        """
        query = text.strip()
        if not query:
            raise UsageError("nothing to search for: give a word or phrase")
        try:
            return self._match(query, limit)
        except sqlite3.OperationalError:
            pass
        phrase = '"' + query.replace('"', '""') + '"'
        try:
            return self._match(phrase, limit)
        except sqlite3.OperationalError as exc:
            raise UsageError(f"cannot search for {text!r}: {exc}") from exc

    def _match(self, query: str, limit: int | None) -> Entries:
        rows = self._conn.execute(
            "SELECT entries.* FROM entries_fts JOIN entries ON entries.id = entries_fts.rowid"
            " WHERE entries_fts MATCH ? ORDER BY entries.id DESC LIMIT ?",
            (query, -1 if limit is None else limit),
        ).fetchall()
        return [_entry(row) for row in rows]

    def export(self, fp: IO[str]) -> int:
        """Write every entry, oldest first, as JSON Lines; return how many."""
        n = 0
        for row in self._conn.execute("SELECT * FROM entries ORDER BY id"):
            fp.write(_entry(row).to_json() + "\n")
            n += 1
        return n

    def last_session_id(self) -> str | None:
        row = self._conn.execute(
            "SELECT session_id FROM entries WHERE session_id IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def find_session(self, prefix: str) -> str | None:
        """The session id equal to ``prefix`` or, failing that, the one it uniquely starts.

        Raises `UsageError` when several sessions start with it.
        """
        prefix = prefix.strip()
        if not prefix:
            return None
        exact = self._conn.execute("SELECT id FROM sessions WHERE id = ?", (prefix,)).fetchone()
        if exact:
            return str(exact[0])
        rows = self._conn.execute(
            "SELECT id FROM sessions WHERE substr(id, 1, ?) = ? ORDER BY last_used_at DESC"
            " LIMIT 6",
            (len(prefix), prefix),
        ).fetchall()
        if len(rows) > 1:
            shown = ", ".join(str(r[0]) for r in rows[:5])
            raise UsageError(
                f"session {prefix!r} is ambiguous ({shown}{', ...' if len(rows) > 5 else ''}):"
                " give more of its id"
            )
        return str(rows[0][0]) if rows else None

    def conversation(self, session_id: str) -> Entries:
        """Every entry of one session, oldest first: what a resumed session replays."""
        rows = self._conn.execute(
            "SELECT * FROM entries WHERE session_id = ? ORDER BY id", (session_id,)
        )
        return [_entry(row) for row in rows]


def _entry(row: sqlite3.Row) -> HistoryEntry:
    data = dict(row)
    try:
        data["attempts"] = json.loads(data.get("attempts") or "[]")
    except ValueError:
        data["attempts"] = []
    if data.get("verified") is not None:
        data["verified"] = bool(data["verified"])
    return HistoryEntry.from_dict(data)
