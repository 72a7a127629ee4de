"""`bedrock_status`: region and credential source from local configuration, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcode.config import Settings
from agentcode.models.bedrock import DEFAULT_REGION, bedrock_status


@pytest.fixture(autouse=True)
def clean_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "AWS_BEARER_TOKEN_BEDROCK", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return tmp_path


def test_nothing_configured() -> None:
    status = bedrock_status(Settings())
    assert status.credentials is None and not status.ready
    assert (status.region, status.region_source) == (DEFAULT_REGION, "default")
    assert "instance metadata not checked" in status.note


def test_environment_credentials_and_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    status = bedrock_status(Settings())
    assert status.ready and status.credentials == "env"
    assert status.region == "eu-west-1"
    assert bedrock_status(Settings(region="us-east-2")).region == "us-east-2"


def test_profile_from_shared_files(clean_aws: Path) -> None:
    (clean_aws / "credentials").write_text(
        "[work]\naws_access_key_id = AKIDTEST\naws_secret_access_key = secret\n")
    (clean_aws / "config").write_text("[profile work]\nregion = ap-northeast-1\n")
    status = bedrock_status(Settings(profile="work"))
    assert status.credentials == "shared-credentials-file"
    assert status.region == "ap-northeast-1"


def test_unknown_profile_is_reported_not_raised() -> None:
    status = bedrock_status(Settings(profile="missing"))
    assert not status.ready and "missing" in status.note


def test_credential_process_is_not_run(clean_aws: Path) -> None:
    marker = clean_aws / "ran"
    (clean_aws / "config").write_text(
        f"[profile proc]\ncredential_process = /bin/sh -c 'touch {marker}'\n")
    status = bedrock_status(Settings(profile="proc"))
    assert status.credentials == "credential_process (not run)"
    assert not marker.exists()


def test_bedrock_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "token")
    assert "API key" in (bedrock_status(Settings()).credentials or "")
