"""The real embedded model (Qwen2.5-Coder-1.5B in llama.cpp), loaded through load_local_model."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from agentcode.config import Settings
from agentcode.models.local import load_local_model

PROMPT = (
    "Write Python that prints the sum of the numbers 1 to 10. "
    "Reply with one fenced code block."
)


@pytest.mark.slow
def test_real_model_streams_a_runnable_code_block(embedded_model_path: Path):
    model = load_local_model(
        None, Settings(), models_dir=embedded_model_path.parent, max_tokens=200
    )
    assert model.model_id == "local:qwen2.5-coder-1.5b"

    async def run() -> list[str]:
        messages = [{"role": "user", "content": [{"text": PROMPT}]}]
        return [
            event["contentBlockDelta"]["delta"]["text"]
            async for event in model.stream(messages, system_prompt="You write Python.")  # type: ignore[arg-type]
            if "contentBlockDelta" in event
        ]

    pieces = asyncio.run(run())
    assert len(pieces) > 5  # streamed token by token, not one buffered blob
    assert model.load_seconds is not None and model.load_seconds > 0
    assert model.model_path == embedded_model_path
    match = re.search(r"```(?:python)?\n(.*?)```", "".join(pieces), re.S)
    assert match, "".join(pieces)
    compile(match.group(1), "<generated>", "exec")
    assert "print" in match.group(1)


@pytest.mark.slow
def test_real_model_draws_several_different_replies_in_one_call(embedded_model_path: Path):
    from agentcode.models.sampling import Sampling

    model = load_local_model(
        None, Settings(), models_dir=embedded_model_path.parent, max_tokens=48, n_parallel=3
    )
    messages = [{"role": "user", "content": [{"text": PROMPT}]}]
    draws = asyncio.run(model.draw_many(messages, "You write Python.", n=3,  # type: ignore[arg-type]
                                        sampling=Sampling(1.0, seed=7)))
    assert len(draws.texts) == 3 and all(text.strip() for text in draws.texts)
    assert len(set(draws.texts)) > 1  # sampled sequences, not one reply copied
    assert draws.output_tokens > 0
