"""History of every `gen` and `run`: a SQLite file in the user data dir.

>>> from agentcode.store import open_store
>>> with open_store() as store:
...     recent = store.list(limit=5)

Not imported by `agentcode run` on its start-up path: callers import it after the work is done.
"""

from __future__ import annotations

from agentcode.store.recording import (
    record_execution_safely,
    record_generation_safely,
    record_safely,
    reset_warning,
)
from agentcode.store.sqlite import HistoryStore, open_store, resolve_path

__all__ = [
    "HistoryStore",
    "open_store",
    "record_execution_safely",
    "record_generation_safely",
    "record_safely",
    "reset_warning",
    "resolve_path",
]
