"""End to end with the real embedded model: `agentcode gen PROMPT | agentcode run -`.

The CLI runs in child processes with a fresh AGENTCODE_HOME; AGENTCODE_LOCAL_MODEL points at the
weights assembled once for the whole test session (see `embedded_model_path` in conftest).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TASKS = [
    pytest.param(
        "print the first 10 prime numbers, one per line",
        lambda out: out.split() == ["2", "3", "5", "7", "11", "13", "17", "19", "23", "29"],
        id="primes",
    ),
    pytest.param(
        "print the sum of the integers from 1 to 100", lambda out: "5050" in out, id="sum"
    ),
    pytest.param(
        "print the squares of the integers from 1 to 5, one per line",
        lambda out: out.split() == ["1", "4", "9", "16", "25"],
        id="squares",
    ),
]


def agentcode_cli() -> list[str]:
    script = Path(sys.executable).with_name("agentcode")
    return [str(script)] if script.exists() else [shutil.which("agentcode") or "agentcode"]


@pytest.mark.slow
@pytest.mark.parametrize(("prompt", "check"), TASKS)
def test_gen_piped_into_run(prompt: str, check, embedded_model_path: Path, agentcode_home: Path):
    env = {
        **os.environ,
        "AGENTCODE_HOME": str(agentcode_home),
        "AGENTCODE_MODEL": "local",
        "AGENTCODE_LOCAL_MODEL": str(embedded_model_path),
    }
    cli = agentcode_cli()
    gen = subprocess.Popen(
        [*cli, "gen", prompt],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert gen.stdout is not None
    try:
        run = subprocess.run([*cli, "run", "-"], stdin=gen.stdout, capture_output=True,
                             text=True, env=env, timeout=300)
        gen.stdout.close()
        gen_err = gen.stderr.read().decode() if gen.stderr else ""
        gen_status = gen.wait(timeout=300)
    finally:  # a timed-out run must not leave gen (and its model) running past the test
        if gen.poll() is None:
            gen.kill()
            gen.wait()
    assert run.returncode == 0, (run.stdout, run.stderr, gen_err)
    assert gen_status == 0, gen_err
    assert check(run.stdout), (run.stdout, run.stderr)
