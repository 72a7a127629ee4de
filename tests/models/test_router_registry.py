"""Model names -> router candidates (built lazily, `bedrock` expanded)."""

from __future__ import annotations

import sys

import pytest

from agentcode.config import Settings
from agentcode.errors import ConfigError
from agentcode.models import registry
from agentcode.models.bedrock import DEFAULT_CHAIN
from agentcode.testing import FakeModel


def names(model: object, settings: Settings | None = None) -> list[str]:
    return [c.name for c in registry.candidates_for(model, settings or Settings())]  # type: ignore[arg-type]


def test_bedrock_expands_to_the_default_chain_in_order() -> None:
    assert names("bedrock") == [f"bedrock:{m}" for m in DEFAULT_CHAIN]
    assert names(["bedrock:x.y", "bedrock"])[:2] == ["bedrock:x.y", f"bedrock:{DEFAULT_CHAIN[0]}"]


def test_defaults_come_from_settings_and_duplicates_go() -> None:
    assert names(None, Settings(model=["local", "bedrock:a", "local"])) == ["local", "bedrock:a"]


def test_comma_separated_and_repeated_names() -> None:
    assert registry.split_names(["local, bedrock:a", " ", "bedrock:b"]) == [
        "local", "bedrock:a", "bedrock:b"]
    assert names("local,bedrock:a") == ["local", "bedrock:a"]


def test_groups_and_hints() -> None:
    local, bedrock = registry.candidates_for(["local", "bedrock:a"], Settings())
    assert local.group == "local" and bedrock.group == "bedrock"
    assert bedrock.hint and "aws configure" in bedrock.hint


@pytest.mark.parametrize("bad", ["gpt-4", "bedrock:", "local:", "nosuchplugin:x"])
def test_unknown_or_incomplete_names_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        names(bad)
    assert caught.value.exit_code == 2


def test_nothing_is_built_until_a_candidate_is_used() -> None:
    before = "agentcode.models.local" in sys.modules
    registry.candidates_for(["local", "bedrock"], Settings())
    assert ("agentcode.models.local" in sys.modules) == before


def test_registered_prefix_resolves_with_its_spec() -> None:
    seen: list[str | None] = []

    def factory(spec: str | None, settings: Settings) -> FakeModel:
        seen.append(spec)
        return FakeModel("```python\nprint(1)\n```")

    registry.register("mine", factory)
    try:
        (candidate,) = registry.candidates_for("mine:abc", Settings())
        assert isinstance(candidate.load(), FakeModel) and seen == ["abc"]
    finally:
        registry.unregister("mine")
    with pytest.raises(ValueError):
        registry.register("bedrock", factory)


def test_a_prefix_comes_from_an_installed_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/plugins (on sys.path through conftest) declares `fake` in the agentcode.models group.
    monkeypatch.setattr(registry.PROVIDERS, "_installed", {})
    (candidate,) = registry.candidates_for("fake", Settings())
    assert isinstance(candidate.load(), FakeModel) and candidate.group == "fake"
    assert "fake" not in registry.names_help()  # help lists built-in names only: no scan


def test_model_instances_are_candidates() -> None:
    model = FakeModel("x", model_id="m1")
    (candidate,) = registry.candidates_for(model, Settings())
    assert candidate.name == "FakeModel:m1" and candidate.load() is model
    with pytest.raises(ConfigError):
        registry.candidates_for([42], Settings())  # type: ignore[list-item]
