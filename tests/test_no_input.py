"""When a program with no known input is run once anyway (generation.checks.no_input)."""

from __future__ import annotations

import pytest

from agentcode.generation.checks.no_input import asks_for_output, needs_input


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
