"""agentcode: turn a sentence into Python and run it safely.

>>> import agentcode
>>> agentcode.execute("x = 6 * 7\\nx").text
'42'

Names are loaded on first use so that importing the package (and `agentcode run`) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcode.registry import lazy_exports

if TYPE_CHECKING:
    from agentcode.api.execution import execute
    from agentcode.api.generation import agenerate, generate
    from agentcode.api.session import Session
    from agentcode.config import Settings, load_settings
    from agentcode.errors import (
        AgentcodeError,
        ConfigError,
        ExecutionTimeoutError,
        ModelError,
        ModelUnavailableError,
        SandboxError,
        SandboxUnavailableError,
        StoreError,
        UsageError,
    )
    from agentcode.types import (
        Attempt,
        Execution,
        ExecutionError,
        Generation,
        HistoryEntry,
        Output,
        RepairRound,
    )

__version__ = "0.1.0"

_EXPORTS = {
    "generate": "agentcode.api.generation",
    "agenerate": "agentcode.api.generation",
    "execute": "agentcode.api.execution",
    "Session": "agentcode.api.session",
    "Settings": "agentcode.config",
    "load_settings": "agentcode.config",
    "Attempt": "agentcode.types",
    "Execution": "agentcode.types",
    "ExecutionError": "agentcode.types",
    "Generation": "agentcode.types",
    "HistoryEntry": "agentcode.types",
    "Output": "agentcode.types",
    "RepairRound": "agentcode.types",
    "AgentcodeError": "agentcode.errors",
    "ConfigError": "agentcode.errors",
    "ExecutionTimeoutError": "agentcode.errors",
    "ModelError": "agentcode.errors",
    "ModelUnavailableError": "agentcode.errors",
    "SandboxError": "agentcode.errors",
    "SandboxUnavailableError": "agentcode.errors",
    "StoreError": "agentcode.errors",
    "UsageError": "agentcode.errors",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
