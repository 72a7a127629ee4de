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
    output_errors: str = "replace",
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
    ``on_stdout`` / ``on_stderr``: called with output chunks as the code prints them;
    ``output_errors="surrogateescape"`` keeps bytes that are not UTF-8 in them as lone
    surrogates (``chunk.encode("utf-8", "surrogateescape")`` is the program's output, byte
    for byte; `agentcode run` writes it so), where "replace", the default, shows U+FFFD.
    ``overwrite``: replace files already in ``out_dir`` (by default they are kept, and the
    code's file is listed in ``Execution.skipped_files``, like every file not saved).
    """
    from agentcode.config import load_settings

    settings = settings or load_settings()
    # The throwaway Session records nothing: the run's one entry is spooled beside the store
    # (agentcode.store.spool: no SQLite on this path) and merged by the store's next opener.
    with Session(sandbox, settings=settings, history=False) as session:
        if files:
            session.write_files(files)
        try:
            execution = session.execute(code, timeout=timeout, stdin=stdin, argv=argv,
                                        env=env, on_stdout=on_stdout, on_stderr=on_stderr,
                                        output_errors=output_errors)
        except ExecutionTimeoutError as exc:
            if exc.execution is not None:
                exc.execution.session_id = None  # one-shot: no session to come back to
            # Keep what the interrupted code left behind; a killed session has nothing left.
            if exc.execution is not None and not exc.state_lost:
                exc.execution.files = session.changed_files()
                if out_dir is not None:
                    save_artifacts(session, exc.execution, out_dir, overwrite=overwrite)
            _record(settings, code, exc.execution, timed_out=True)
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
        _record(settings, code, execution)
    return execution


def _record(settings: Settings, code: str, execution: Execution | None, *,
            timed_out: bool = False) -> None:
    if settings.history:
        from agentcode.store.spool import record_run

        record_run(settings, code, execution, timed_out=timed_out)


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
