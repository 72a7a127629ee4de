from __future__ import annotations

from pathlib import Path

import pytest

from agentcode.config import config_path, data_dir, load_settings
from agentcode.errors import EXIT_USAGE, ConfigError


def write_config(home: Path, text: str) -> None:
    (home / "config.toml").write_text(text, encoding="utf-8")


def test_defaults_without_any_source() -> None:
    settings = load_settings()
    assert settings.model == ["local"]
    assert settings.sandbox == "local"
    assert settings.timeout == 30.0
    assert settings.limits.memory_mb == 2048
    assert settings.limits.output_bytes == 1024 * 1024


def test_layers_file_then_env_then_flags(
    agentcode_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(
        agentcode_home,
        'model = ["bedrock"]\nsandbox = "agentcore"\ntimeout = 10\n[limits]\nmemory_mb = 512\n',
    )
    settings = load_settings()
    assert (settings.model, settings.sandbox, settings.timeout) == (["bedrock"], "agentcore", 10.0)
    assert settings.limits.memory_mb == 512

    monkeypatch.setenv("AGENTCODE_TIMEOUT", "20")
    monkeypatch.setenv("AGENTCODE_MODEL", "bedrock:a, local")
    monkeypatch.setenv("AGENTCODE_LIMIT_MEMORY_MB", "1024")
    settings = load_settings()
    assert settings.timeout == 20.0
    assert settings.model == ["bedrock:a", "local"]
    assert settings.limits.memory_mb == 1024

    settings = load_settings(timeout=5, sandbox=None, limits={"memory_mb": 256})
    assert settings.timeout == 5.0
    assert settings.sandbox == "agentcore"  # a None flag does not override
    assert settings.limits.memory_mb == 256


def test_no_history_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCODE_NO_HISTORY", "1")
    assert load_settings().history is False


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("timeout = 'soon'\n", "timeout"),
        ("colour = 'blue'\n", "unknown setting 'colour'"),
        ("[limits]\nbogus = 1\n", "limits.bogus"),
        ("limits = 3\n", "must be a table"),
        ("this is not toml", "cannot read config file"),
    ],
)
def test_bad_config_file_names_the_problem(agentcode_home: Path, text: str, needle: str) -> None:
    write_config(agentcode_home, text)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert needle in str(info.value)
    assert info.value.exit_code == EXIT_USAGE


def test_bad_env_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCODE_HISTORY", "maybe")
    with pytest.raises(ConfigError, match="history"):
        load_settings()


def test_non_positive_timeout_is_refused() -> None:
    with pytest.raises(ConfigError, match="positive"):
        load_settings(timeout=0)


def test_explicit_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.toml"
    other.write_text("timeout = 7\n", encoding="utf-8")
    monkeypatch.setenv("AGENTCODE_CONFIG", str(other))
    assert config_path() == other
    assert load_settings().timeout == 7.0


def test_home_override_moves_data(agentcode_home: Path) -> None:
    assert data_dir() == agentcode_home
