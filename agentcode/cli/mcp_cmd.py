"""`agentcode mcp`: serve agentcode's sandbox and models to an MCP client over stdio."""

from __future__ import annotations

from typing import Annotated

import typer

from agentcode.cli.choices import PLUGINS_NOTE, model_names, sandbox_names

HELP = """Serve agentcode as an MCP server over stdio (for Claude Desktop, IDEs, agents).

The client starts this command and talks MCP on its stdin/stdout. Tools: create_session,
close_session, execute_python, generate_python, write_file, read_file, list_files.
Every session ends when the client disconnects. See docs/agents.md for client configs.
"""


def mcp(
    sandbox: Annotated[str | None, typer.Option(
        "--sandbox", envvar="AGENTCODE_SANDBOX",
        help=f"Default sandbox for the sessions: {sandbox_names()}; {PLUGINS_NOTE}. "
        "Clients may choose local or agentcore per session, never unsafe.", show_default=False,
    )] = None,
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", envvar="AGENTCODE_MODEL",
        help=f"Model chain for generate_python (repeat or comma-separate): {model_names()}.",
        show_default=False,
    )] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", envvar="AGENTCODE_TIMEOUT",
        help="Default time limit of one execution, in seconds (default 30).", show_default=False,
    )] = None,
    max_sessions: Annotated[int, typer.Option(
        "--max-sessions", min=1,
        help="Sandboxes one client may use at once: open sessions, and runs without a session "
        "while they last."
    )] = 8,
    no_history: Annotated[bool, typer.Option(
        "--no-history", help="Do not record runs and generations in the history."
    )] = False,
) -> None:
    from agentcode.config import load_settings
    from agentcode.inputs import stdin_is_terminal
    from agentcode.mcp.server import serve_stdio
    from agentcode.models.registry import split_names, validate_names
    from agentcode.sandbox.registry import check_name

    if stdin_is_terminal():
        typer.echo("agentcode mcp: serving MCP on stdin/stdout for an MCP client to start "
                   "(see docs/agents.md); Ctrl-D ends it", err=True)

    models = split_names(model or [])
    # Lives as long as its client: it holds the embedded model itself (no keep-alive process).
    settings = load_settings(model=models or None, sandbox=sandbox, timeout=timeout,
                             history=False if no_history else None, local_keep_alive=0)
    # Refuse a bad name now (exit 2), not at the client's first call.
    check_name(settings.sandbox)
    validate_names(settings.model)
    serve_stdio(settings, max_sessions=max_sessions)


def register(app: typer.Typer) -> None:
    app.command("mcp", help=HELP)(mcp)
