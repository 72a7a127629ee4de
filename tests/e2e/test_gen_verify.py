"""`gen --verify` end to end with the real embedded model and the real sandbox (the issue's own
two examples), and seeded sampling reaching the real llama.cpp server."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from agentcode.config import Settings
from agentcode.models.local import load_local_model
from agentcode.models.sampling import Sampling, sampling_applied

from .test_gen_run import agentcode_cli

SLUGIFY_TESTS = '''\
def test_words():
    assert slugify("Hello World") == "hello-world"

def test_punctuation_and_spaces():
    assert slugify("  Hello, World!  ") == "hello-world"

def test_runs_collapse():
    assert slugify("a -- b   c") == "a-b-c"
'''


def _env(home: Path, model: Path) -> dict[str, str]:
    return {**os.environ, "AGENTCODE_HOME": str(home), "AGENTCODE_MODEL": "local",
            "AGENTCODE_LOCAL_MODEL": str(model)}


@pytest.mark.slow
def test_verify_with_a_test_file_prints_code_that_passes_it(
    embedded_model_path: Path, agentcode_home: Path, tmp_path: Path
) -> None:
    tests = tmp_path / "test_slugify.py"
    tests.write_text(SLUGIFY_TESTS, encoding="utf-8")
    env = _env(agentcode_home, embedded_model_path)
    gen = subprocess.run(
        [*agentcode_cli(), "gen", "--verify", "--test", str(tests),
         "a function slugify(title) -> str: lowercase, runs of anything that is not a letter or "
         "digit become one hyphen, no hyphens at the ends"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=600,
    )
    assert gen.returncode in (0, 1), gen.stderr
    assert gen.stdout.strip(), gen.stderr  # the code is printed whatever the verdict
    # Whatever gen claims must agree with running its code against the tests independently.
    program = tmp_path / "check.py"
    program.write_text(
        gen.stdout + "\n\n" + SLUGIFY_TESTS
        + "\nfor name in [n for n in dir() if n.startswith('test_')]:\n    globals()[name]()\n",
        encoding="utf-8",
    )
    ran = subprocess.run([*agentcode_cli(), "run", str(program)], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, env=env, timeout=120)
    assert (ran.returncode == 0) == (gen.returncode == 0), (gen.stdout, gen.stderr, ran.stderr)
    if gen.returncode == 1:
        assert "generated code failed the tests after" in gen.stderr.splitlines()[-1]


@pytest.mark.slow
def test_verify_with_sample_stdin_then_run_on_the_real_input(
    embedded_model_path: Path, agentcode_home: Path, tmp_path: Path
) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text("apples,3\npears,4\n", encoding="utf-8")
    big = tmp_path / "big.csv"
    big.write_text("".join(f"item{i},{i}\n" for i in range(1, 1001)), encoding="utf-8")
    env = _env(agentcode_home, embedded_model_path)
    cli = agentcode_cli()
    gen = subprocess.Popen(
        [*cli, "gen", "--verify", "--stdin", str(sample),
         "read CSV rows (no header) from stdin and print the sum of the second column"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    assert gen.stdout is not None
    run = subprocess.run([*cli, "run", "--stdin", str(big), "-"], stdin=gen.stdout,
                         capture_output=True, text=True, env=env, timeout=600)
    gen.stdout.close()
    gen_err = gen.stderr.read().decode() if gen.stderr else ""
    assert gen.wait(timeout=600) == 0, gen_err
    assert run.returncode == 0, (run.stderr, gen_err)
    assert run.stdout.split() == ["500500"], (run.stdout, gen_err)


@pytest.mark.slow
def test_seeded_sampling_reaches_the_real_server(embedded_model_path: Path) -> None:
    model = load_local_model(str(embedded_model_path), Settings(), max_tokens=12)
    messages = [{"role": "user", "content": [{"text": "Invent a name for a cat. One word."}]}]

    async def reply(sampling: Sampling | None) -> str:
        with sampling_applied(model, sampling):
            parts = [
                event["contentBlockDelta"]["delta"]["text"]
                async for event in model.stream(messages)  # type: ignore[arg-type]
                if "contentBlockDelta" in event
            ]
        return "".join(parts)

    greedy = {asyncio.run(reply(None)) for _ in range(2)}
    sampled = {asyncio.run(reply(Sampling(1.5, seed=seed))) for seed in range(1, 7)}
    assert len(greedy) == 1  # the model's own setting is greedy, and is put back each time
    assert len(sampled) > 1  # six seeds at a high temperature do not all give one answer
