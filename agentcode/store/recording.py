"""Recording that never fails the caller: `gen` and `run` must work without a usable history.

Only the public layer (`agentcode.api`) records: one `HistoryWriter` per `Session`, holding one
connection for the session's life, and a short-lived one per one-shot `generate` / `execute`.
"""

from __future__ import annotations

import atexit
import contextlib
import queue
import sys
import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

from agentcode.config import Settings
from agentcode.store.sqlite import HistoryStore, add_read_hook, open_store
from agentcode.types import Execution, Generation

T = TypeVar("T")

_warned = False


class HistoryWriter:
    """Writes entries through one store connection, opened on the first write.

    Off when ``settings.history`` is False. A broken store (unwritable, corrupt, locked past the
    timeout) prints one warning per process on stderr, however many times it is hit, and never
    raises; the connection is dropped then and opened afresh by the next write. Safe to share
    between threads (a server's requests on one Session).

    ``background=True`` (a `Session`'s writer) hands each entry to one writer thread, so a run
    does not wait for SQLite: `flush` waits for what is queued, and `close`, reading the store in
    this process (`agentcode.store.open_store`) and interpreter exit all flush first. The entry
    ids are then not known to the caller (None).
    """

    def __init__(self, settings: Settings | None, *, session_id: str | None = None,
                 path: str | None = None, background: bool = False) -> None:
        self.settings = settings
        self.session_id = session_id
        self.path = path
        self.background = background
        self._store: HistoryStore | None = None
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.settings is None or self.settings.history

    def write(self, fn: Callable[[HistoryStore], T]) -> T | None:
        """Run ``fn`` on the store and return its result, or ``None`` when off, broken or queued."""
        if not self.enabled:
            return None
        if self.background:
            self._start()
            self._queue.put(fn)
            return None
        results = self._write_now([fn])
        return results[0] if results else None

    def _write_now(self, batch: list[Callable[[HistoryStore], T]]) -> list[T]:
        """Run ``batch`` in one transaction (one commit however many entries); [] if broken."""
        with self._lock:
            try:
                if self._store is None:
                    self._store = open_store(self.path, self.settings)
                with self._store.transaction():
                    return [fn(self._store) for fn in batch]
            except Exception as exc:  # noqa: BLE001 - history is a convenience; the result matters
                self._close_quietly()
                _warn_once(exc)
                return []

    def generation(self, gen: Generation) -> int | None:
        """Record a generation; return its entry id, or ``None`` if it was not saved (or queued)."""
        session_id = self.session_id
        return self.write(lambda store: store.record_generation(gen, session_id=session_id))

    def execution(self, code: str, execution: Execution, *, prompt: str | None = None,
                  timed_out: bool = False) -> int | None:
        """Record an execution; ``timed_out``: the partial run of code stopped at its time limit
        (stored as exit 124, TimeoutError)."""
        session_id = self.session_id
        return self.write(lambda store: store.record_execution(
            code, execution, session_id=session_id, prompt=prompt, timed_out=timed_out))

    def flush(self) -> None:
        """Wait until every queued entry is written (no-op from the writer thread itself)."""
        thread = self._thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def close(self) -> None:
        """Write what is queued, stop the writer thread and close the connection."""
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            self._queue.put(None)
            thread.join()
        self._thread = None
        _live_writers.discard(self)
        with self._lock:
            self._close_quietly()

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with _start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._drain, daemon=True,
                                                name=_WRITER_THREAD)
                self._thread.start()
                _live_writers.add(self)

    def _drain(self) -> None:
        """Write what is queued, as many entries per transaction as have piled up meanwhile."""
        while True:
            batch: list[Callable[[HistoryStore], object]] = []
            job = self._queue.get()
            while True:
                if job is None or isinstance(job, threading.Event):
                    break
                batch.append(job)
                if len(batch) >= _MAX_BATCH:
                    job = _NOTHING
                    break
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    job = _NOTHING
                    break
            if batch:
                self._write_now(batch)
            if job is None:
                return
            if isinstance(job, threading.Event) and job is not _NOTHING:
                job.set()

    def _close_quietly(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):  # closing a broken connection cannot help
                store.close()


_WRITER_THREAD = "agentcode-history-writer"
_MAX_BATCH = 200
# A writer thread's queue holds entries to write, an Event to set once everything before it is
# written (flush), or None (stop).
_Job = Callable[[HistoryStore], object] | threading.Event | None
_NOTHING = threading.Event()  # "no control item came with this batch"
_start_lock = threading.Lock()
_live_writers: weakref.WeakSet[HistoryWriter] = weakref.WeakSet()


def flush_all() -> None:
    """Write every entry queued in this process (before reading the store, and at exit).

    Not from a writer thread: it opens its own store through here, and waiting there for
    another writer that waits for it would never end.
    """
    if threading.current_thread().name == _WRITER_THREAD:
        return
    for writer in list(_live_writers):
        writer.flush()


atexit.register(flush_all)
add_read_hook(flush_all)


def record_safely(
    settings: Settings | None, fn: Callable[[HistoryStore], T], *, path: str | None = None
) -> T | None:
    """Run ``fn`` on the store once (opened and closed here); see `HistoryWriter.write`."""
    with contextlib.closing(HistoryWriter(settings, path=path)) as writer:
        return writer.write(fn)


def record_generation_safely(
    settings: Settings | None, gen: Generation, *, session_id: str | None = None
) -> int | None:
    """Record one generation; return its entry id, or ``None`` if it was not saved."""
    with contextlib.closing(HistoryWriter(settings, session_id=session_id)) as writer:
        return writer.generation(gen)


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
    with contextlib.closing(HistoryWriter(settings, session_id=session_id)) as writer:
        return writer.execution(code, execution, prompt=prompt, timed_out=timed_out)


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
