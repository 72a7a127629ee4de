"""The same tasks as test_gen_run, below the CLI: load_local_model -> strands Agent -> run the code.

Independent of the `gen`/`run` commands, so a failure here points at the embedded model itself.
The generated code runs in a child interpreter (isolated mode, temp cwd, timeout); the sandboxed
path is covered by test_gen_run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agentcode.config import Settings
from agentcode.models.local import load_local_model

from .test_gen_run import TASKS

SYSTEM = (
    "You write complete, runnable Python 3 programs. Reply with exactly one fenced ```python code "
    "block and nothing else. The program prints its result to stdout and reads no input."
)


@pytest.fixture(scope="module")
def agent(embedded_model_path: Path):
    from strands import Agent

    model = load_local_model(str(embedded_model_path), Settings(), max_tokens=512)
    return lambda prompt: Agent(model=model, system_prompt=SYSTEM, callback_handler=None)(prompt)


@pytest.mark.slow
@pytest.mark.parametrize(("prompt", "check"), TASKS, ids=["primes", "sum", "factorial"])
def test_generated_code_runs_and_answers(
    prompt: str, check: Callable[[str], bool], agent, tmp_path: Path
):
    reply = str(agent(prompt))
    match = re.search(r"```(?:python|py)?\n(.*?)```", reply, re.S)
    assert match, reply
    done = subprocess.run(
        [sys.executable, "-I", "-c", match.group(1)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, (match.group(1), done.stderr)
    assert check(done.stdout), (match.group(1), done.stdout)
