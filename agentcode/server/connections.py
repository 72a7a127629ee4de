"""Connections before any request: a deadline for the request head, and a cap on how many.

uvicorn (h11) waits for a request's headers for ever, and the token gate runs only once they
are in, so anyone who can reach the port could hold connections open with half-sent requests:
1,100 of them at one byte per 20 s made a server with a 1,024 open-file limit refuse everyone
(and log "Too many open files" millions of times a minute). So:

- a connection must send a whole request head within ``header_seconds`` of connecting, and of
  each response it got; otherwise it is closed (a WebSocket, once upgraded, is not affected);
- at most ``max_connections`` are open at once: past that a new connection is closed as soon
  as it is accepted, and `open_file_budget` raises the soft open-file limit and keeps the cap
  below it, so a flood meets the cap, not EMFILE, and the sessions' jails still get their pipes.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

# File descriptors kept for everything but connections: the listener, the history store, the
# models' clients, and each session's jail (its pipes and pidfd).
_RESERVED_FDS = 128
_FDS_PER_SESSION = 16


def open_file_budget(max_connections: int, max_sessions: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards the hard one; the connection cap that fits under it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _RESERVED_FDS + _FDS_PER_SESSION * max_sessions + max_connections
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError):
            pass
    if soft == resource.RLIM_INFINITY:
        return max_connections
    room = soft - _RESERVED_FDS - _FDS_PER_SESSION * max_sessions
    return max(1, min(max_connections, room))


def guarded_protocol(header_seconds: float, max_connections: int) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with the head deadline and the connection cap."""

    class Guarded(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.abort()  # no room: refused before it costs anything for long
                return
            self._await_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_head()  # the next request on this connection gets its own deadline

        def _await_head(self) -> None:
            self._cancel_head()
            self._head_timer = self.loop.call_later(header_seconds, self._head_late, self.scope)

        def _cancel_head(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_late(self, scope_then: Any) -> None:
            # A new request head replaced the scope: it came in time (it may be an upgrade).
            self._head_timer = None
            if self.scope is scope_then and not self.transport.is_closing():
                self.transport.abort()

    return Guarded
