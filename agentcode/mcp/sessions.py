"""The sessions an MCP client opened: found by id, used one call at a time, all closed at the end.

Tools run in worker threads (a run blocks for up to its timeout), so each session has a lock: two
calls on one session take turns, calls on different sessions run side by side. Closing a session
that is busy marks it; the call running in it closes it when it finishes. `close_all` runs when
the client disconnects, so no jail outlives the server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agentcode import Session, Settings, UsageError

if TYPE_CHECKING:
    from agentcode.api.session import ModelChoice


@dataclass(slots=True)
class _Entry:
    session: Session
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: bool = False


class SessionPool:
    """At most ``limit`` open sessions, each a `agentcode.Session` of its own sandbox."""

    def __init__(self, settings: Settings, *, limit: int,
                 model: ModelChoice | None = None) -> None:
        self.settings = settings
        self.model = model  # None: the configured chain
        self.limit = limit
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._closed = False

    def create(self, sandbox: str | None = None) -> Session:
        """Open a session and start its sandbox now, so a sandbox that cannot start says so here."""
        with self._lock:
            if self._closed:
                raise UsageError("the server is shutting down")
            if len(self._entries) >= self.limit:
                raise UsageError(
                    f"too many open sessions ({self.limit}): close one with close_session first"
                )
            session = Session(sandbox, settings=self.settings, model=self.model)
            entry = _Entry(session)
            self._entries[session.id] = entry
        with entry.lock:
            try:
                session.sandbox  # noqa: B018 - starts the sandbox
            except BaseException:
                with self._lock:
                    self._entries.pop(session.id, None)
                session.close()
                raise
        if entry.closing:  # the client left while the sandbox started
            self._close(entry)
            raise UsageError("the server is shutting down")
        return session

    @contextmanager
    def use(self, session_id: str) -> Iterator[Session]:
        """The session, held for this caller alone until the block ends."""
        with self._lock:
            entry = self._entries.get(session_id)
        if entry is None:
            raise UsageError(
                f"no open session {session_id!r}: create one with create_session "
                "(sessions end when they are closed or the client disconnects)"
            )
        entry.lock.acquire()
        try:
            if entry.closing:
                raise UsageError(f"session {session_id!r} was closed")
            yield entry.session
        finally:
            entry.lock.release()
            if entry.closing:  # closed while this call ran: finish the job
                self._close(entry)

    def close(self, session_id: str) -> None:
        with self._lock:
            entry = self._entries.pop(session_id, None)
        if entry is None:
            raise UsageError(f"no open session {session_id!r}")
        self._close(entry)

    def close_all(self) -> None:
        with self._lock:
            self._closed = True
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            self._close(entry)

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _close(entry: _Entry) -> None:
        """Close now if idle; if busy, whoever releases the lock next sees ``closing``."""
        entry.closing = True
        if entry.lock.acquire(blocking=False):
            try:
                entry.session.close()
            finally:
                entry.lock.release()
