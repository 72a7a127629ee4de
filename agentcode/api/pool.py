"""The open sessions of `agentcode serve` and `agentcode mcp`: one pool, one set of limits.

A session is one `agentcode.Session` (one sandbox), found by an id of 128 random bits (the id
is the capability to use it, so it is never guessable). Every operation on a session runs on
the session's own thread, one at a time (its lock): the Session's history connection and its
sandbox only ever see that thread, and calls on different sessions run side by side.

Limits:
- at most ``max_sessions`` sandboxes at once, counting the open sessions, the ones being
  created and the one-off calls (`once`: a session-less run in a sandbox of its own), so a
  client cannot get past the limit by not making a session;
  and never more than the machine's memory holds: sessions x ``limits.memory_mb`` (each
  session's cgroup limit) stays within `MEMORY_SHARE` of the physical memory, so sandboxes that
  each keep to their limit cannot together run the host out of memory;
- sessions idle past ``idle_seconds`` are closed by `reap` (``None``: kept until closed);
- a session that only lives while its front end holds it (`OpenSession.lingers`: a page's, held
  by its WebSocket) is closed once idle past ``linger_seconds`` with nothing attached, long
  enough for a reloaded page to reattach, short enough that pages do not fill the pool;
- closing a session that is running code kills its sandbox, and that call raises
  `SandboxError` rather than return what the killed sandbox left; `close_all` refuses new work,
  gives running calls ``grace`` seconds, then kills them, so no sandbox outlives the front end.

`obtain` is the one place a session comes from; with `keep_spare` a started local jail waits
for the next session (agentcode/sandbox/local/spare.py: handed to one session only, never
reused), so its first execution does not wait for a jail. The front end names its own ways
to create and close a session (`Wording`), so the errors say what its user can do.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from agentcode.errors import SandboxError, UsageError

if TYPE_CHECKING:
    from agentcode.api.session import ModelChoice, Session
    from agentcode.config import Settings

T = TypeVar("T")
# The part of the machine's memory the sessions' sandboxes may hold together.
MEMORY_SHARE = 0.75
X = TypeVar("X")  # what the front end keeps with each session


@dataclass(frozen=True, slots=True)
class Wording:
    """How the front end's user creates and closes a session, named in the pool's errors."""

    create: str  # e.g. "POST /v1/sessions", "create_session"
    close: str  # e.g. "DELETE /v1/sessions/ID", "close_session"


class UnknownSession(UsageError):
    """No open session has this id (never created, closed, or closed when idle)."""

    def __init__(self, session_id: str, wording: Wording) -> None:
        super().__init__(f"no open session {session_id!r}: create one with {wording.create} "
                         "(sessions close when deleted, when idle, or when the server stops)")
        self.session_id = session_id


class TooManySessions(UsageError):
    """The pool holds its maximum number of sandboxes, or is shutting down."""


@dataclass(slots=True, eq=False)
class OpenSession(Generic[X]):
    session: Session
    thread: ThreadPoolExecutor
    extra: X  # the front end's own state of the session (the server: the page's turns)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    running: int = 0  # operations started and not finished (waiting for the lock included)
    closed: bool = False  # closed (or being closed): no new operation may start
    attached: int = 0  # the front end's live connections to it (the page's WebSockets)
    lingers: bool = False  # unattached, it is reaped after ``linger_seconds``, not idle_seconds


class SessionPool(Generic[X]):
    """Open sessions by id, within limits; see the module's docstring.

    ``extra`` makes what the front end keeps with each session (`OpenSession.extra`).
    """

    def __init__(self, settings: Settings, *, extra: Callable[[], X], max_sessions: int,
                 idle_seconds: float | None = None,
                 sandboxes: tuple[str, ...] = ("local", "agentcore"),
                 model: ModelChoice | None = None,
                 wording: Wording = Wording("POST /v1/sessions", "DELETE /v1/sessions/ID"),
                 linger_seconds: float | None = None) -> None:
        self.settings = settings
        self.memory_sessions = memory_sessions(settings)
        self.max_sessions = min(max_sessions, self.memory_sessions)
        self.idle_seconds = idle_seconds
        self.linger_seconds = linger_seconds
        # Backends a client may ask for; the configured one is always among them.
        self.sandboxes = tuple(dict.fromkeys((*sandboxes, settings.sandbox)))
        self.model = model  # for sessions that name none; None: the configured chain
        self.wording = wording
        self.extra = extra
        self._open: dict[str, OpenSession[X]] = {}
        self._one_offs: set[OpenSession[X]] = set()
        self._creating = 0
        self._closing = False
        self._spare = False

    def keep_spare(self) -> None:
        """Keep one started jail ready for the next local session (one beyond the limit)."""
        if self.settings.sandbox == "local" and not self._closing:
            from agentcode.sandbox.local import spare

            spare.keep(self.settings)
            self._spare = True

    def __len__(self) -> int:
        """Open sessions (one-off calls are not sessions)."""
        return len(self._open)

    @property
    def in_use(self) -> int:
        """Sandboxes counted against ``max_sessions``."""
        return len(self._open) + len(self._one_offs) + self._creating

    def obtain(self, backend: str, *, model: ModelChoice | None = None,
               history: bool | None = None) -> Session:
        """A new Session on ``backend``, its sandbox not started yet: how the pool gets one."""
        from agentcode.api.session import Session

        return Session(backend, settings=self.settings, model=model or self.model,
                       session_id=secrets.token_hex(16), history=history)

    async def create(self, *, sandbox: str | None = None, model: str | None = None,
                     start: bool = False) -> Session:
        """Open a session; ``model`` is checked now, and ``start`` starts its sandbox now (so a
        sandbox that cannot start says so here rather than at the first call)."""
        backend = self._backend(sandbox)
        self._make_room()
        self._creating += 1
        try:
            entry = self._entry(self.obtain(backend))
            try:
                if model:  # an unknown name is refused now, not at the first turn
                    await _on_thread(entry, lambda s: s.use_model(model))
                if start:
                    await _on_thread(entry, lambda s: s.sandbox)
            except BaseException:
                _close(entry)
                raise
        finally:
            self._creating -= 1
        if self._closing:  # the front end stopped while the sandbox started
            _close(entry)
            raise TooManySessions("the server is shutting down")
        self._open[entry.session.id] = entry
        return entry.session

    async def once(self, call: Callable[[Session], T], *, sandbox: str | None = None) -> T:
        """``call`` with a Session of its own (no history of its own), closed afterwards.

        For a session-less run: it counts against ``max_sessions`` while it lasts, and
        `close_all` kills it like any session.
        """
        backend = self._backend(sandbox)
        self._make_room()
        entry = self._entry(self.obtain(backend, history=False))
        self._one_offs.add(entry)
        entry.running += 1
        try:
            return await self._call(entry, call)
        finally:
            entry.running -= 1
            self._one_offs.discard(entry)
            _close(entry)

    def get(self, session_id: str) -> OpenSession[X]:
        found = self._open.get(session_id)
        if found is None:
            raise UnknownSession(session_id, self.wording)
        return found

    @asynccontextmanager
    async def use(self, session_id: str) -> AsyncIterator[OpenSession[X]]:
        """The session, held for one operation (others on it wait their turn)."""
        entry = self.get(session_id)
        entry.running += 1
        try:
            async with entry.lock:
                if entry.closed:  # closed while we waited
                    raise UnknownSession(session_id, self.wording)
                entry.last_used = time.monotonic()
                yield entry
        finally:
            entry.running -= 1
            entry.last_used = time.monotonic()
            if entry.closed and entry.running == 0:  # retired while in use: close it now
                _close(entry)

    async def run(self, session_id: str, call: Callable[[Session], T]) -> T:
        """``call(session)`` on the session's thread, holding the session."""
        async with self.use(session_id) as entry:
            return await self._call(entry, call)

    async def _call(self, entry: OpenSession[X], call: Callable[[Session], T]) -> T:
        result = await _on_thread(entry, call)
        if entry.closed:
            raise SandboxError("the session was closed while the code ran (deleted, or the "
                               "server stopped): its sandbox was killed")
        return result

    async def delete(self, session_id: str) -> None:
        entry = self._open.pop(session_id, None)
        if entry is None:
            raise UnknownSession(session_id, self.wording)
        self._retire(entry)

    async def reap(self) -> list[str]:
        """Close the sessions idle for longer than ``idle_seconds``; return their ids."""
        now = time.monotonic()
        idle = [sid for sid, entry in self._open.items()
                if entry.running == 0 and (limit := self._idle_limit(entry)) is not None
                and now - entry.last_used > limit]
        for session_id in idle:
            self._retire(self._open.pop(session_id))
        return idle

    def _idle_limit(self, entry: OpenSession[X]) -> float | None:
        if entry.lingers and not entry.attached and self.linger_seconds is not None:
            return self.linger_seconds
        return self.idle_seconds

    async def reap_forever(self) -> None:
        limits = [t for t in (self.idle_seconds, self.linger_seconds) if t is not None]
        if not limits:
            return
        interval = max(0.05, min(30.0, min(limits) / 4))
        while True:
            await asyncio.sleep(interval)
            await self.reap()

    async def close_all(self, grace: float) -> None:
        """Refuse new work, let running calls finish for ``grace`` s, then close everything.

        A call still running then is killed, so it ends with an error and no sandbox process
        outlives the front end.
        """
        self._closing = True
        if self._spare:
            from agentcode.sandbox.local import spare

            await asyncio.to_thread(spare.stop)
        await self._wait_idle(grace)
        entries = [*self._open.values(), *self._one_offs]
        self._open.clear()
        closing = [self._retire(entry) for entry in entries]
        await self._wait_idle(10.0)
        for future in closing:
            if future is not None:
                await asyncio.wrap_future(future)

    def _retire(self, entry: OpenSession[X]) -> Future[None] | None:
        """Close a session; one in use is killed, and closed when its operation returns."""
        entry.closed = True
        if entry.running:
            entry.session.kill()
            return None
        return _close(entry)

    async def _wait_idle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (any(e.running for e in (*self._open.values(), *self._one_offs))
               and time.monotonic() < deadline):
            await asyncio.sleep(0.05)

    def _entry(self, session: Session) -> OpenSession[X]:
        """The session with a thread of its own, which lives as long as it does."""
        return OpenSession(session, ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"session-{session.id[:8]}"), self.extra())

    def _backend(self, sandbox: str | None) -> str:
        backend = sandbox or self.settings.sandbox
        if backend not in self.sandboxes:
            raise UsageError(f"sandbox {backend!r} is not offered here: use one of "
                             f"{', '.join(self.sandboxes)}")
        return backend

    def _make_room(self) -> None:
        if self._closing:
            raise TooManySessions("the server is shutting down")
        if self.in_use >= self.max_sessions:
            why = (f", all this machine's memory holds at {self.settings.limits.memory_mb} MiB "
                   "each" if self.max_sessions == self.memory_sessions else "")
            raise TooManySessions(
                f"the limit of {self.max_sessions} sessions{why} is reached (a run without a "
                f"session counts as one while it lasts): close a session with "
                f"{self.wording.close}, or wait for a run to end or an idle session to close"
            )


def memory_sessions(settings: Settings, total_bytes: int | None = None) -> int:
    """How many sandboxes at ``limits.memory_mb`` each fit in `MEMORY_SHARE` of the memory."""
    import os

    if total_bytes is None:
        try:
            total_bytes = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return 1 << 30  # unknown here: no bound from memory
    per_session = max(1, settings.limits.memory_mb) * 1024 * 1024
    return max(1, int(total_bytes * MEMORY_SHARE) // per_session)


async def _on_thread(entry: OpenSession[X], call: Callable[[Session], T]) -> T:
    return await asyncio.wrap_future(entry.thread.submit(call, entry.session))


def _close(entry: OpenSession[X]) -> Future[None] | None:
    """Close the session on its own thread (after what runs there), then let the thread end.

    Not awaited where it is called from a cancelled task: the close is queued either way.
    """
    entry.closed = True
    try:
        future = entry.thread.submit(entry.session.close)
    except RuntimeError:  # already shut down: closed before
        return None
    entry.thread.shutdown(wait=False)
    return future
