"""One registry shape for models and sandboxes (agentcode.registry), and the doctor built from
the checks its entries declare."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentcode.config import Settings
from agentcode.doctor import checks, run_checks
from agentcode.errors import ConfigError
from agentcode.models import registry as models
from agentcode.models.provider import ModelProvider, ModelStatus, ProviderStatus
from agentcode.registry import Lazy, PluginFailure, Registry, UnknownName
from agentcode.registry.checks import Check, DoctorContext, Status
from agentcode.sandbox import registry as sandboxes
from agentcode.sandbox.registry import SandboxBackend


def test_both_registries_raise_the_same_error_for_an_unknown_name() -> None:
    with pytest.raises(UnknownName, match=r"unknown model 'bedrok:x' \(did you mean "
                                          r"'bedrock:x'\?\): choose one of local"):
        models.candidates_for("bedrok:x", Settings())
    with pytest.raises(UnknownName, match=r"unknown sandbox 'locl' \(did you mean 'local'\?\): "
                                          "choose one of local, agentcore, unsafe"):
        sandboxes.check_name("locl")
    assert isinstance(models.PROVIDERS, Registry) and isinstance(sandboxes.BACKENDS, Registry)
    assert issubclass(UnknownName, ConfigError)  # exit 2, like any bad setting


def test_a_plugin_that_fails_to_load_is_an_error_when_named_and_a_row_when_listed(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    class Point:
        name, value = "wobbly", "agentcode_wobbly:SANDBOX"

        def load(self) -> object:
            raise ImportError("missing dep")

    def entry_points(group: str, name: str | None = None) -> list[Point]:
        return [Point()] if group == sandboxes.ENTRY_POINT_GROUP and name in (None, "wobbly") \
            else []

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    with pytest.raises(ConfigError, match="the sandbox plugin 'wobbly' .* failed to load: "
                                          "ImportError: missing dep"):
        sandboxes.open_sandbox("wobbly", Settings())
    assert PluginFailure("wobbly", "agentcode_wobbly:SANDBOX", "ImportError: missing dep") \
        in sandboxes.all_backends()
    [line] = [line for line in run_checks(Settings()) if "wobbly" in line.name]
    assert line.status is Status.WARN and "missing dep" in line.detail and line.fix


def test_the_doctor_runs_each_entrys_checks_once_and_reports_status_only_entries() -> None:
    runs: list[str] = []

    def shared(ctx: DoctorContext) -> Iterator[Check]:
        runs.append("shared")
        yield Check("shared thing", Status.OK, "fine")

    models.register("withdoctor", ModelProvider(
        name="withdoctor", description="d", factory=lambda spec, s: None,  # type: ignore[arg-type, return-value]
        doctor=shared))
    models.register("statusonly", ModelProvider(
        name="statusonly", description="d", factory=lambda spec, s: None,  # type: ignore[arg-type, return-value]
        status=lambda s: ProviderStatus([ModelStatus("statusonly", False, "no key set")])))
    sandboxes.register(SandboxBackend("alsoshared", "d", lambda s: None,  # type: ignore[arg-type, return-value]
                                      doctor=shared))
    try:
        found = checks()
        assert found.count(shared) == 1
        assert Lazy("agentcode.aws.doctor:check_aws") in found  # Bedrock's and AgentCore's, once
        assert sum(check == Lazy("agentcode.aws.doctor:check_aws") for check in found) == 1
        cheap = [check for check in found if not isinstance(check, Lazy)]  # no jail, no AWS
        lines = {line.name: line for line in run_checks(Settings(), checks=cheap)}
        assert runs == ["shared"]
        assert lines["model statusonly"].status is Status.WARN  # not configured: optional
        configured = Settings(model=["statusonly"])
        [line] = [line for line in run_checks(configured, checks=cheap)
                  if line.name == "model statusonly"]
        assert line.status is Status.FAIL and line.detail == "no key set" and line.fix
    finally:
        models.unregister("withdoctor")
        models.unregister("statusonly")
        sandboxes.unregister("alsoshared")
