"""Which session new history entries belong to, and when recording is paused.

Context variables rather than parameters, so `generate` and `execute` record with one line and
a `Session` (or `verify`'s repair loop) sets the scope once around the calls it makes. Cheap to
import: no sqlite3 here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_paused: ContextVar[bool] = ContextVar("agentcode_history_paused", default=False)
_session: ContextVar[str | None] = ContextVar("agentcode_history_session", default=None)


@contextmanager
def paused() -> Iterator[None]:
    """Record nothing inside: e.g. a repair loop's candidates (its caller records the result)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


@contextmanager
def in_session(session_id: str | None) -> Iterator[None]:
    """Tag what is recorded inside with ``session_id``."""
    token = _session.set(session_id)
    try:
        yield
    finally:
        _session.reset(token)


def is_paused() -> bool:
    return _paused.get()


def current_session() -> str | None:
    return _session.get()
