from __future__ import annotations

import subprocess
import sys

import pytest

from agentcode.cli.app import main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "agentcode", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def test_unknown_command_is_usage_error() -> None:
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "No such command" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("agentcode ")


def test_bad_config_is_one_line_exit_2(agentcode_home) -> None:
    (agentcode_home / "config.toml").write_text("timeout = 'x'\n", encoding="utf-8")
    result = run_cli("run", "-", env={"AGENTCODE_HOME": str(agentcode_home)})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("agentcode: error: 'timeout' in ")
    assert "must be a number, not 'x'" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr


def test_internal_error_has_no_traceback_unless_debug(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import agentcode.cli.app as app_module

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(app_module.typer.main, "get_command", boom)
    monkeypatch.setattr(app_module, "_built", None)  # built once per process
    assert main(["anything"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaput" in err
    assert "Traceback" not in err

    monkeypatch.setenv("AGENTCODE_DEBUG", "1")
    assert main(["anything"]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "stdin"), [
    (["schema", "generation"], None),
    (["run", "-"], b"for i in range(100000): print(i)\n"),
    (["history", "list", "--json"], None),
])
def test_a_reader_that_goes_away_ends_the_command_quietly_with_0(
        args: list[str], stdin: bytes | None, agentcode_home) -> None:
    import os

    env = {**os.environ, "AGENTCODE_HOME": str(agentcode_home)}
    if args[0] == "history":  # enough entries that the listing outlives the reader
        for n in range(3):
            subprocess.run([sys.executable, "-m", "agentcode", "run", "-"], input=f"{n}",
                           text=True, env=env, capture_output=True, check=True)
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already exited: every write is EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "agentcode", *args], input=stdin,
                              stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=120)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr.decode()) == (0, "")
