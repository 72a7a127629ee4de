"""`agentcode models`: names, the configured chain, availability; offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentcode.cli.app import main
from agentcode.models.bedrock import DEFAULT_CHAIN


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


def models(*args: str) -> tuple[int, str, str]:
    with CliRunner().isolation() as (out, err, _):
        code = main(["models", *args])
        sys.stdout.flush()
        return code, out.getvalue().decode(), err.getvalue().decode()


def test_json_report_without_credentials() -> None:
    code, out, _ = models("--json")
    assert code == 0
    report = json.loads(out)
    assert report["configured"] == ["local"]
    rows = {row["name"]: row for row in report["models"]}
    assert {"local", "bedrock", *(f"bedrock:{m}" for m in DEFAULT_CHAIN)} <= set(rows)
    assert rows["bedrock"]["available"] is False
    assert report["bedrock"]["credentials"] is None
    assert report["bedrock"]["region"] == "us-west-2"
    assert all(isinstance(row["available"], bool) for row in rows.values())


def test_credentials_region_and_chain_from_flags_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AGENTCODE_MODEL", "bedrock,local")
    code, out, _ = models("--json", "--region", "eu-central-1")
    report = json.loads(out)
    assert report["configured"] == ["bedrock", "local"]
    assert report["bedrock"] == {"region": "eu-central-1", "region_source": "--region",
                                 "credentials": "env", "note": ""}
    assert all(row["available"] for row in report["models"] if row["provider"] == "bedrock")


def test_local_rows_come_from_the_local_status() -> None:
    from agentcode.models.local import LOCAL_MODELS

    _, out, _ = models("--json")
    rows = {row["name"]: row for row in json.loads(out)["models"]}
    for name in LOCAL_MODELS:
        assert f"local:{name}" in rows
        assert "status" in rows[f"local:{name}"]


def test_text_table() -> None:
    code, out, err = models()
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "configured chain: local"
    assert any(line.startswith("bedrock ") and " no " in line for line in lines)
    assert "no credentials found" in out


def test_every_registered_provider_and_sandbox_is_listed() -> None:
    from agentcode.models.registry import BUILTIN
    from agentcode.sandbox.registry import BUILTIN as SANDBOXES

    _, out, _ = models("--json")
    report = json.loads(out)
    assert {p.name for p in BUILTIN} <= set(report["providers"])
    assert report["providers"]["openai"]["names"] == ["openai:<model>"]
    assert "OPENAI_BASE_URL" in report["providers"]["openai"]["settings"]
    assert any(row["name"] == "openai:<model>" for row in report["models"])
    sandboxes = {row["name"]: row for row in report["sandboxes"]}
    assert {b.name for b in SANDBOXES} <= set(sandboxes)
    assert sandboxes["local"]["default"] is True and sandboxes["unsafe"]["available"] is True
    assert report["names"].endswith("openai:<model>")
