"""Per-call sampling (`agentcode.models.sampling`): what reaches each provider's wire format, and
that the model's own settings are back after the call, error or not."""

from __future__ import annotations

from pathlib import Path

import pytest
from strands.models.llamacpp import LlamaCppModel

from agentcode.api.generation import generate
from agentcode.config import Settings
from agentcode.models.sampling import Sampling, sampling_applied
from agentcode.testing import FailingModel, FakeModel

REPLY = "```python\nprint(1)\n```"


def test_llamacpp_request_carries_temperature_and_seed_only_inside_the_block() -> None:
    model = LlamaCppModel(base_url="http://127.0.0.1:1", params={"temperature": 0.0, "top_k": 5})
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    with sampling_applied(model, Sampling(temperature=0.9, seed=7)):
        inside = model._format_request(messages)  # type: ignore[arg-type]
    after = model._format_request(messages)  # type: ignore[arg-type]
    assert (inside["temperature"], inside["seed"], inside["top_k"]) == (0.9, 7, 5)
    assert after["temperature"] == 0.0 and "seed" not in after and after["top_k"] == 5


def test_bedrock_request_carries_the_temperature_and_puts_the_old_one_back() -> None:
    import boto3
    from strands.models.bedrock import BedrockModel

    session = boto3.Session(region_name="us-east-1", aws_access_key_id="x",
                            aws_secret_access_key="y")
    model = BedrockModel(boto_session=session, model_id="m", temperature=0.2, max_tokens=50)
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    with sampling_applied(model, Sampling(temperature=0.8, seed=3)):
        inside = model.format_request(messages)  # type: ignore[arg-type]
    after = model.format_request(messages)  # type: ignore[arg-type]
    assert inside["inferenceConfig"]["temperature"] == 0.8
    assert after["inferenceConfig"]["temperature"] == 0.2


def test_settings_are_restored_when_the_call_fails() -> None:
    model = FakeModel(REPLY)
    model.update_config(params={"temperature": 0.0})
    with pytest.raises(RuntimeError), sampling_applied(model, Sampling(1.0, seed=1)):
        assert model.get_config()["params"] == {"temperature": 1.0, "seed": 1}
        raise RuntimeError("boom")
    assert model.get_config()["params"] == {"temperature": 0.0}


def test_none_changes_nothing() -> None:
    model = FakeModel(REPLY)
    before = model.get_config()
    with sampling_applied(model, None):
        assert model.get_config() == before
    assert model.get_config() == before


@pytest.mark.parametrize("temperature", [-0.1, 2.5])
def test_temperature_out_of_range_is_refused(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature"):
        Sampling(temperature)


def test_generate_passes_sampling_to_the_model_for_that_call_only(tmp_path: Path) -> None:
    model = FakeModel(REPLY)
    settings = Settings(history=False)
    generate("one", model=model, settings=settings, sampling=Sampling(0.6, seed=11))
    generate("two", model=model, settings=settings)
    assert model.calls[0].config["temperature"] == 0.6
    assert model.calls[1].config.get("temperature") is None
    assert model.get_config().get("temperature") is None


def test_a_fallback_model_samples_the_same_way() -> None:
    first = FailingModel(RuntimeError("down"), model_id="first")
    second = FakeModel(REPLY, model_id="second")
    generation = generate(
        "x", model=[first, second], settings=Settings(history=False),
        sampling=Sampling(0.4, seed=2),
    )
    assert generation.model_id.endswith("second")
    assert second.calls[0].config["temperature"] == 0.4
    assert first.get_config().get("temperature") is None
