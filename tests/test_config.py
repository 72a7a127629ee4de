from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli

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
        ("timeout = 'soon'\n", "'timeout' in {path} must be a number, not 'soon'"),
        ("colour = 'blue'\n", "unknown key 'colour' in {path}: known keys are model, "),
        ("timout = 3\n", "unknown key 'timout' in {path}: did you mean 'timeout'?"),
        ("[limits]\nbogus = 1\n", "unknown key 'limits.bogus' in {path}"),
        ("[limits]\nmemory-mb = 1.5\n", "'limits.memory_mb' in {path} must be an integer, not 1.5"),
        ("limits = 3\n", "'limits' in {path} must be a table ([limits]), not 3"),
        ("history = 1\n", "'history' in {path} must be true or false, not 1"),
        ("sandbox = 3\n", "'sandbox' in {path} must be a string, not 3"),
        ("model = [1]\n", "'model' in {path} must be a string or a list of strings, not 1"),
        ("this is not toml", "cannot read config file {path}"),
    ],
)
def test_bad_config_file_names_the_problem(agentcode_home: Path, text: str, needle: str) -> None:
    write_config(agentcode_home, text)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert needle.format(path=agentcode_home / "config.toml") in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == EXIT_USAGE


def test_config_keys_may_use_dashes_and_model_may_be_one_name(agentcode_home: Path) -> None:
    write_config(
        agentcode_home, 'model = "bedrock"\nmax-input-bytes = 5\n[limits]\nmemory-mb = 9\n'
    )
    settings = load_settings()
    assert (settings.model, settings.max_input_bytes) == (["bedrock"], 5)
    assert settings.limits.memory_mb == 9


def test_an_edited_config_file_is_checked_again(agentcode_home: Path) -> None:
    write_config(agentcode_home, "timeout = 7\n")
    assert load_settings().timeout == 7.0
    assert load_settings().timeout == 7.0  # from the stamp
    write_config(agentcode_home, "timeout = 'seven'\n")
    with pytest.raises(ConfigError, match="must be a number"):
        load_settings()


def test_a_bad_config_file_is_one_line_and_exit_2_on_the_command_line(
    agentcode_home: Path,
) -> None:
    write_config(agentcode_home, "[limits]\nmemory_mb = 'lots'\n")
    done = run_cli(["run", "-"], stdin="print(1)\n")
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"agentcode: error: 'limits.memory_mb' in {agentcode_home / 'config.toml'} "
        "must be an integer, not 'lots'\n"
    )


def _imported_by_run(env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "agentcode", "run", "-"],
        input=b"print(1)", capture_output=True, timeout=60, env=env,
    )
    assert done.stdout == b"1\n", done.stderr.decode()[-2000:]
    return {line.split("|")[-1].strip().split(".")[0]
            for line in done.stderr.decode().splitlines() if line.startswith("import time")}


def test_run_checks_a_config_file_with_pydantic_once(agentcode_home: Path) -> None:
    write_config(agentcode_home, "timeout = 20\n[limits]\nmemory_mb = 1024\n")
    env = {**os.environ, "AGENTCODE_HOME": str(agentcode_home)}
    assert "pydantic" in _imported_by_run(env)  # a new file is checked
    assert "pydantic" not in _imported_by_run(env)  # the same file again is not: no slower run


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


def test_sandbox_table_gives_the_backend_packages_and_env(
    agentcode_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(agentcode_home, '[sandbox]\nbackend = "unsafe"\npackages = ["pandas", '
                 '"numpy>=2"]\nenv = "/srv/env"\n')
    settings = load_settings()
    assert (settings.sandbox, settings.packages, settings.sandbox_env) == (
        "unsafe", ["pandas", "numpy>=2"], "/srv/env")
    monkeypatch.setenv("AGENTCODE_PACKAGES", "matplotlib, scipy")
    assert load_settings().packages == ["matplotlib", "scipy"]


def test_sandbox_table_refuses_unknown_keys(agentcode_home: Path) -> None:
    write_config(agentcode_home, '[sandbox]\npackage = ["pandas"]\n')
    with pytest.raises(ConfigError, match="unknown key 'sandbox.package'.*packages"):
        load_settings()


def test_every_mistake_in_the_config_file_is_reported_at_once(agentcode_home: Path) -> None:
    write_config(agentcode_home, "timeout = 'soon'\ntimout = 3\nmodel = [1]\n"
                 "[limits]\nmemory_mb = 'lots'\n[sandbox]\npackage = ['x']\n")
    done = run_cli(["run", "-"], stdin="print(1)\n")
    path = agentcode_home / "config.toml"
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == (
        f"agentcode: error: 5 mistakes in {path}: unknown key 'sandbox.package': known keys "
        "are backend, packages, env; 'model' must be a string or a list of strings, not 1; "
        "'timeout' must be a number, not 'soon'; 'limits.memory_mb' must be an integer, not "
        "'lots'; unknown key 'timout': did you mean 'timeout'?\n")


def test_a_config_file_named_but_missing_is_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent.toml"
    done = run_cli(["run", "-"], stdin="print(1)\n", env={"AGENTCODE_CONFIG": str(missing)})
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == (
        f"agentcode: error: AGENTCODE_CONFIG names {missing}, which does not exist\n")


def test_a_plugins_table_is_the_plugins_own(agentcode_home: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (agentcode_home / "config.toml").write_text(
        '[plugins.echo]\ngreeting = "hi"\nretries = 3\n', encoding="utf-8")
    monkeypatch.setenv("AGENTCODE_PLUGINS", "ignored: not read from the environment")
    settings = load_settings()
    assert settings.plugin("echo") == {"greeting": "hi", "retries": 3}
    assert settings.plugin("other") == {}
    (agentcode_home / "config.toml").write_text("[plugins]\necho = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'plugins' in .* must be tables, one per plugin"):
        load_settings()
