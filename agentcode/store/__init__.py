"""History of every `gen` and `run`: a SQLite file in the user data dir.

>>> from agentcode.store import open_store
>>> with open_store() as store:
...     recent = store.list(limit=5)

Names load on first use: importing the package must not pull sqlite3 onto `agentcode run`'s
start-up path. Only the public layer (`agentcode.api`) records entries.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcode.store.recording import (
        HistoryWriter,
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
    "HistoryWriter": "agentcode.store.recording",
}

__all__ = [
    "HistoryStore",
    "HistoryWriter",
    "open_store",
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
