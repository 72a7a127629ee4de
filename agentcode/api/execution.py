"""`execute(code)`: run a piece of Python once in a fresh sandbox and return what it did.

    >>> execute("x = 6 * 7\\nx").text
    '42'

Errors in the code are data (``Execution.error``, ``exit_code`` like ``python script.py``);
a sandbox that cannot start raises `SandboxUnavailableError`, a run past ``timeout`` raises
`ExecutionTimeoutError` carrying the partial `Execution`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agentcode.api.session import Callback, Files, Session
from agentcode.errors import ExecutionTimeoutError

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.sandbox.base import SandboxSession
    from agentcode.types import Execution


def execute(
    code: str,
    *,
    sandbox: SandboxSession | str | None = None,
    timeout: float | None = None,
    files: Files | None = None,
    stdin: bytes | str | None = None,
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    out_dir: str | Path | None = None,
    settings: Settings | None = None,
    on_stdout: Callback | None = None,
    on_stderr: Callback | None = None,
    overwrite: bool = False,
) -> Execution:
    """Run ``code`` and return its `Execution`.

    ``sandbox``: a backend name ("local", "agentcore", "unsafe") or an open session (used, not
    closed); default from settings. ``files``: name -> bytes/str, or host paths copied by base
    name, put in the work dir first. ``stdin``: what the code reads from ``sys.stdin``.
    ``argv``: its ``sys.argv`` (default ``["-"]``); ``env``: variables set in its ``os.environ``
    (nothing from this process's environment reaches it otherwise).
    ``out_dir``: where to copy the files the code created or changed and its figures
    (``figure-1.png``, ...); their paths are listed in ``Execution.artifacts``. Either way
    ``Execution.files`` names the work-dir files the code created or changed.
    ``on_stdout`` / ``on_stderr``: called with output chunks as the code prints them.
    ``overwrite``: replace files already in ``out_dir`` (by default they are kept, and the
    code's file is listed in ``Execution.skipped_files``, like every file not saved).
    """
    from agentcode.config import load_settings

    settings = settings or load_settings()
    # The history entry is written on a thread of its own: the store loads while the sandbox
    # starts, and it closes (SQLite's checkpoint, an fsync) while the sandbox is torn down.
    history = _HistoryOnTheSide(settings, code) if settings.history else None
    try:
        # The throwaway Session records nothing: this is one one-shot entry, recorded aside.
        with Session(sandbox, settings=settings, history=False) as session:
            if files:
                session.write_files(files)
            try:
                execution = session.execute(code, timeout=timeout, stdin=stdin, argv=argv,
                                            env=env, on_stdout=on_stdout, on_stderr=on_stderr)
            except ExecutionTimeoutError as exc:
                if exc.execution is not None:
                    exc.execution.session_id = None  # one-shot: no session to come back to
                # Keep what the interrupted code left behind; a killed session has nothing left.
                if exc.execution is not None and not exc.state_lost:
                    exc.execution.files = session.changed_files()
                    if out_dir is not None:
                        save_artifacts(session, exc.execution, out_dir, overwrite=overwrite)
                if history is not None:
                    history.record(exc.execution, timed_out=True)
                # One run, no session to keep: say what happened and what to change, no more.
                limit = settings.timeout if timeout is None else timeout
                raise ExecutionTimeoutError(
                    f"the code ran past the {limit:g} s timeout and was stopped "
                    "(raise it with --timeout or AGENTCODE_TIMEOUT)",
                    state_lost=exc.state_lost, execution=exc.execution,
                ) from exc
            execution.session_id = None  # one-shot: the throwaway session is gone
            execution.files = session.changed_files()
            if out_dir is not None:
                save_artifacts(session, execution, out_dir, overwrite=overwrite)
            if history is not None:
                history.record(execution)
    finally:
        if history is not None:
            history.finish()  # written (or nothing to write) and closed before we return
    return execution


class _HistoryOnTheSide:
    """One run's history entry (see agentcode.store), written by a thread of its own.

    The thread imports the store and opens it at once, overlapping the sandbox's start; `record`
    hands it the run, and it writes the entry while the caller closes the sandbox; `finish`
    waits until the entry is committed. The store's close that follows (SQLite's checkpoint of
    its log into the file, ~12 ms) is not waited for: a process that exits meanwhile leaves the
    log to the next opener, which is how SQLite recovers any interrupted close. Like every
    history write it never fails the run.
    """

    def __init__(self, settings: Settings, code: str) -> None:
        import threading

        self._settings = settings
        self._code = code
        self._run: tuple[Execution | None, bool] = (None, False)
        self._ready = threading.Event()
        self._written = threading.Event()
        self._thread = threading.Thread(target=self._write, name="agentcode-run-history",
                                        daemon=True)
        self._thread.start()

    def record(self, execution: Execution | None, *, timed_out: bool = False) -> None:
        self._run = (execution, timed_out)
        self._ready.set()

    def finish(self) -> None:
        self._ready.set()  # nothing recorded (the run failed to start): just close
        self._written.wait()

    def _write(self) -> None:
        from agentcode.store.recording import HistoryWriter

        writer = HistoryWriter(self._settings)
        try:
            writer.write(_open_only)
            self._ready.wait()
            execution, timed_out = self._run
            if execution is not None:
                writer.execution(self._code, execution, timed_out=timed_out)
        finally:
            self._written.set()
            writer.close()


def _open_only(store: object) -> None:
    """A write of nothing: opens (creating or migrating) the store ahead of the entry."""


def save_artifacts(session: Session, execution: Execution, out_dir: str | Path, *,
                   overwrite: bool = False) -> list[str]:
    """Copy changed/new work-dir files and the PNG outputs into ``out_dir``.

    Sets ``execution.artifacts`` (the paths saved) and ``execution.skipped_files`` (what was
    not, with why), and returns the paths.
    """
    from agentcode.sandbox.copyout import OutDir, Skipped

    with OutDir(out_dir, overwrite=overwrite) as out:
        copied = session.copy_out(out)
        saved = [str(path) for path in copied.saved]
        skipped = list(copied.skipped)
        taken = {path.relative_to(out.path).as_posix() for path in copied.saved}
        figure = 0
        for output in execution.outputs:
            if output.png is None or output.name is not None:  # a saved file is copied above
                continue
            figure += 1
            name = f"figure-{figure}.png"
            while name in taken:
                name = name.removesuffix(".png") + f"-{figure}.png"
            try:
                saved.append(str(out.write(name, base64.b64decode(output.png))))
            except Skipped as why:
                skipped.append(f"{name}: {why}")
            taken.add(name)
    execution.artifacts = saved
    execution.skipped_files = skipped
    return saved
