"""The model is told which third-party packages the chosen sandbox has."""

from __future__ import annotations

from pathlib import Path

import pytest
from wheels import build_wheel, offline_index

from agentcode import generate
from agentcode.config import Settings
from agentcode.generation.codegen import STDLIB_RULE, SYSTEM_PROMPT, build_system_prompt
from agentcode.sandbox.local.packages import (
    AGENTCORE_PREINSTALLED,
    SandboxEnvironment,
    importable_packages,
)
from agentcode.testing import FakeModel


def test_the_rule_names_the_packages_instead_of_standard_library_only() -> None:
    prompt = build_system_prompt("Be brief.", packages=["pandas", "matplotlib"])
    assert STDLIB_RULE in SYSTEM_PROMPT and STDLIB_RULE not in prompt
    assert ("- you may import the standard library and these installed packages: "
            "pandas, matplotlib; no others are installed") in prompt
    assert prompt.endswith("Be brief.")
    assert build_system_prompt() == SYSTEM_PROMPT


def test_the_local_sandbox_lists_what_was_added(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "tablekit", "1.0")
    build_wheel(wheels, "chartkit", "2.0", requires=["tablekit"])
    offline_index(monkeypatch, wheels)
    settings = Settings(sandbox_env=str(tmp_path / "env"), history=False)
    assert importable_packages("local", settings) == []
    SandboxEnvironment(settings.sandbox_env).add(["chartkit>=1"])
    assert importable_packages("local", settings) == ["chartkit"]  # as added, no dependencies
    model = FakeModel("```python\nimport chartkit\n```")
    generate("plot it", model=model, settings=settings)
    [call] = model.calls
    assert call.system_prompt is not None
    assert "these installed packages: chartkit; no others" in call.system_prompt
    assert STDLIB_RULE not in call.system_prompt


def test_agentcore_lists_its_preinstalled_set_and_the_configured_packages() -> None:
    settings = Settings(sandbox="agentcore", packages=["pandas", "duckdb==1.1"])
    names = importable_packages("agentcore", settings)
    assert names[:len(AGENTCORE_PREINSTALLED)] == list(AGENTCORE_PREINSTALLED)
    assert names[-1] == "duckdb" and names.count("pandas") == 1
    model = FakeModel("```python\nimport pandas\n```")
    generate("summarise", model=model, settings=settings)
    assert "pandas, polars, numpy" in (model.calls[0].system_prompt or "")


def test_without_packages_the_prompt_is_unchanged() -> None:
    model = FakeModel("```python\nprint(1)\n```")
    generate("one", model=model, settings=Settings(history=False))
    assert model.calls[0].system_prompt == SYSTEM_PROMPT
