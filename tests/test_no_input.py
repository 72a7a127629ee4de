"""When a program with no known input is run once anyway (generation.checks.no_input)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import run_cli

from agentcode.config import Settings, load_settings
from agentcode.generation.checks.no_input import asks_for_output, needs_input
from agentcode.generation.codegen import AskOptions
from agentcode.generation.options import VerifyOptions
from agentcode.generation.verify import generate_verified
from agentcode.testing import FakeModel


@pytest.mark.parametrize("prompt", [
    "fibonacci numbers below 100",
    "print the first 10 primes",
    "list the days of the week in French",
    "show a multiplication table up to 9",
    "what day of the week was 2000-01-01?",
    "how many seconds are in a leap year",
    "the 20th triangular number",
    "generate 5 random passwords of 12 characters",
])
def test_requests_that_ask_for_output(prompt: str) -> None:
    assert asks_for_output(prompt)


@pytest.mark.parametrize("prompt", [
    "a function slugify(title) -> str",
    "write a class Stack with push and pop",
    "a module with helpers for parsing dates",
    "a decorator that retries a call three times",
    "rename every .txt file in the current directory to .md",
    "download the front page of example.org and print its title",
    "read numbers from stdin and print their sum",
    "a number guessing game",
    "print the lines of notes.txt in reverse",
    "parse the log and print the top 5 IPs",
    "a tool that prints its command-line arguments",
    "compute the mean of the column and store it in m",
    "count the words and keep it for the next step",
    "",
])
def test_requests_for_code_to_import_or_that_act_on_input_or_the_world(prompt: str) -> None:
    assert not asks_for_output(prompt)


@pytest.mark.parametrize("code", [
    "a, b = 0, 1\nwhile a < 100:\n    print(a)\n    a, b = b, a + b\n",
    "import math\nprint([n for n in range(2, 30) if all(n % d for d in range(2, n))])\n",
    "def fib(limit):\n    a, b = 0, 1\n    out = []\n    while a < limit:\n"
    "        out.append(a)\n        a, b = b, a + b\n    return out\n",
    "import random\nwhile True:\n    n = random.randint(1, 6)\n    if n == 6:\n        break\n"
    "print(n)\n",
    "print('ok')\n",
])
def test_programs_that_need_nothing(code: str) -> None:
    assert needs_input(code) is None


@pytest.mark.parametrize(("code", "why"), [
    ("name = input('name? ')\nprint(name)\n", "it calls input()"),
    ("import sys\nprint(sum(map(int, sys.stdin)))\n", "it uses .stdin"),
    ("import sys\nprint(sys.argv[1])\n", "it uses .argv"),
    ("import os\nprint(os.environ['HOME'])\n", "it uses .environ"),
    ("print(open('data.csv').read())\n", "it calls open()"),
    ("import pandas as pd\nprint(pd.read_csv('x.csv'))\n", "it calls .read_csv()"),
    ("import urllib.request\nprint(1)\n", "it imports urllib.request"),
    ("from tkinter import Tk\nTk().mainloop()\n", "it imports tkinter"),
    ("import time\nwhile True:\n    print(time.time())\n    time.sleep(1)\n", "it loops forever"),
    ("import time\nfor i in range(3):\n    time.sleep(60)\n", "it calls .sleep()"),
    ("n = 0\nwhile True:\n    n += 1\n", "it loops forever"),
    ("def f(:\n", "it does not parse"),
])
def test_programs_that_need_input_or_the_outside_are_not_run_with_nothing(
    code: str, why: str,
) -> None:
    assert needs_input(code) == why


@pytest.mark.parametrize("prompt", ["x", "average", "42"])
def test_a_word_alone_is_not_a_request_for_output(prompt: str) -> None:
    assert not asks_for_output(prompt)


# --- the run with no input, end to end with a scripted model and the local sandbox ----------

# The README's example as the model first wrote it: a function nobody calls.
UNCALLED = ("def fibonacci(limit):\n    a, b = 0, 1\n    while a < limit:\n        yield a\n"
            "        a, b = b, a + b\n")
CALLED = UNCALLED + "print(list(fibonacci(100)))\n"


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


@pytest.fixture
def settings() -> Settings:
    return load_settings(timeout=10, history=False)


def test_a_program_that_prints_nothing_for_a_request_for_output_is_repaired(
    settings: Settings,
) -> None:
    model = FakeModel([fenced(UNCALLED), fenced(CALLED)])
    generation = generate_verified("fibonacci numbers below 100", VerifyOptions(no_input=True),
                                   ask=AskOptions(model=model), settings=settings)
    assert generation.code == CALLED and generation.verified
    assert generation.label == "ran cleanly (no input) (2 rounds)"
    assert generation.rounds[0].stage == "output"
    assert "the request asks for a result: print it" in model.calls[1].prompt


def test_two_programs_that_both_print_nothing_are_both_wrong(settings: Settings) -> None:
    other = UNCALLED.replace("limit", "upper")
    model = FakeModel([fenced(UNCALLED), fenced(other), fenced(CALLED)])
    generation = generate_verified("fibonacci numbers below 100", VerifyOptions(no_input=True),
                                   ask=AskOptions(model=model), settings=settings)
    assert generation.code == CALLED and [r.passed for r in generation.rounds] == [False, False,
                                                                                  True]


def test_a_program_that_reads_input_is_returned_unrun(settings: Settings) -> None:
    reads = "name = input()\nprint(name.upper())\n"
    model = FakeModel([fenced(reads)])
    generation = generate_verified("print a name in capitals", VerifyOptions(no_input=True),
                                   ask=AskOptions(model=model), settings=settings)
    assert generation.code == reads and len(model.calls) == 1
    assert (generation.checked, generation.verified, generation.failed) == ("not run", False,
                                                                           False)


def test_the_no_input_run_can_be_turned_off(settings: Settings) -> None:
    from agentcode.generation.pipeline import Checks

    model = FakeModel([fenced(UNCALLED)])
    generation = generate_verified(
        "fibonacci numbers below 100",
        VerifyOptions(no_input=True, checks=Checks.parse("no-no-input-run")),
        ask=AskOptions(model=model), settings=settings)
    assert generation.code == UNCALLED and generation.checked == "not run"


def test_the_library_runs_the_readme_example(settings: Settings) -> None:
    import agentcode

    model = FakeModel([fenced(UNCALLED), fenced(CALLED)])
    generation = agentcode.generate("fibonacci numbers below 100", model=model,
                                    settings=settings)
    assert generation.code == CALLED and generation.checked == "ran cleanly (no input)"
    plain = FakeModel([fenced(UNCALLED)])
    unrun = agentcode.generate("fibonacci numbers below 100", model=plain, settings=settings,
                               verify=False)
    assert unrun.code == UNCALLED and unrun.checked == "not run" and len(plain.calls) == 1
    function = FakeModel([fenced(UNCALLED)])
    asked = agentcode.generate("a function fibonacci(limit) yielding the numbers below limit",
                               model=function, settings=settings)
    assert asked.checked == "not run" and len(function.calls) == 1


def test_gen_says_last_what_was_checked(models: Callable[..., None]) -> None:
    model = FakeModel([fenced(UNCALLED), fenced(CALLED)])
    models(a=model)
    result = run_cli(["gen", "fibonacci numbers below 100", "-m", "t:a"])
    assert result.exit_code == 0 and result.stdout == CALLED
    assert result.stderr.splitlines()[-1] == "agentcode: ran cleanly (no input) (2 rounds)"
    never = FakeModel(fenced("print(1 / 0)\n"))
    models(a=never)
    failed = run_cli(["gen", "print one divided by zero", "-m", "t:a"])
    assert failed.exit_code == 1
    assert "generated code failed (no input) after 3 rounds" in failed.stderr.splitlines()[-1]


def test_without_a_sandbox_the_code_comes_back_unrun(
    models: Callable[..., None], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    settings: Settings,
) -> None:
    import agentcode

    monkeypatch.setenv("PATH", str(tmp_path))  # no bubblewrap here
    models(a=FakeModel(fenced(UNCALLED)))
    result = run_cli(["gen", "fibonacci numbers below 100", "-m", "t:a"])
    assert result.exit_code == 0 and result.stdout == UNCALLED
    assert "warning: not running the code: " in result.stderr
    assert result.stderr.splitlines()[-1] == "agentcode: not run"
    generation = agentcode.generate("fibonacci numbers below 100", settings=settings,
                                    model=FakeModel(fenced(UNCALLED)))
    assert generation.code == UNCALLED and generation.checked == "not run"


def test_in_a_session_earlier_variables_are_input_so_a_program_reading_them_is_not_run(
    settings: Settings,
) -> None:
    import agentcode
    from agentcode.api.generation import known_input_options

    bumps = "counter += 1\nprint(counter)\n"
    with agentcode.Session(settings=settings, model=FakeModel([fenced(bumps), fenced(UNCALLED),
                                                               fenced(CALLED)])) as session:
        session.execute("counter = 0")
        prompt = "print the counter plus one"
        context, options = known_input_options({}, files={}, stdin=None, prompt=prompt)
        assert options["no_input"] is True
        unrun = session.generate(prompt, context=context, **options)
        # Run only to check it, it would have changed the session's counter before the user's run.
        assert unrun.code == bumps and unrun.checked == "not run"
        assert session.execute("print(counter)").stdout == "0\n"
        # A program of its own is run in the session, and repaired like anywhere else.
        _, options = known_input_options({}, files={}, stdin=None, prompt=FIB_PROMPT)
        fixed = session.generate(FIB_PROMPT, **options)
        assert fixed.code == CALLED and fixed.label == "ran cleanly (no input) (2 rounds)"


FIB_PROMPT = "fibonacci numbers below 100"
