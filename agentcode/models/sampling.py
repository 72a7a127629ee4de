"""Per-call sampling: draw one reply at a given temperature (and seed) from any strands model.

strands models keep sampling settings in their config, shared by every call, and have no
per-request override. The repair rounds of verified generation need one (greedy decoding repeats
the code that just failed), so `sampling_applied` sets the model's config for the duration of one
call and puts back what was there. Where a provider keeps sampling options in ``params``
(llama.cpp, OpenAI-compatible servers, LiteLLM) they go there, seed included; otherwise (Bedrock,
Anthropic) ``temperature`` is a top-level config key and there is no seed.

A model object shared by concurrent calls with different sampling would see each other's
settings; agentcode's callers make one call at a time per model object.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strands.models.model import Model


@dataclass(frozen=True, slots=True)
class Sampling:
    """How one reply is drawn: ``temperature`` (0 is greedy) and an optional ``seed``."""

    temperature: float
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be between 0 and 2, not {self.temperature}")


@dataclass(frozen=True, slots=True)
class Draws:
    """Several replies to one conversation, drawn in one call (a model's ``draw_many``)."""

    texts: list[str]
    input_tokens: int = 0
    output_tokens: int = 0


def _overrides(config: dict[str, Any], sampling: Sampling) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the config keys to set for this call, the values to put back after it)."""
    params = config.get("params")
    if isinstance(params, dict):
        changed = dict(params, temperature=sampling.temperature)
        if sampling.seed is not None:
            changed["seed"] = sampling.seed
        return {"params": changed}, {"params": params}
    return {"temperature": sampling.temperature}, {"temperature": config.get("temperature")}


@contextmanager
def sampling_applied(model: Model, sampling: Sampling | None) -> Iterator[None]:
    """Within the block, ``model`` samples as ``sampling`` says (no change when it is None)."""
    if sampling is None:
        yield
        return
    config = model.get_config()
    if not isinstance(config, dict):  # a provider with an unusual config: leave it alone
        yield
        return
    changed, original = _overrides(config, sampling)
    model.update_config(**changed)
    try:
        yield
    finally:
        model.update_config(**original)
