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


def complete_sandbox(incomplete: str) -> list[str]:
    """Shell completion for ``--sandbox``: every backend, installed plugins included."""
    from agentcode.sandbox.registry import SandboxBackend, all_backends

    return [b.name for b in all_backends()
            if isinstance(b, SandboxBackend) and b.name.startswith(incomplete)]


def complete_model(incomplete: str) -> list[str]:
    """Shell completion for ``-m``: bare names, and ``<name>:`` where a spec follows."""
    from agentcode.models.provider import ModelProvider
    from agentcode.models.registry import all_providers

    names: list[str] = []
    for provider in all_providers():
        if not isinstance(provider, ModelProvider):
            continue
        for form in provider.name_forms:
            names.append(form.split("<", 1)[0] if "<" in form else form)
    return [name for name in dict.fromkeys(names) if name.startswith(incomplete)]
