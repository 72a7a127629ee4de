"""The server's open sessions: one `agentcode.Session` (and jail) per id, within limits.

Each session runs one operation at a time (its lock), always on its own thread, which lives as
long as the session: a jail is started with ``--die-with-parent``, and "parent" means the
thread that started it, so a jail started on a pooled worker thread would die (and the session
lose its variables) whenever the pool retired that thread.
Sessions idle past ``idle_seconds`` are closed by `SessionPool.reap`, which kills their jails;
`SessionPool.close_all` does the same for every session when the server stops, after giving
running operations ``grace`` seconds to finish.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from anyio import to_thread

from agentcode.server.notebook import Turns

if TYPE_CHECKING:
    from agentcode import Session, Settings

T = TypeVar("T")


class UnknownSession(LookupError):
    """No open session has this id (never created, deleted, or closed when idle)."""


class TooManySessions(RuntimeError):
    """The server holds its maximum number of sessions."""


@dataclass(slots=True)
class OpenSession:
    session: Session
    thread: ThreadPoolExecutor
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    running: int = 0  # operations started and not finished (waiting for the lock included)
    closed: bool = False  # closed under a running operation (deleted, or the server stopped)
    turns: Turns = field(default_factory=Turns)  # what the page shows again after a reload


class SessionPool:
    def __init__(self, settings: Settings, *, max_sessions: int, idle_seconds: float,
                 sandboxes: tuple[str, ...]) -> None:
        self.settings = settings
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self.sandboxes = sandboxes  # backends a client may ask for
        self._open: dict[str, OpenSession] = {}
        self._closing = False

    def __len__(self) -> int:
        return len(self._open)

    async def create(self, *, model: str | None = None, sandbox: str | None = None) -> str:
        """Open a session (its sandbox starts on first use); refuses past ``max_sessions``."""
        from agentcode import Session
        from agentcode.errors import UsageError

        backend = sandbox or self.settings.sandbox
        if backend not in self.sandboxes:
            raise UsageError(
                f"sandbox {backend!r} is not offered by this server: use one of "
                f"{', '.join(self.sandboxes)}"
            )
        self._check_room()
        # 128 random bits: an id is the capability to use the session, so it is never guessable.
        session = Session(backend, settings=self.settings, session_id=secrets.token_hex(16))
        if model:  # an unknown name is refused now, not at the first turn
            await to_thread.run_sync(session.use_model, model)
        self._check_room()  # again: others may have been created meanwhile
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"session-{session.id[:8]}")
        self._open[session.id] = OpenSession(session, thread)
        return session.id

    def _check_room(self) -> None:
        if self._closing:
            raise TooManySessions("the server is shutting down")
        if len(self._open) >= self.max_sessions:
            raise TooManySessions(
                f"the server already holds {self.max_sessions} sessions: delete one "
                "(DELETE /v1/sessions/ID) or wait for an idle one to close"
            )

    def get(self, session_id: str) -> OpenSession:
        found = self._open.get(session_id)
        if found is None:
            raise UnknownSession(session_id)
        return found

    @asynccontextmanager
    async def use(self, session_id: str) -> AsyncIterator[Session]:
        """The session, held for one operation (others on it wait their turn)."""
        entry = self.get(session_id)
        entry.running += 1
        try:
            async with entry.lock:
                if self._open.get(session_id) is not entry:  # deleted while we waited
                    raise UnknownSession(session_id)
                entry.last_used = time.monotonic()
                yield entry.session
        finally:
            entry.running -= 1
            entry.last_used = time.monotonic()
            if entry.closed and entry.running == 0:  # retired while in use: close it now
                await _close(entry)

    async def run(self, session_id: str, call: Callable[[Session], T]) -> T:
        """``call(session)`` in a worker thread, holding the session.

        Raises `SandboxError` when the session was closed under the call (its sandbox killed),
        rather than return what the killed sandbox left.
        """
        from agentcode.errors import SandboxError

        entry = self.get(session_id)
        async with self.use(session_id) as session:
            result = await asyncio.wrap_future(entry.thread.submit(call, session))
        if entry.closed:
            raise SandboxError("the session was closed while the code ran (deleted, or the "
                               "server stopped): its sandbox was killed")
        return result

    async def delete(self, session_id: str) -> None:
        entry = self._open.pop(session_id, None)
        if entry is None:
            raise UnknownSession(session_id)
        await self._retire(entry)

    async def reap(self) -> list[str]:
        """Close the sessions idle for longer than ``idle_seconds``; return their ids."""
        now = time.monotonic()
        idle = [sid for sid, entry in self._open.items()
                if entry.running == 0 and now - entry.last_used > self.idle_seconds]
        for session_id in idle:
            await self._retire(self._open.pop(session_id))
        return idle

    async def _retire(self, entry: OpenSession) -> None:
        """Close a session; one in use is killed, and closed when its operation returns."""
        entry.closed = True
        if entry.running:
            entry.session.kill()
        else:
            await _close(entry)

    async def reap_forever(self) -> None:
        interval = max(0.05, min(30.0, self.idle_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            await self.reap()

    async def close_all(self, grace: float) -> None:
        """Refuse new sessions, let running operations finish for ``grace`` s, close them all.

        A session still running code then is killed, so its request ends with an error and no
        sandbox process outlives the server.
        """
        self._closing = True
        await self._wait_idle(grace)
        entries = list(self._open.values())
        self._open.clear()
        for entry in entries:
            await self._retire(entry)
        await self._wait_idle(10.0, entries)

    async def _wait_idle(self, seconds: float, entries: list[OpenSession] | None = None) -> None:
        deadline = time.monotonic() + seconds
        while (any(e.running for e in (self._open.values() if entries is None else entries))
               and time.monotonic() < deadline):
            await asyncio.sleep(0.05)


async def _close(entry: OpenSession) -> None:
    """Close the session on its own thread, then let the thread end."""
    try:
        await asyncio.wrap_future(entry.thread.submit(entry.session.close))
    finally:
        entry.thread.shutdown(wait=False)
