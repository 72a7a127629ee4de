"""agentcode plugin: an `echo` model provider and a `tiny` sandbox."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator
from typing import Any

from strands.models.model import Model

from agentcode.models.provider import ModelProvider, ModelStatus, ProviderStatus
from agentcode.sandbox.registry import SandboxBackend, open_sandbox


class EchoModel(Model):
    """A strands Model whose reply is a program that prints the request back."""

    def __init__(self, greeting: str) -> None:
        self.config = {"model_id": f"echo:{greeting}"}
        self.greeting = greeting

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        return self.config

    def structured_output(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("echo writes code only")

    async def stream(self, messages: Any, tool_specs: Any = None, system_prompt: Any = None,
                     **kwargs: Any) -> AsyncGenerator[Any, None]:
        request = messages[-1]["content"][0]["text"].splitlines()[0]
        fence = "`" * 3  # spelled so to keep this page's code block whole
        reply = f"{fence}python\nprint({self.greeting!r}, {request!r})\n{fence}"
        yield {"messageStart": {"role": "assistant"}}
        yield {"contentBlockDelta": {"delta": {"text": reply}}}
        yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "end_turn"}}


def echo_model(spec: str | None, settings: Any) -> EchoModel:
    """`-m echo:<greeting>`, or `-m echo` with the greeting of [plugins.echo] in the config."""
    return EchoModel(spec or settings.plugin("echo").get("greeting", "echo"))


def echo_status(settings: Any) -> ProviderStatus:
    """An offline check for `agentcode models`: echo needs nothing, so it is always usable."""
    return ProviderStatus([ModelStatus("echo", True, "prints the request back")])


MODEL = ModelProvider(
    name="echo",
    description="prints the request back (a plugin example)",
    factory=echo_model,
    forms=("echo", "echo:<greeting>"),
    status=echo_status,
    spec="a greeting",
    bare=True,
)


def tiny_sandbox(settings: Any) -> Any:
    """The local jail with 256 MB of memory and a 5 s limit."""
    limits = dataclasses.replace(settings.limits, memory_mb=256, cpu_seconds=5)
    return open_sandbox("local", dataclasses.replace(settings, limits=limits, timeout=5.0))


SANDBOX = SandboxBackend(
    name="tiny",
    description="the local jail with 256 MB and 5 s (a plugin example)",
    factory=tiny_sandbox,
    status=lambda settings: (True, "uses the local jail"),
)
