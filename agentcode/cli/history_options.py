"""The history options every recording command shares (`gen`, `run`, `history`)."""

from __future__ import annotations

from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="PATH",
        help="History database file (default: history.db in the data dir; env AGENTCODE_DB).",
        show_default=False,
    ),
]

NoHistoryOption = Annotated[
    bool,
    typer.Option(
        "--no-history",
        help="Do not record this in the history (env AGENTCODE_NO_HISTORY=1).",
    ),
]


def history_overrides(no_history: bool, db: str | None) -> dict[str, object]:
    """Keyword arguments for `load_settings`: only what the flags actually set."""
    return {"history": False if no_history else None, "db": db}
