"""Sandboxes that run user code: the backends by name are in `agentcode.sandbox.registry`.

Backends are imported lazily: `agentcode run` must stay light.
"""

from __future__ import annotations

from agentcode.sandbox.registry import open_sandbox

__all__ = ["open_sandbox"]
