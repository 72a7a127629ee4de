"""Start `agentcode serve`: check where it listens, print the URL with its token, run uvicorn.

Ctrl-C or SIGTERM: uvicorn stops accepting, lets running requests finish for the grace period
and cancels the rest; the app's shutdown then closes every session, which kills its jail.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import secrets
import socket
import sys
from typing import Any
from urllib.parse import quote

import uvicorn

from agentcode.api.pool import MEMORY_SHARE, SessionPool
from agentcode.errors import UsageError
from agentcode.server.app import ServerConfig, create_app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def choose_token(given: str | None, host: str) -> str:
    """``given`` (flag or AGENTCODE_TOKEN), else a fresh random one; "" only on loopback."""
    if given is None:
        return secrets.token_urlsafe(24)
    if not given and not is_loopback(host):
        raise UsageError(
            f"refusing to serve on {host} without a token: anyone who can reach it could run "
            "code; drop --token '' (a random token is made) or set AGENTCODE_TOKEN"
        )
    return given


def page_url(host: str, port: int, token: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    query = f"?token={quote(token)}" if token else ""
    return f"http://{shown}:{port}/{query}"


def serve(config: ServerConfig, *, host: str, port: int, open_browser: bool = False) -> None:
    """Run the server until Ctrl-C / SIGTERM (blocking)."""
    listener = _bind(host, port)
    bound_port = listener.getsockname()[1]
    url = page_url(host, bound_port, config.token)
    app = create_app(config)
    held = app.state.pool.max_sessions
    if held < config.max_sessions:
        sys.stderr.write(f"agentcode: warning: at most {held} sessions, not {config.max_sessions}: "
                         f"that is what {int(MEMORY_SHARE * 100)}% of this machine's memory "
                         f"holds at {config.settings.limits.memory_mb} MiB each\n")
    server = GracefulServer(uvicorn_config(app, config), pool=app.state.pool,
                            grace=config.grace_seconds)
    sys.stderr.write(f"agentcode: serving on {url}\n"
                     "agentcode: open that URL (it holds the token); Ctrl-C stops the server\n")
    sys.stderr.flush()
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    server.run(sockets=[listener])


def uvicorn_config(app: Any, config: ServerConfig) -> uvicorn.Config:
    """How uvicorn runs the app: request heads have a deadline, connections a cap (see
    `agentcode.server.connections`)."""
    from agentcode.server.connections import guarded_protocol, open_file_budget

    cap = open_file_budget(config.max_connections, config.max_sessions)
    return uvicorn.Config(
        # uvicorn's own deadline comes after ours: by then every request has its answer.
        app, log_level="warning", timeout_graceful_shutdown=math.ceil(config.grace_seconds) + 5,
        ws_max_size=config.request_bytes, server_header=False, lifespan="on",
        http=guarded_protocol(config.header_seconds, cap),
    )


class GracefulServer(uvicorn.Server):
    """On Ctrl-C / SIGTERM: while uvicorn stops accepting and waits for the open requests,
    the sessions get the grace period, then their jails are killed, which ends those requests
    with an error rather than leave them to be cancelled."""

    def __init__(self, config: uvicorn.Config, *, pool: SessionPool[Any], grace: float) -> None:
        super().__init__(config)
        self.pool = pool
        self.grace = grace

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        closing = asyncio.create_task(self.pool.close_all(self.grace))
        await super().shutdown(sockets)
        await closing


def _bind(host: str, port: int) -> socket.socket:
    """Bind now, so a port in use is one clear error, and port 0 gets a real port to print."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that say TCP,
    # and without it every keep-alive response waited ~40 ms for a delayed ACK.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host.strip("[]"), port))
    except OSError as exc:
        listener.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}: "
                         "choose another --port or --host") from None
    listener.listen(128)
    listener.set_inheritable(True)
    return listener
