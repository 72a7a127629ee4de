"""Run ``agentcode ARGS`` in the test process, its streams captured: `run_cli`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CliResult:
    """What one in-process `agentcode` command did."""

    exit_code: int
    stdout: str
    stderr: str


def run_cli(
    args: list[str], *, stdin: str | bytes | None = None, env: dict[str, str] | None = None
) -> CliResult:
    """Run ``agentcode ARGS`` in this process with stdin/stdout/stderr captured (for tests).

    Goes through `agentcode.cli.app.main`, so exit codes and one-line errors are the real ones;
    models registered in-process (`agentcode.models.registry.register`) are visible.
    """
    import sys

    from typer.testing import CliRunner

    from agentcode.cli.app import main

    with CliRunner().isolation(input=stdin, env=env) as (out, err, _):
        code = main(args)
        sys.stdout.flush()
        sys.stderr.flush()
        return CliResult(code, out.getvalue().decode(), err.getvalue().decode())

