"""Shell completion is Typer's own: --show-completion, --install-completion, and completing the
commands, sandbox names and model names (the latter two from the registries, plugins included)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Typer finds the user's shell from the parent processes (shellingham); a test run with no shell
# above it (CI runners, setsid) finds none. Typer's own switch makes the options take the shell
# by name instead, as a user on an unusual terminal would pass it.
BY_NAME = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}


def complete(words: str, env: dict[str, str] | None = None) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = subprocess.run(
        [sys.executable, "-m", "agentcode"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "_AGENTCODE_COMPLETE": "complete_bash", "COMP_WORDS": words,
             "COMP_CWORD": str(cword), **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_show_completion_prints_the_bash_script() -> None:
    result = subprocess.run([sys.executable, "-m", "agentcode", "--show-completion", "bash"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, **BY_NAME})
    assert result.returncode == 0, result.stderr
    assert "_AGENTCODE_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _agentcode_completion agentcode" in result.stdout


def test_install_completion_writes_the_script_for_the_shell(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentcode", "--install-completion", "bash"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, **BY_NAME, "HOME": str(tmp_path), "SHELL": "/bin/bash"},
    )
    assert result.returncode == 0, result.stderr
    script = tmp_path / ".bash_completions" / "agentcode.sh"
    assert "_agentcode_completion" in script.read_text(encoding="utf-8")
    assert str(script) in (tmp_path / ".bashrc").read_text(encoding="utf-8")


def test_commands_sandboxes_and_models_complete() -> None:
    assert complete("agentcode ge") == ["gen"]
    assert complete("agentcode run --sandbox ") == ["local", "agentcore", "unsafe"]
    assert complete("agentcode gen --sandbox u") == ["unsafe"]
    models = complete("agentcode gen -m ")
    assert {"local", "local:", "bedrock", "bedrock:", "openai:"} <= set(models)
    assert {"fake", "fake:"} <= set(models)  # the test suite's plugin, found by entry point
