"""The heuristic checks are named and switchable: `Checks.parse`, ``gen --checks``, the config
file's ``checks`` and ``generate(checks=...)``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import run_cli

import agentcode
from agentcode.generation.pipeline import DEFAULT_ON, Checks, Heuristic
from agentcode.testing import FakeModel

ECHO = "import sys\nsys.stdout.write(sys.stdin.read())\n"
UPPER = "import sys\nsys.stdout.write(sys.stdin.read().upper())\n"
TEXT = "alpha\nbeta\ngamma\n"


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


def test_words_apply_in_order_to_the_defaults() -> None:
    assert Checks.parse(None) == Checks() and Checks().on == DEFAULT_ON
    assert Heuristic.OUTPUT_ECHO in Checks.parse("output-echo")
    assert Heuristic.OUTPUT_FILE not in Checks.parse(["no-output-file"])
    assert Checks.parse("none,output-error").on == {Heuristic.OUTPUT_ERROR}
    assert Checks.parse("all").on == set(Heuristic)
    assert Checks.parse("all, default").on == DEFAULT_ON
    with pytest.raises(ValueError, match="unknown check 'output-eco': the checks are"):
        Checks.parse("output-eco")


def test_an_unknown_check_on_the_command_line_is_one_line_exit_2(
    models: Callable[..., None],
) -> None:
    models(a=FakeModel([fenced(UPPER)]))
    result = run_cli(["gen", "upper-case it", "-m", "t:a", "--checks", "bogus"], stdin=TEXT)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "unknown check 'bogus'" in result.stderr


def test_the_config_file_turns_a_check_on_and_the_command_line_off_again(
    models: Callable[..., None], agentcode_home: Path,
) -> None:
    (agentcode_home / "config.toml").write_text('checks = ["output-echo"]\n')
    model = FakeModel([fenced(ECHO), fenced(UPPER)])
    models(a=model)
    result = run_cli(["gen", "upper-case it", "-m", "t:a"], stdin=TEXT)
    assert result.exit_code == 0 and result.stdout == UPPER and len(model.calls) == 2
    assert "printed its input back unchanged" in model.calls[1].prompt
    model = FakeModel([fenced(ECHO)])
    models(a=model)
    result = run_cli(["gen", "upper-case it", "-m", "t:a", "--checks", "no-output-echo"],
                     stdin=TEXT)
    assert result.exit_code == 0 and result.stdout == ECHO and len(model.calls) == 1


def test_generate_takes_checks_as_words_or_checks() -> None:
    settings = agentcode.Settings(history=False)
    for checks in ("output-echo", Checks.parse("output-echo")):
        model = FakeModel([fenced(ECHO), fenced(UPPER)])
        generation = agentcode.generate("upper-case it", model=model, stdin=TEXT.encode(),
                                        checks=checks, settings=settings)
        assert generation.code == UPPER and [r.stage for r in generation.rounds] == [
            "output", None]
