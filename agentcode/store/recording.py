"""Recording that never fails the caller: `gen` and `run` must work without a usable history."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from agentcode.config import Settings
from agentcode.store.context import current_session, is_paused
from agentcode.store.sqlite import HistoryStore, open_store
from agentcode.types import Execution, Generation

T = TypeVar("T")

_warned = False


def record_safely(
    settings: Settings | None, fn: Callable[[HistoryStore], T], *, path: str | None = None
) -> T | None:
    """Run ``fn`` on the store and return its result, or ``None`` when history is off or broken.

    Off means ``settings.history`` is False or recording is `paused` in this context. A broken
    store (unwritable, corrupt, locked past the timeout) prints one warning per process on
    stderr, however many times it is hit, and never raises.
    """
    if (settings is not None and not settings.history) or is_paused():
        return None
    try:
        with open_store(path, settings) as store:
            return fn(store)
    except Exception as exc:  # noqa: BLE001 - history is a convenience; the result matters more
        _warn_once(exc)
        return None


def record_generation_safely(
    settings: Settings | None, gen: Generation, *, session_id: str | None = None
) -> int | None:
    """Record a generation; return its entry id, or ``None`` if it was not saved.

    ``session_id`` defaults to the one set by `agentcode.store.in_session`.
    """
    session_id = session_id or current_session()
    return record_safely(
        settings, lambda store: store.record_generation(gen, session_id=session_id)
    )


def record_execution_safely(
    settings: Settings | None,
    code: str,
    execution: Execution,
    *,
    session_id: str | None = None,
    prompt: str | None = None,
    timed_out: bool = False,
) -> int | None:
    """Record an execution; return its entry id, or ``None`` if it was not saved.

    ``session_id`` defaults to the one set by `agentcode.store.in_session`. ``timed_out``: the
    partial execution of a run stopped at its time limit (stored as exit 124, TimeoutError).
    """
    session_id = session_id or current_session()
    return record_safely(
        settings,
        lambda store: store.record_execution(
            code, execution, session_id=session_id, prompt=prompt, timed_out=timed_out
        ),
    )


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
