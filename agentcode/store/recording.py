"""Recording that never fails the caller: `gen` and `run` must work without a usable history.

Only the public layer (`agentcode.api`) records: one `HistoryWriter` per `Session`, holding one
connection for the session's life, and a short-lived one per one-shot `generate` / `execute`.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

from agentcode.config import Settings
from agentcode.store.sqlite import HistoryStore, open_store
from agentcode.types import Execution, Generation

T = TypeVar("T")

_warned = False


class HistoryWriter:
    """Writes entries through one store connection, opened on the first write.

    Off when ``settings.history`` is False. A broken store (unwritable, corrupt, locked past the
    timeout) prints one warning per process on stderr, however many times it is hit, and never
    raises; the connection is dropped then and opened afresh by the next write. Safe to share
    between threads (a server's requests on one Session).
    """

    def __init__(self, settings: Settings | None, *, session_id: str | None = None,
                 path: str | None = None) -> None:
        self.settings = settings
        self.session_id = session_id
        self.path = path
        self._store: HistoryStore | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.settings is None or self.settings.history

    def write(self, fn: Callable[[HistoryStore], T]) -> T | None:
        """Run ``fn`` on the store and return its result, or ``None`` when off or broken."""
        if not self.enabled:
            return None
        with self._lock:
            try:
                if self._store is None:
                    self._store = open_store(self.path, self.settings)
                return fn(self._store)
            except Exception as exc:  # noqa: BLE001 - history is a convenience; the result matters
                self._close_quietly()
                _warn_once(exc)
                return None

    def generation(self, gen: Generation) -> int | None:
        """Record a generation; return its entry id, or ``None`` if it was not saved."""
        session_id = self.session_id
        return self.write(lambda store: store.record_generation(gen, session_id=session_id))

    def execution(self, code: str, execution: Execution, *, prompt: str | None = None,
                  timed_out: bool = False) -> int | None:
        """Record an execution; ``timed_out``: the partial run of code stopped at its time limit
        (stored as exit 124, TimeoutError)."""
        session_id = self.session_id
        return self.write(lambda store: store.record_execution(
            code, execution, session_id=session_id, prompt=prompt, timed_out=timed_out))

    def close(self) -> None:
        with self._lock:
            self._close_quietly()

    def _close_quietly(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):  # closing a broken connection cannot help
                store.close()


def record_safely(
    settings: Settings | None, fn: Callable[[HistoryStore], T], *, path: str | None = None
) -> T | None:
    """Run ``fn`` on the store once (opened and closed here); see `HistoryWriter.write`."""
    writer = HistoryWriter(settings, path=path)
    try:
        return writer.write(fn)
    finally:
        writer.close()


def record_generation_safely(
    settings: Settings | None, gen: Generation, *, session_id: str | None = None
) -> int | None:
    """Record one generation; return its entry id, or ``None`` if it was not saved."""
    writer = HistoryWriter(settings, session_id=session_id)
    try:
        return writer.generation(gen)
    finally:
        writer.close()


def record_execution_safely(
    settings: Settings | None,
    code: str,
    execution: Execution,
    *,
    session_id: str | None = None,
    prompt: str | None = None,
    timed_out: bool = False,
) -> int | None:
    """Record one execution; return its entry id, or ``None`` if it was not saved."""
    writer = HistoryWriter(settings, session_id=session_id)
    try:
        return writer.execution(code, execution, prompt=prompt, timed_out=timed_out)
    finally:
        writer.close()


def _warn_once(exc: Exception) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    reason = str(exc) or type(exc).__name__
    sys.stderr.write(
        f"agentcode: warning: history not saved: {reason} (use --no-history to silence)\n"
    )


def reset_warning() -> None:
    """Allow the next failure to warn again (a long-lived process after the user fixed it)."""
    global _warned
    _warned = False
