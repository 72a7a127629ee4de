"""Recording that never fails the caller: `gen` and `run` must work without a usable history.

Only the public layer (`agentcode.api`) records: one `HistoryWriter` per `Session`, holding one
connection for the session's life, and a short-lived one per one-shot `generate` / `execute`.
"""

from __future__ import annotations

import atexit
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

from agentcode.config import Settings
from agentcode.store.notice import reset_warning, warn_once
from agentcode.store.rows import resolve_path
from agentcode.store.sqlite import HistoryStore, add_read_hook, open_store
from agentcode.types import Execution, Generation

T = TypeVar("T")
__all__ = ["HistoryWriter", "flush_all", "record_execution_safely", "record_generation_safely",
           "record_safely", "reset_warning"]

class HistoryWriter:
    """Writes entries through one store connection, opened on the first write.

    Off when ``settings.history`` is False. A broken store (unwritable, corrupt, locked past the
    timeout) prints one warning per process on stderr, however many times it is hit, and never
    raises; the connection is dropped then and opened afresh by the next write. Safe to share
    between threads (a server's requests on one Session).

    ``background=True`` (a `Session`'s writer) only queues each entry: the database file's one
    writer thread in this process (`_FileWriter`, shared by every Session writing to it) writes
    them, many per transaction. `flush` waits for what is queued, and `close`, reading the store
    in this process (`agentcode.store.open_store`) and interpreter exit all flush first. The
    entry ids are then not known to the caller (None).
    """

    def __init__(self, settings: Settings | None, *, session_id: str | None = None,
                 path: str | None = None, background: bool = False) -> None:
        self.settings = settings
        self.session_id = session_id
        self.path = path
        self.background = background
        self._store: HistoryStore | None = None
        self._lock = threading.Lock()
        self._file: _FileWriter | None = None

    @property
    def enabled(self) -> bool:
        return self.settings is None or self.settings.history

    def write(self, fn: Callable[[HistoryStore], T]) -> T | None:
        """Run ``fn`` on the store and return its result, or ``None`` when off, broken or queued."""
        if not self.enabled:
            return None
        if self.background:
            file = self._file
            if file is None:
                with self._lock:  # two threads' first entries: one join
                    if self._file is None:
                        self._file = _FileWriter.join(self.path, self.settings)
                    file = self._file
            file.put(fn)
            return None
        with self._lock:
            try:
                if self._store is None:
                    self._store = open_store(self.path, self.settings)
                with self._store.transaction():
                    return fn(self._store)
            except Exception as exc:  # noqa: BLE001 - history is a convenience; the result matters
                self._close_quietly()
                warn_once(exc)
                return None

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
        """Wait until every queued entry is written (no-op from a writer thread itself)."""
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Write what is queued and close the connection (the file's writer thread stops when
        its last writer closes)."""
        file, self._file = self._file, None
        if file is not None:
            file.leave()
        with self._lock:
            self._close_quietly()

    def _close_quietly(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):  # closing a broken connection cannot help
                store.close()


class _FileWriter:
    """The one thread and connection that write a database file's queued entries in this
    process, for as long as a background `HistoryWriter` uses it.

    After the first entry of a batch it waits up to `_BATCH_SECONDS` for more (unless a flush,
    a close or the exit hurries it), then writes them all in one transaction: a busy Session or
    server pays one commit per batch, not per run, and the caller only pays the enqueue.
    """

    def __init__(self, path: str | None, settings: Settings | None) -> None:
        self.path, self.settings = path, settings
        self.users = 0
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._hurry = threading.Event()
        self._store: HistoryStore | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=_WRITER_THREAD)
        self._thread.start()

    @classmethod
    def join(cls, path: str | None, settings: Settings | None) -> _FileWriter:
        key = str(resolve_path(path, settings))
        with _files_lock:
            file = _files.get(key)
            if file is None:
                file = _files[key] = cls(path, settings)
            file.users += 1
            return file

    def leave(self) -> None:
        with _files_lock:
            self.users -= 1
            last = self.users == 0
            if last:
                for key, file in list(_files.items()):
                    if file is self:
                        del _files[key]
        if last:
            self._queue.put(None)
            self._hurry.set()
            if self._thread is not threading.current_thread():
                self._thread.join()
        else:
            self.flush()

    def put(self, job: Callable[[HistoryStore], object]) -> None:
        self._queue.put(job)

    def flush(self) -> None:
        thread = self._thread
        if not thread.is_alive() or thread is threading.current_thread():
            return
        done = threading.Event()
        self._queue.put(done)
        self._hurry.set()
        done.wait()

    def _run(self) -> None:
        while True:
            job: _Job = self._queue.get()
            if callable(job):
                self._hurry.wait(_BATCH_SECONDS)  # let the next entries pile up
            self._hurry.clear()  # whoever set it has queued its item already: drained below
            rows: list[Callable[[HistoryStore], object]] = []
            waiting: list[threading.Event] = []
            stop = False
            while True:
                if job is None:
                    stop = True
                elif isinstance(job, threading.Event):
                    waiting.append(job)
                else:
                    rows.append(job)
                if len(rows) >= _MAX_BATCH:
                    break
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
            if rows:
                self._write(rows)
            for done in waiting:
                done.set()
            if stop:
                self._close_quietly()
                return

    def _write(self, rows: list[Callable[[HistoryStore], object]]) -> None:
        """One transaction; a row that fails is left out (savepoint), not the batch with it."""
        try:
            if self._store is None:
                self._store = open_store(self.path, self.settings)
            store = self._store
            with store.transaction():
                for fn in rows:
                    try:
                        with store.savepoint():
                            fn(store)
                    except Exception as exc:  # noqa: BLE001 - one bad entry, not the others
                        warn_once(exc)
        except Exception as exc:  # noqa: BLE001 - history is a convenience; the result matters
            self._close_quietly()
            warn_once(exc)

    def _close_quietly(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):  # closing a broken connection cannot help
                store.close()


_WRITER_THREAD = "agentcode-history-writer"
_MAX_BATCH = 500
_BATCH_SECONDS = 0.05
# A writer thread's queue holds entries to write, an Event to set once everything before it is
# written (flush), or None (stop).
_Job = Callable[[HistoryStore], object] | threading.Event | None
_files_lock = threading.Lock()
_files: dict[str, _FileWriter] = {}


def flush_all() -> None:
    """Write every entry queued in this process (before reading the store, and at exit).

    Not from a writer thread: it opens its own store through here, and waiting there for
    another writer that waits for it would never end.
    """
    if threading.current_thread().name == _WRITER_THREAD:
        return
    with _files_lock:
        files = list(_files.values())
    for file in files:
        file.flush()


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
