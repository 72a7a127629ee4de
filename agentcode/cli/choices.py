"""Help text for model and sandbox names, from the registries (one place lists the names)."""

from __future__ import annotations


def model_names() -> str:
    """``local, local:<name or .gguf path>, bedrock, ...``: the built-in name forms."""
    from agentcode.models.registry import names_help

    return names_help()


def sandbox_names() -> str:
    """``local, agentcore, unsafe``: the built-in backends."""
    from agentcode.sandbox.registry import names_help

    return names_help()


PLUGINS_NOTE = "installed plugins add more (agentcode models)"
