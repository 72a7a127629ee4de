"""Connections before any request: a deadline for the request head, and a cap on how many.

uvicorn waits for a request's headers for ever, and the token gate runs only once they are in,
so anyone who can reach the port could hold connections open with half-sent requests: 1,100 of
them at one byte per 20 s made a server with a 1,024 open-file limit refuse everyone (and log
"Too many open files" millions of times a minute). So:

- a connection must send a whole request head within ``header_seconds`` of connecting, and of
  each response it got; otherwise it is closed (a WebSocket, once upgraded, is not affected);
- at most ``max_connections`` are open at once: past that a new connection is closed as soon
  as it is accepted, and `open_file_budget` raises the soft open-file limit and keeps the cap
  below it, so a flood meets the cap, not EMFILE, and the sessions' jails still get their pipes;
- a request head is at most `HEAD_BYTES` (h11's own limit; httptools has none): past it the
  connection gets a 400 and is closed.

The parser is httptools (C) where it is installed (the serve extra installs it): h11's, in
Python, was ~45% of the event loop's time per call, the time 20 clients queue for.
"""

from __future__ import annotations

import asyncio
import resource
from typing import cast

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


HEAD_BYTES = 16 * 1024  # h11's DEFAULT_MAX_INCOMPLETE_EVENT_SIZE


def guarded_protocol(header_seconds: float, max_connections: int,
                     parser: str = "auto") -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol (``parser="auto"``, where httptools is installed) or its
    h11 one, with the head deadline, the connection cap and the head size limit."""
    if parser == "auto":
        parser = "httptools" if _httptools_installed() else "h11"
    if parser == "httptools":
        return _guarded_httptools(header_seconds, max_connections)
    return _guarded_h11(header_seconds, max_connections)


def _httptools_installed() -> bool:
    try:
        import httptools
    except ImportError:
        return False
    return hasattr(httptools, "HttpRequestParser")  # not a stray directory of that name


class _HeadDeadline:
    """The head deadline and the connection cap, over either parser's protocol (the mixin comes
    first in the bases). Each parser says how a new head is seen: `_head_mark` is a value that
    changes when a head has come in since it was taken."""

    _header_seconds: float
    _max_connections: int
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        if len(self.connections) > self._max_connections:  # type: ignore[attr-defined]
            # no room: refused before it costs anything for long
            cast(asyncio.Transport, transport).abort()
            return
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head()
        super().connection_lost(exc)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():  # type: ignore[attr-defined]
            self._await_head()  # the next request on this connection gets its own deadline

    def _head_mark(self) -> object:
        raise NotImplementedError

    def _await_head(self) -> None:
        self._cancel_head()
        self._head_timer = self.loop.call_later(  # type: ignore[attr-defined]
            self._header_seconds, self._head_late, self._head_mark())

    def _cancel_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self, mark_then: object) -> None:
        # A head came in since (it may have been an upgrade): in time.
        self._head_timer = None
        if self._head_mark() is mark_then and \
                not self.transport.is_closing():  # type: ignore[attr-defined]
            self.transport.abort()  # type: ignore[attr-defined]


def _guarded_httptools(header_seconds: float, max_connections: int) -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Guarded(_HeadDeadline, HttpToolsProtocol):
        _header_seconds = header_seconds
        _max_connections = max_connections
        _head = object()  # replaced by a new object when a request head is in full
        _messages = 0  # requests it sent in full
        _in_head = False  # between a request's first byte and the end of its head
        _head_size = 0  # bytes received while in that head (at most one read more)

        def on_message_begin(self) -> None:
            self._in_head = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._head = object()  # before uvicorn's, which returns early for an upgrade
            self._in_head = False
            self._head_size = 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._messages += 1
            super().on_message_complete()

        def data_received(self, data: bytes) -> None:
            done = (self._head, self._messages)
            super().data_received(data)
            # A read in which nothing ended is all head, if a head is open; one in which a
            # request or a head ended is not counted (the new head's part is not known).
            if self._in_head and self._head is done[0] and self._messages == done[1]:
                self._head_size += len(data)
                if self._head_size > HEAD_BYTES and not self.transport.is_closing():
                    self.send_400_response("Invalid HTTP request received.")

        def _head_mark(self) -> object:
            return self._head

    return Guarded


def _guarded_h11(header_seconds: float, max_connections: int) -> type[asyncio.Protocol]:
    class Guarded(_HeadDeadline, H11Protocol):
        _header_seconds = header_seconds
        _max_connections = max_connections

        def _head_mark(self) -> object:
            return self.scope  # a new request head replaces the scope

    return Guarded
