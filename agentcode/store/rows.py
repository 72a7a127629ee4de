"""What an entry's row holds, made without SQLite: `agentcode run` spools its entry (spool.py).

The text fields are redacted of secrets and capped here (`agentcode.store.scrub`), before the
row reaches any file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentcode import secrets
from agentcode.config import Settings
from agentcode.errors import EXIT_TIMEOUT
from agentcode.store import scrub
from agentcode.types import Execution

DEFAULT_FILENAME = "history.db"

COLUMNS = (
    "session_id, kind, prompt, code, model, attempts, stdout, stderr, exit_code, duration_ms,"
    " created_at, error, backend, language, verified, stdout_dropped, stderr_dropped, code_dropped,"
    " checked"
)
Row = tuple[Any, ...]  # the values of `COLUMNS`, in order


def utc_now() -> str:
    """ISO-8601 UTC with milliseconds, e.g. ``2026-01-02T03:04:05.678Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def resolve_path(
    path: str | os.PathLike[str] | None = None, settings: Settings | None = None
) -> Path:
    """The database file: ``path`` > ``settings.db`` (config file, AGENTCODE_DB) > the data dir."""
    if path:
        return Path(path).expanduser()
    if settings is None:
        from agentcode.config import load_settings

        settings = load_settings()
    if settings.db:
        return Path(settings.db).expanduser()
    from agentcode.config import data_dir

    return data_dir() / DEFAULT_FILENAME


def entry_row(
    *,
    session_id: str | None,
    kind: str,
    prompt: str | None,
    code: str | None,
    model: str | None = None,
    attempts: list[dict[str, Any]] | None = None,
    stdout: str | None = None,
    stderr: str | None = None,
    exit_code: int | None = None,
    duration_ms: float | None = None,
    error: str | None = None,
    backend: str | None = None,
    language: str | None = None,
    verified: bool | None = None,
    stdout_dropped: int = 0,
    stderr_dropped: int = 0,
    checked: str | None = None,
) -> Row:
    """The row of `COLUMNS`, its text redacted and capped."""
    known = secrets.secret_values()  # once per entry, for every field
    prompt, _ = scrub.clean(prompt, scrub.PROMPT_CAP_BYTES, known)
    code, code_dropped = scrub.clean(code, scrub.CODE_CAP_BYTES, known)
    stdout, out_cut = scrub.clean(stdout, scrub.OUTPUT_CAP_BYTES, known)
    stderr, err_cut = scrub.clean(stderr, scrub.OUTPUT_CAP_BYTES, known)
    attempts_json = scrub.redact(json.dumps(attempts or [], ensure_ascii=False), known)
    return (
        session_id, kind, prompt, code, model, attempts_json, stdout, stderr, exit_code,
        duration_ms, utc_now(), error, backend, language,
        None if verified is None else int(verified),
        stdout_dropped + out_cut, stderr_dropped + err_cut, code_dropped, checked,
    )  # fmt: skip


def execution_row(code: str, execution: Execution, *, session_id: str | None = None,
                  prompt: str | None = None, timed_out: bool = False) -> Row:
    """A run's row; ``timed_out`` marks the partial `Execution` of an interrupted run."""
    stderr = execution.stderr
    error = execution.error
    error_name = error.name if error else None
    exit_code = execution.exit_code
    if timed_out:
        # The sandbox may report the interrupt it used (KeyboardInterrupt, 130): what
        # happened, for the user, is the time limit.
        error_name, exit_code = "TimeoutError", EXIT_TIMEOUT
    if error is not None and error.traceback and error.traceback not in stderr:
        # What `python script.py` would have printed: keeps the failure visible and searchable.
        separator = "" if not stderr or stderr.endswith("\n") else "\n"
        stderr = stderr + separator + error.traceback
    return entry_row(
        # Not execution.session_id: a one-shot run's sandbox id is no conversation to resume.
        session_id=session_id,
        kind="run",
        prompt=prompt,
        code=code,
        stdout=execution.stdout,
        stderr=stderr,
        exit_code=exit_code,
        duration_ms=execution.duration_ms,
        error=error_name,
        backend=execution.backend or None,
        language="python",
        stdout_dropped=execution.stdout_dropped,
        stderr_dropped=execution.stderr_dropped,
    )
