"""agentcode: turn a sentence into Python and run it safely.

>>> import agentcode
>>> agentcode.execute("x = 6 * 7\\nx").text
'42'

Names are loaded on first use so that importing the package (and `agentcode run`) stays fast.
"""

from __future__ import annotations

# Not `typing.TYPE_CHECKING`, nor agentcode.registry's lazy_exports: typing, re and dataclasses
# cost ~8 ms, and `agentcode run` through its helper (agentcode/cli/run_client.py) loads this
# package and little else.
TYPE_CHECKING = False

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



def __getattr__(name: str) -> object:
    """Each name of ``_EXPORTS`` is imported on first use, so importing agentcode stays light."""
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(target), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
