"""How `agentcode history` prints entries: a rich table on a terminal, tab-separated when piped."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from agentcode.cli.terminal import escape_controls, for_stream
from agentcode.types import HistoryEntry

SUMMARY_WIDTH = 80


def status(entry: HistoryEntry) -> str:
    """'ok', the exception name, or 'exit N' for a run; for a generation what its code went
    through ('tests passed (2 rounds)', 'not run'; older entries: 'verified' or 'ok')."""
    if entry.kind == "gen":
        if entry.checked:
            return entry.checked
        return "verified" if entry.verified else "ok"
    if entry.error:
        return entry.error
    if entry.exit_code:
        return f"exit {entry.exit_code}"
    return "ok"


def _colour(state: str) -> str:
    from agentcode.types import NOT_RUN, RAN_NO_INPUT, RAN_ON_INPUT, TESTS_PASSED

    if state in ("ok", "verified") or state.startswith((TESTS_PASSED, RAN_ON_INPUT, RAN_NO_INPUT)):
        return "green"
    return "yellow" if state == NOT_RUN else "red"


def summary(entry: HistoryEntry, width: int = SUMMARY_WIDTH) -> str:
    """The prompt, or else the first non-blank line of code, on one line."""
    text = entry.prompt or next(
        (line for line in (entry.code or "").splitlines() if line.strip()), ""
    )
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def when(entry: HistoryEntry) -> str:
    """``2026-01-02 03:04:05`` (UTC) from the stored ISO-8601 timestamp."""
    return entry.created_at[:19].replace("T", " ")


def print_entries(entries: Sequence[HistoryEntry], *, as_json: bool, terminal: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        sys.stdout.write("\n")
    elif terminal:
        _print_table(entries)
    else:
        for e in entries:
            fields = (
                str(e.id), e.created_at, e.kind, status(e), e.session_id or "-", e.model or "-",
                summary(e),
            )  # fmt: skip
            sys.stdout.write("\t".join(fields) + "\n")


def _print_table(entries: Sequence[HistoryEntry]) -> None:
    from rich.console import Console
    from rich.table import Table

    if not entries:
        sys.stderr.write("agentcode: no history entries\n")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name, style in (("ID", "cyan"), ("When (UTC)", "dim"), ("Kind", ""), ("Status", ""),
                        ("Session", "dim"), ("Model", "dim"), ("Prompt / code", "")):
        table.add_column(name, style=style or None, no_wrap=name != "Prompt / code")
    for e in entries:
        state = status(e)
        colour = _colour(state)
        table.add_row(
            str(e.id), when(e), e.kind, f"[{colour}]{state}[/]", (e.session_id or "-")[:8],
            e.model or "-", summary(e),
        )  # fmt: skip
    Console().print(table)


def print_entry(entry: HistoryEntry, *, terminal: bool) -> None:
    """Every field, then the code, output and errors in sections."""
    out = sys.stdout
    header = {
        "id": entry.id,
        "kind": entry.kind,
        "created_at": entry.created_at,
        "session": entry.session_id,
        "model": entry.model,
        "backend": entry.backend,
        "status": status(entry),
        "exit_code": entry.exit_code,
        "duration_ms": None if entry.duration_ms is None else round(entry.duration_ms, 1),
    }
    for key, value in header.items():
        if value is not None:
            out.write(f"{key}: {value}\n")
    for attempt in entry.attempts:
        outcome = attempt.get("error") or "ok"
        out.write(f"attempt: {attempt.get('model')}: {outcome}\n")
    _section("prompt", entry.prompt, 0)
    if entry.code is not None:
        out.write("--- code ---\n")
        out.flush()
        if terminal:
            from rich.console import Console
            from rich.syntax import Syntax

            Console().print(Syntax(escape_controls(entry.code), entry.language or "python"))
        else:
            out.write(entry.code if entry.code.endswith("\n") else entry.code + "\n")
        if entry.code_dropped:
            out.write(f"[{entry.code_dropped} more bytes of code were not kept]\n")
    _section("stdout", entry.stdout, entry.stdout_dropped)
    _section("stderr", entry.stderr, entry.stderr_dropped)


def _section(name: str, text: str | None, dropped: int) -> None:
    if not text and not dropped:
        return
    out = sys.stdout
    out.write(f"--- {name} ---\n")
    if text:
        # Recorded program output: on a terminal its control sequences are shown, not obeyed.
        out.write(for_stream(out, text if text.endswith("\n") else text + "\n"))
    if dropped:
        out.write(f"[{dropped} more bytes of {name} were not kept]\n")
