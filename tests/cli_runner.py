"""Run ``agentcode ARGS`` in the test process, its streams captured: `run_cli`; and read the URL
a started ``agentcode serve`` prints: `serve_url`."""

from __future__ import annotations

import re
import subprocess
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



def serve_url(server: subprocess.Popen[str]) -> str:
    """The ``http://127.0.0.1:PORT`` a started ``agentcode serve`` prints on stderr."""
    assert server.stderr is not None
    while True:
        line = server.stderr.readline()
        assert line, "agentcode serve ended before it printed its URL"
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if found:
            return found.group()
