"""Sandbox backends by name. Backends are imported lazily: `agentcode run` must stay light."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcode.errors import UsageError

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.sandbox.base import SandboxSession

# "unsafe" runs the worker without isolation: an explicit, loudly named opt-in, never a fallback.
BACKENDS = ("local", "agentcore", "unsafe")


def open_sandbox(name: str, settings: Settings) -> SandboxSession:
    """Start a session of the named backend."""
    if name == "local":
        from agentcode.sandbox.local import LocalSandboxSession

        return LocalSandboxSession(settings)
    if name == "unsafe":
        from agentcode.sandbox.local import LocalSandboxSession

        return LocalSandboxSession(settings, isolated=False)
    if name == "agentcore":
        from agentcode.sandbox.agentcore import AgentCoreSession

        return AgentCoreSession(settings)
    raise UsageError(f"unknown sandbox {name!r}: choose one of {', '.join(BACKENDS)}")
