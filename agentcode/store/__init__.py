"""History of every `gen` and `run`: a SQLite file in the user data dir.

>>> from agentcode.store import open_store
>>> with open_store() as store:
...     recent = store.list(limit=5)

Names load on first use: `agentcode.store.context` (used by `generate` and `execute`) must not
pull sqlite3 onto `agentcode run`'s start-up path.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcode.store.context import current_session, in_session, is_paused, paused
    from agentcode.store.recording import (
        record_execution_safely,
        record_generation_safely,
        record_safely,
        reset_warning,
    )
    from agentcode.store.sqlite import HistoryStore, open_store, resolve_path

_EXPORTS = {
    "HistoryStore": "agentcode.store.sqlite",
    "open_store": "agentcode.store.sqlite",
    "resolve_path": "agentcode.store.sqlite",
    "record_execution_safely": "agentcode.store.recording",
    "record_generation_safely": "agentcode.store.recording",
    "record_safely": "agentcode.store.recording",
    "reset_warning": "agentcode.store.recording",
    "current_session": "agentcode.store.context",
    "in_session": "agentcode.store.context",
    "is_paused": "agentcode.store.context",
    "paused": "agentcode.store.context",
}

__all__ = [
    "HistoryStore",
    "current_session",
    "in_session",
    "is_paused",
    "open_store",
    "paused",
    "record_execution_safely",
    "record_generation_safely",
    "record_safely",
    "reset_warning",
    "resolve_path",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentcode.store' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
