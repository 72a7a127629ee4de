"""`agentcode history`: list, show, search, export and delete what `gen` and `run` recorded.

The store (and sqlite3) is imported inside the commands, never at module level: this module is
imported by the app for every command, `agentcode run` included.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from agentcode.cli.history_options import DbOption
from agentcode.cli.terminal import is_terminal
from agentcode.errors import StoreError, UsageError
from agentcode.inputs import stdin_is_terminal

if TYPE_CHECKING:
    from agentcode.store import HistoryStore


class Kind(enum.StrEnum):
    gen = "gen"
    run = "run"


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
LimitOption = Annotated[
    int, typer.Option("-n", "--limit", min=1, help="Show at most this many entries.")
]
# The filters of `history` and `history list` (the same listing).
SessionOption = Annotated[str | None, typer.Option("--session", help="Only this session.")]
KindOption = Annotated[Kind | None, typer.Option("--kind", help="Only gen or run entries.")]
FailedOption = Annotated[bool, typer.Option("--failed", help="Only runs that failed.")]

history_app = typer.Typer(
    help="Show, search, export and delete the history of gen and run (newest first).\n\n"
    "Without a subcommand: the same as `agentcode history list`.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _db_path(ctx: typer.Context, db: str | None) -> Path:
    from agentcode.config import load_settings
    from agentcode.store import resolve_path

    group_db = (ctx.obj or {}).get("db") if isinstance(ctx.obj, dict) else None
    return resolve_path(settings=load_settings(db=db or group_db))


def _exists(path: Path) -> bool:
    """A database, or `agentcode run`'s entries spooled for one (agentcode.store.spool)."""
    from agentcode.store.spool import spool_path

    return path.exists() or spool_path(path).exists()


@contextmanager
def _open(path: Path) -> Iterator[HistoryStore]:
    """The store, with SQLite's own errors turned into one-line `StoreError`s."""
    import sqlite3

    from agentcode.store import open_store

    try:
        store = open_store(path)
    except StoreError as exc:
        raise StoreError(f"{exc} (pass --db PATH to use another file)") from exc
    with store:
        try:
            yield store
        except sqlite3.Error as exc:
            raise StoreError(f"history database {path}: {exc}") from exc


def _list(
    path: Path, limit: int, session: str | None, kind: Kind | None, failed: bool, as_json: bool
) -> None:
    entries = []
    if _exists(path):  # reading never creates a database
        with _open(path) as store:
            entries = store.list(limit, session=session, kind=kind.value if kind else None,
                                 failed=failed)  # fmt: skip
    from agentcode.cli import history_view

    history_view.print_entries(entries, as_json=as_json, terminal=is_terminal(sys.stdout))


@history_app.callback()
def list_entries(
    ctx: typer.Context,
    limit: LimitOption = 20,
    session: SessionOption = None,
    kind: KindOption = None,
    failed: FailedOption = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List entries, newest first (tab-separated when piped)."""
    # Both `history` (no subcommand) and `history list`; as the group's callback it also hands
    # --db to the subcommands.
    ctx.obj = {"db": db}
    if ctx.invoked_subcommand is None:
        _list(_db_path(ctx, db), limit, session, kind, failed, as_json)


history_app.command("list")(list_entries)


@history_app.command("show")
def show(
    ctx: typer.Context,
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="Entry id (see `history list`).")],
    code_only: Annotated[
        bool, typer.Option("--code", help="Print only the code, e.g. to pipe into `run -`.")
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show one entry: its prompt, code, output and errors."""
    path = _db_path(ctx, db)
    entry = None
    if _exists(path):
        with _open(path) as store:
            entry = store.get(entry_id)
    if entry is None:
        raise UsageError(f"no history entry {entry_id}: see `agentcode history list`")
    if code_only:
        if entry.code is None:
            raise UsageError(f"history entry {entry_id} has no code")
        sys.stdout.write(entry.code if entry.code.endswith("\n") else entry.code + "\n")
    elif as_json:
        sys.stdout.write(entry.to_json(indent=2) + "\n")
    else:
        from agentcode.cli import history_view

        history_view.print_entry(entry, terminal=is_terminal(sys.stdout))


@history_app.command("search")
def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Words or an FTS5 query, e.g. 'sqrt AND code:math'.")],
    limit: LimitOption = 20,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Full-text search over prompts, code, output and errors."""
    path = _db_path(ctx, db)
    entries = []
    if _exists(path):
        with _open(path) as store:
            entries = store.search(text, limit)
    elif not text.strip():
        raise UsageError("nothing to search for: give a word or phrase")
    from agentcode.cli import history_view

    history_view.print_entries(entries, as_json=as_json, terminal=is_terminal(sys.stdout))


@history_app.command("export")
def export(
    ctx: typer.Context,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Export every entry, oldest first, as JSON Lines."""
    path = _db_path(ctx, db)
    if not _exists(path):
        count = 0
        if output:
            _write_file(output, lambda fp: 0)
    elif output:
        with _open(path) as store:
            count = _write_file(output, store.export)
    else:
        with _open(path) as store:
            count = store.export(sys.stdout)
    if output:
        sys.stderr.write(f"agentcode: exported {count} entries to {output}\n")


def _write_file(output: str, write: Callable[[IO[str]], int]) -> int:
    try:
        with open(output, "w", encoding="utf-8") as fp:
            return write(fp)
    except IsADirectoryError:
        raise UsageError(f"{output} is a directory: pass a file name to -o") from None
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None


@history_app.command("rm")
def remove(
    ctx: typer.Context,
    ids: Annotated[list[int], typer.Argument(metavar="ID...", help="Entry ids to delete.")],
    db: DbOption = None,
) -> None:
    """Delete entries by id (all or none: an unknown id deletes nothing)."""
    path = _db_path(ctx, db)
    if not _exists(path):
        raise UsageError(f"no history entries with id {_ids(ids)}: nothing deleted")
    with _open(path) as store:
        missing = store.missing(ids)
        if missing:
            raise UsageError(
                f"no history entries with id {_ids(missing)}: nothing deleted "
                "(see `agentcode history list`)"
            )
        deleted = store.delete(ids)
    sys.stderr.write(f"agentcode: deleted {deleted} entr{'y' if deleted == 1 else 'ies'}\n")


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


@history_app.command("clear")
def clear(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
) -> None:
    """Delete every entry (asks first on a terminal)."""
    path = _db_path(ctx, db)
    if not yes:
        if not stdin_is_terminal():
            raise UsageError("refusing to clear the history without confirmation: pass --yes")
        if not typer.confirm(f"Delete every history entry in {path}?", err=True):
            raise typer.Abort()
    if not _exists(path):
        sys.stderr.write("agentcode: history is already empty\n")
        return
    with _open(path) as store:
        count = store.clear()
    sys.stderr.write(f"agentcode: deleted {count} entr{'y' if count == 1 else 'ies'}\n")


@history_app.command("path")
def show_path(ctx: typer.Context, db: DbOption = None) -> None:
    """Print the path of the history database."""
    sys.stdout.write(f"{_db_path(ctx, db)}\n")


def register(app: typer.Typer) -> None:
    app.add_typer(history_app, name="history")
