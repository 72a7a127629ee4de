"""`agentcode doctor`: check this machine for agentcode, say what to fix. Exit 0 ready, 1 not."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from agentcode.cli.terminal import is_terminal

if TYPE_CHECKING:
    from agentcode.doctor import Check


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    online: Annotated[bool, typer.Option(
        "--online", help="Also ask AWS (STS) who the credentials belong to: one network call."
    )] = False,
    region: Annotated[str | None, typer.Option("--region", help="AWS region to check.")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile to check.")] = None,
) -> None:
    """Check the sandbox, the embedded model, AWS and the history database (no network calls
    unless --online).

    Each line is ok, warn (optional and missing) or fail, with the fix. Exit status 0 when
    everything the configuration uses works (by default: the local sandbox, the embedded model
    and the history), 1 otherwise.
    """
    from agentcode.config import Settings, config_path, load_settings
    from agentcode.doctor import Check, Status, report, run_checks
    from agentcode.errors import ConfigError

    lines: list[Check] = []
    try:
        settings = load_settings(region=region, profile=profile)
    except ConfigError as exc:
        lines.append(Check("config", Status.FAIL, str(exc), "fix the file; checked with defaults"))
        settings = Settings(region=region, profile=profile)
    else:
        path = config_path()
        found = f"{path}: keys and types valid" if path.exists() else f"no {path}: defaults"
        lines.append(Check("config", Status.OK, found))
    lines += run_checks(settings, online=online)
    document = report(lines)
    if json_output:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    elif is_terminal(sys.stdout):
        _print_table(lines)
    else:
        sys.stdout.write(_plain(lines))
    if not document["ok"]:
        raise typer.Exit(1)


def _plain(rows: list[Check]) -> str:
    width = max((len(row.name) for row in rows), default=0) + 2
    out = []
    for row in rows:
        out.append(f"{row.status.value:<6}{row.name:<{width}}{row.detail}")
        if row.fix:
            out.append(f"{'':<6}{'':<{width}}fix: {row.fix}")
    return "\n".join(out) + "\n"


def _print_table(lines: list[Check]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    colours = {"ok": "green", "warn": "yellow", "fail": "bold red"}
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("")
    table.add_column("check", no_wrap=True)
    table.add_column("found / fix", overflow="fold")
    for row in lines:
        # Text, not markup: details hold brackets of their own (agentcode[local]).
        text = Text(row.detail)
        if row.fix:
            text.append("\nfix: ", style="bold").append(row.fix)
        status = row.status.value
        table.add_row(Text(status, style=colours[status]), row.name, text)
    Console().print(table)
