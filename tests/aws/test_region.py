"""One region for Bedrock and AgentCore: flag > config > AWS_REGION > AWS_DEFAULT_REGION > profile
> default, reported with where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli

from agentcode.aws.region import DEFAULT_REGION, Region, resolve_region
from agentcode.config import Settings, load_settings
from agentcode.models.bedrock import bedrock_session, bedrock_status
from agentcode.sandbox.agentcore.session import AgentCoreSession


def test_nothing_configured_is_the_documented_default() -> None:
    assert resolve_region(Settings()) == Region(DEFAULT_REGION, "default")


def test_aws_region_alone_is_enough_for_bedrock_and_agentcore(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert resolve_region(Settings()) == Region("eu-central-1", "AWS_REGION")
    assert bedrock_session(Settings()).region_name == "eu-central-1"
    with AgentCoreSession(Settings()) as session:  # builds its client; starts nothing
        assert session._client.meta.region_name == "eu-central-1"
    assert bedrock_status(Settings()).region_source == "AWS_REGION"


def test_order_of_the_sources(aws_files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (aws_files / "config").write_text("[default]\nregion = ap-southeast-2\n"
                                      "[profile work]\nregion = sa-east-1\n")
    assert resolve_region(Settings()) == Region(
        "ap-southeast-2", "profile 'default' in the AWS config file")
    assert resolve_region(Settings(profile="work")).name == "sa-east-1"
    monkeypatch.setenv("AWS_PROFILE", "work")
    assert resolve_region(Settings()) == Region(
        "sa-east-1", "profile 'work' in the AWS config file")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    assert resolve_region(Settings()) == Region("us-east-2", "AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert resolve_region(Settings()) == Region("us-east-1", "AWS_REGION")
    assert resolve_region(Settings(region="eu-west-1")) == Region("eu-west-1", "--region")


def test_agentcodes_own_settings_say_which_one(
    agentcode_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    (agentcode_home / "config.toml").write_text('region = "eu-north-1"\n', encoding="utf-8")
    assert resolve_region(load_settings()) == Region(
        "eu-north-1", f"region in {agentcode_home / 'config.toml'}")
    monkeypatch.setenv("AGENTCODE_REGION", "eu-south-1")
    assert resolve_region(load_settings()) == Region("eu-south-1", "AGENTCODE_REGION")
    assert resolve_region(load_settings(region="me-south-1")) == Region("me-south-1", "--region")


def test_an_unknown_profile_does_not_break_the_lookup() -> None:
    assert resolve_region(Settings(profile="nobody")) == Region(DEFAULT_REGION, "default")


def test_models_shows_the_region_and_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ca-central-1")
    done = run_cli(["models"])
    assert done.exit_code == 0
    assert "AWS region (Bedrock and AgentCore): ca-central-1 (from AWS_REGION)" in done.stdout
    done = run_cli(["models", "--json", "--region", "us-west-1"])
    import json

    assert json.loads(done.stdout)["aws"] == {"region": "us-west-1", "region_source": "--region"}


def test_the_bedrock_model_calls_the_resolved_region(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentcode.models.bedrock import create_bedrock_model

    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    model = create_bedrock_model("us.amazon.nova-premier-v1:0", Settings())
    assert model.client.meta.region_name == "ap-northeast-1"
    assert model.client.meta.config.retries["total_max_attempts"] == 1  # the router retries


def test_aws_region_alone_gets_agentcore_past_the_region_question(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No credentials here: the run fails on those, not on a missing region as it used to.
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    done = run_cli(["run", "--sandbox", "agentcore", "-"], stdin="print(1)\n")
    assert done.exit_code == 4
    assert done.stderr.startswith("agentcode: error: no usable AWS credentials for AgentCore")
    assert "region" not in done.stderr.split("(")[0]


def test_models_lists_agentcore_with_the_same_region(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    report = json.loads(run_cli(["models", "--json"]).stdout)
    [agentcore] = [row for row in report["sandboxes"] if row["name"] == "agentcore"]
    assert agentcore["available"] is False  # no credentials in this test
    assert agentcore["detail"].startswith("region eu-west-1 (from AWS_REGION); no AWS credentials")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    report = json.loads(run_cli(["models", "--json"]).stdout)
    [agentcore] = [row for row in report["sandboxes"] if row["name"] == "agentcore"]
    assert agentcore["available"] is True
    assert agentcore["detail"] == "region eu-west-1 (from AWS_REGION); credentials: env"
