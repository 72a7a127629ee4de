"""Named schema migrations, applied once each, in order, recorded in ``_migrations``.

The scheme follows Simon Willison's ``llm``: every migration is a function registered under its
name; ``_migrations(name, applied_at)`` lists the ones a database has had. Never rename or edit
a migration that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from agentcode.store.rows import utc_now

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE entries (
            id INTEGER PRIMARY KEY,
            session_id TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('gen', 'run')),
            prompt TEXT,
            code TEXT,
            model TEXT,
            attempts TEXT NOT NULL DEFAULT '[]',
            stdout TEXT,
            stderr TEXT,
            exit_code INTEGER,
            duration_ms REAL,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX entries_session ON entries (session_id, id)")


@migration
def m002_entry_details(db: sqlite3.Connection) -> None:
    for column in (
        "error TEXT",
        "backend TEXT",
        "language TEXT",
        "verified INTEGER",
        "stdout_dropped INTEGER NOT NULL DEFAULT 0",
        "stderr_dropped INTEGER NOT NULL DEFAULT 0",
        "code_dropped INTEGER NOT NULL DEFAULT 0",
    ):
        db.execute(f"ALTER TABLE entries ADD COLUMN {column}")


@migration
def m003_full_text_search(db: sqlite3.Connection) -> None:
    # External-content FTS5: the text lives once, in `entries`; triggers keep the index in step.
    db.execute(
        """
        CREATE VIRTUAL TABLE entries_fts USING fts5(
            prompt, code, stdout, stderr,
            content='entries', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
        )
        """
    )
    # Not executescript(): it would COMMIT the migration transaction half-way.
    for statement in _FTS_TRIGGERS:
        db.execute(statement)
    # Index the rows written before this migration.
    db.execute("INSERT INTO entries_fts (entries_fts) VALUES ('rebuild')")


_FTS_TRIGGERS = (
    """
    CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
        INSERT INTO entries_fts (rowid, prompt, code, stdout, stderr)
        VALUES (new.id, new.prompt, new.code, new.stdout, new.stderr);
    END
    """,
    """
    CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
        INSERT INTO entries_fts (entries_fts, rowid, prompt, code, stdout, stderr)
        VALUES ('delete', old.id, old.prompt, old.code, old.stdout, old.stderr);
    END
    """,
    """
    CREATE TRIGGER entries_fts_update AFTER UPDATE ON entries BEGIN
        INSERT INTO entries_fts (entries_fts, rowid, prompt, code, stdout, stderr)
        VALUES ('delete', old.id, old.prompt, old.code, old.stdout, old.stderr);
        INSERT INTO entries_fts (rowid, prompt, code, stdout, stderr)
        VALUES (new.id, new.prompt, new.code, new.stdout, new.stderr);
    END
    """,
)


@migration
def m004_sessions(db: sqlite3.Connection) -> None:
    # One row per session: when it started and was last used, so `resume` can list and pick one.
    db.execute(
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            last_used_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        INSERT INTO sessions (id, created_at, last_used_at)
        SELECT session_id, MIN(created_at), MAX(created_at) FROM entries
        WHERE session_id IS NOT NULL GROUP BY session_id
        """
    )
    db.execute("CREATE INDEX entries_created ON entries (created_at)")


@migration
def m005_checked(db: sqlite3.Connection) -> None:
    # What a generation's code went through ("ran cleanly on the given input (1 round)").
    db.execute("ALTER TABLE entries ADD COLUMN checked TEXT")


@migration
def m006_spooled(db: sqlite3.Connection) -> None:
    # Ids of the spooled entries (agentcode.store.spool) merged from a file not yet removed:
    # merging it again after a crash adds none of them twice.
    db.execute("CREATE TABLE spooled (id TEXT PRIMARY KEY)")


def _ensure_table(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )


def applied(db: sqlite3.Connection) -> list[str]:
    """Names of the migrations this database has had, in the order they were applied."""
    try:
        rows = db.execute("SELECT name FROM _migrations ORDER BY rowid").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    return [row[0] for row in rows]


def pending(db: sqlite3.Connection) -> list[str]:
    done = set(applied(db))
    return [name for name, _ in MIGRATIONS if name not in done]


def migrate(db: sqlite3.Connection, *, upto: str | None = None) -> list[str]:
    """Apply every pending migration (or those up to and including ``upto``); return their names.

    The whole run is one ``BEGIN IMMEDIATE`` transaction, so two processes opening a fresh
    database at once cannot both migrate it: the second waits, then finds nothing to do.
    ``db`` must be in autocommit mode (``isolation_level=None``).
    """
    if not pending(db) and upto is None:
        return []  # the common case: a read, no write lock
    done: list[str] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        _ensure_table(db)
        already = set(applied(db))
        for name, fn in MIGRATIONS:
            if name not in already:
                fn(db)
                db.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, utc_now())
                )
                done.append(name)
            if name == upto:
                break
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return done
