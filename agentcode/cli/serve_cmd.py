"""`agentcode serve`: the web app and its HTTP/WebSocket API (agentcode.server), on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from agentcode.cli.history_options import DbOption, NoHistoryOption, history_overrides
from agentcode.errors import UsageError

HELP = """Serve the web app and the HTTP/WebSocket API (docs/api.md).

Prints the page's URL, with its token, on stderr: http://127.0.0.1:8765/?token=...
Every request needs the token (Authorization: Bearer TOKEN, or the page's cookie); /health
does not. The model stays loaded, so `agentcode gen --server URL` skips loading it.
Loopback only by default; another --host needs a token. Ctrl-C or SIGTERM stops it:
running code gets --grace seconds, then every sandbox is killed.
"""


def register(app: typer.Typer) -> None:
    app.command("serve", help=HELP)(serve)


def serve(
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on (0.0.0.0: every interface, needs a token).",
    )] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free).")
                    ] = 8765,
    token: Annotated[str | None, typer.Option(
        "--token", envvar="AGENTCODE_TOKEN", show_default=False,
        help="The token clients must send (default: a random one; '' turns auth off, "
        "loopback only).",
    )] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")
                            ] = False,
    models: Annotated[list[str] | None, typer.Option(
        "-m", "--model", envvar="AGENTCODE_MODEL", show_default=False,
        help="Default model or chain for new sessions (repeatable or comma-separated).",
    )] = None,
    sandbox: Annotated[str | None, typer.Option(
        "--sandbox", envvar="AGENTCODE_SANDBOX", show_default=False,
        help="Default sandbox for new sessions: local or agentcore (unsafe: only if named here).",
    )] = None,
    max_sessions: Annotated[int, typer.Option(
        "--max-sessions", min=1, help="Sessions open at once; more get HTTP 503.")] = 32,
    idle_timeout: Annotated[float, typer.Option(
        "--idle-timeout", min=1, help="Seconds before an unused session and its sandbox close.",
    )] = 900.0,
    grace: Annotated[float, typer.Option(
        "--grace", min=0, help="Seconds running code may finish when the server stops.")] = 10.0,
    warm: Annotated[bool, typer.Option(
        "--warm/--no-warm", help="Load the embedded model at start-up rather than on first use.",
    )] = True,
    no_history: NoHistoryOption = False,
    db: DbOption = None,
) -> None:
    from agentcode.config import load_settings
    from agentcode.models.registry import split_names
    from agentcode.sandbox.registry import check_name

    if sandbox is not None:
        check_name(sandbox)
    try:
        from agentcode.server.app import ServerConfig
        from agentcode.server.run import choose_token
        from agentcode.server.run import serve as run_server
    except ImportError as exc:
        from agentcode.config.install import install_hint

        raise UsageError(f"the server is not installed ({exc.name} is missing): "
                         f"{install_hint('serve')}") from None
    names = split_names(models or [])
    # The server lives long and holds the embedded model itself (--warm loads it at start), as
    # before the keep-alive: no background model process that would unload it when idle.
    settings = load_settings(model=names or None, sandbox=sandbox, local_keep_alive=0,
                             **history_overrides(no_history, db))
    config = ServerConfig(
        settings=settings, token=choose_token(token, host), max_sessions=max_sessions,
        idle_seconds=idle_timeout, upload_bytes=settings.max_input_bytes, grace_seconds=grace,
        warm=warm,
    )
    run_server(config, host=host, port=port, open_browser=open_browser)
