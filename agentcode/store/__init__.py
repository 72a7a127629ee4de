"""History of every `gen` and `run`: a SQLite file in the user data dir.

>>> from agentcode.store import open_store
>>> with open_store() as store:
...     recent = store.list(limit=5)

Names load on first use: importing the package must not pull sqlite3 onto `agentcode run`'s
start-up path. Only the public layer (`agentcode.api`) records entries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcode.registry import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
