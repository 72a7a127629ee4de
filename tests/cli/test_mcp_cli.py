"""`agentcode mcp` refuses bad names at start-up, before any client talks to it."""

from __future__ import annotations

import pytest
from cli_runner import run_cli


@pytest.mark.parametrize(("args", "named"), [
    (["mcp", "--sandbox", "bogus"], "unknown sandbox 'bogus'"),
    (["mcp", "-m", "nonsense:x"], "unknown model 'nonsense:x'"),
])
def test_a_bad_name_is_one_line_and_exit_2(args: list[str], named: str) -> None:
    result = run_cli(args, stdin="")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"agentcode: error: {named}")
    assert result.stderr.count("\n") == 1


def test_a_bad_sandbox_from_the_environment_is_refused_too() -> None:
    result = run_cli(["mcp"], stdin="", env={"AGENTCODE_SANDBOX": "nowhere"})
    assert result.exit_code == 2
    assert "unknown sandbox 'nowhere'" in result.stderr
