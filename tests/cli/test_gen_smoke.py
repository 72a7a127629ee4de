"""`agentcode gen` with a known input (piped data, --stdin, --file): the model sees a sample, and
the code runs once on that input in the sandbox and is repaired when it fails (issue 11: the
README's own sales example parsed the header row as data). --no-verify skips the run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import CliResult, run_cli

from agentcode.testing import FakeModel
from agentcode.types import DEFAULT_MAX_REPAIRS, SMOKE_MAX_REPAIRS

SALES = "region,amount\nNorth,10.5\nSouth,4\nNorth,1.5\n"
# Parses the header row as data, like the model did on the README example.
HEADER_BUG = (
    "import sys\nfrom collections import defaultdict\ntotals = defaultdict(float)\n"
    "for line in sys.stdin:\n    region, amount = line.strip().split(',')\n"
    "    totals[region] += float(amount)\nfor region, total in sorted(totals.items()):\n"
    "    print(region, total)\n"
)
FIXED = HEADER_BUG.replace("for line in sys.stdin:", "for line in list(sys.stdin)[1:]:")
FROM_FILE = (
    "import csv\nwith open('sales.csv') as f:\n"
    "    print(sum(float(r['amount']) for r in csv.DictReader(f)))\n"
)


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


def gen(*args: str, stdin: str | bytes | None = None,
        env: dict[str, str] | None = None) -> CliResult:
    return run_cli(["gen", *args], stdin=stdin, env=env)




def repair_shown(models: Callable[..., None], first: str, fixed: str, *args: str,
                 stdin: str | None = None) -> list[str]:
    """``gen *args`` with a model that answers ``first``, then ``fixed``: the code printed must
    be ``fixed``, with exit 0. Returns the two requests the model was sent (the second is the
    repair)."""
    model = FakeModel([fenced(first), fenced(fixed)])
    models(a=model)
    result = gen(*args, "-m", "t:a", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == fixed
    assert len(model.calls) == 2
    return [call.prompt for call in model.calls]


def test_piped_data_is_run_by_default_and_a_crash_on_it_is_repaired(
    models: Callable[..., None],
) -> None:
    first, repair = repair_shown(models, HEADER_BUG, FIXED, "total amount per region",
                                 stdin=SALES)
    assert "could not convert string to float: 'amount'" in repair
    assert "region,amount" in first  # the sample the model saw


def test_the_run_on_a_known_input_has_a_smaller_budget_than_verify(
    models: Callable[..., None],
) -> None:
    model = FakeModel(fenced(HEADER_BUG))  # never fixed
    models(a=model)
    result = gen("total amount per region", "-m", "t:a", stdin=SALES)
    assert result.exit_code == 1
    assert len(model.calls) == SMOKE_MAX_REPAIRS + 1
    assert f"after {SMOKE_MAX_REPAIRS + 1} rounds" in result.stderr
    model = FakeModel(fenced(HEADER_BUG))
    models(a=model)
    result = gen("total amount per region", "-m", "t:a", "--verify", stdin=SALES)
    assert len(model.calls) == DEFAULT_MAX_REPAIRS + 1 > SMOKE_MAX_REPAIRS + 1
    model = FakeModel(fenced(HEADER_BUG))
    models(a=model)
    gen("total amount per region", "-m", "t:a", "--max-repairs", "0", stdin=SALES)
    assert len(model.calls) == 1


def test_no_verify_skips_the_run(models: Callable[..., None]) -> None:
    model = FakeModel([fenced(HEADER_BUG)])
    models(a=model)
    result = gen("total amount per region", "-m", "t:a", "--no-verify", stdin=SALES)
    assert result.exit_code == 0
    assert result.stdout == HEADER_BUG and len(model.calls) == 1


def test_a_file_is_shown_to_the_model_and_the_code_runs_with_it(
    models: Callable[..., None], tmp_path: Path
) -> None:
    data = tmp_path / "sales.csv"
    data.write_text(SALES)
    model = FakeModel([fenced(FROM_FILE)])
    models(a=model)
    result = gen("sum the amounts in sales.csv", "-m", "t:a", "--file", str(data))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == FROM_FILE
    prompt = model.calls[0].prompt
    assert "the file sales.csv" in prompt and "North,10.5" in prompt


def test_a_run_that_keeps_failing_prints_the_code_and_exits_1(
    models: Callable[..., None],
) -> None:
    models(a=FakeModel(fenced(HEADER_BUG)))
    result = gen("total amount per region", "-m", "t:a", "--max-repairs", "1", stdin=SALES)
    assert result.exit_code == 1
    assert result.stdout == HEADER_BUG
    assert "ValueError" in result.stderr and "Traceback" not in result.stderr.split("failed:")[0]


def test_without_a_sandbox_the_code_is_written_without_the_run(
    models: Callable[..., None], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bubblewrap here
    models(a=FakeModel(fenced(HEADER_BUG)))
    result = gen("total amount per region", "-m", "t:a", stdin=SALES)
    assert result.exit_code == 0
    assert result.stdout == HEADER_BUG
    assert "warning: not running the code: " in result.stderr


def test_no_verify_with_tests_is_bad_usage(models: Callable[..., None]) -> None:
    models(a=FakeModel(fenced("print(1)\n")))
    result = gen("x", "-m", "t:a", "--no-verify", "--check", "True")
    assert result.exit_code == 2 and "drop --no-verify" in result.stderr


def test_a_run_that_prints_nothing_and_writes_nothing_is_repaired(
    models: Callable[..., None],
) -> None:
    silent = "import sys\nrows = sys.stdin.read().splitlines()\n"
    # Off by default: a filter that matches nothing rightly prints nothing.
    _, repair = repair_shown(models, silent, FIXED, "total amount per region",
                             "--checks", "output-empty", stdin=SALES)
    assert "printed nothing and wrote no file" in repair


@pytest.mark.parametrize("code", [
    "import sys\nopen('totals.txt', 'w').write(sys.stdin.read().upper())\n",  # a new file
    "text = open('sales.csv').read()\nopen('sales.csv', 'w').write(text.upper())\n",  # in place
])
def test_a_program_that_writes_a_file_needs_not_print(
    code: str, models: Callable[..., None], tmp_path: Path
) -> None:
    data = tmp_path / "sales.csv"
    data.write_text(SALES)
    model = FakeModel([fenced(code)])
    models(a=model)
    result = gen("upper-case it", "-m", "t:a", "--file", str(data), stdin=SALES)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == code and len(model.calls) == 1


def test_a_file_the_task_names_and_the_program_did_not_write_is_repaired(
    models: Callable[..., None], tmp_path: Path
) -> None:
    data = tmp_path / "sales.csv"
    data.write_text(SALES)
    printed = "print(open('sales.csv').read().upper())\n"  # printed, the file never written
    written = "open('upper.csv', 'w').write(open('sales.csv').read().upper())\n"
    _, repair = repair_shown(models, printed, written, "write sales.csv in upper case to upper.csv",
                          "--file", str(data))
    assert "did not write upper.csv, which the task asks for" in repair


def test_a_program_that_prints_its_input_unchanged_is_repaired(
    models: Callable[..., None],
) -> None:
    text = "due 12/04/2019\ndue 05/10/2023\ndue 01/02/2020\n"
    echo = "import sys\nfor line in sys.stdin:\n    print(line)\n"
    rewrite = (
        "import re, sys\n"
        "text = sys.stdin.read()\n"
        "sys.stdout.write(re.sub(r'(\\d\\d)/(\\d\\d)/(\\d{4})', r'\\3-\\1-\\2', text))\n"
    )
    # A heuristic that is off by default (a filter that keeps every line prints its input).
    _, repair = repair_shown(models, echo, rewrite, "rewrite the MM/DD/YYYY dates as YYYY-MM-DD",
                          "--checks", "output-echo", stdin=text)
    assert "printed its input back unchanged" in repair


def test_a_missing_input_file_is_explained(
    models: Callable[..., None],
) -> None:
    invented = "import csv\nrows = list(csv.reader(open('input.csv')))\nprint(len(rows))\n"
    _, repair = repair_shown(models, invented, FIXED, "total amount per region", stdin=SALES)
    assert "there is no file 'input.csv': the input comes on stdin (sys.stdin)" in repair
    assert 'File "<stdin>", line 2, in <module>' in repair  # the program's own frame


def test_an_error_printed_on_a_clean_exit_is_repaired(models: Callable[..., None]) -> None:
    swallowed = (
        "try:\n    print(open('input.csv').read())\n"
        "except FileNotFoundError:\n    print('Error: File not found.')\n"
    )
    # Off by default: "Error: 3 rows skipped" can be the right output.
    _, repair = repair_shown(models, swallowed, FIXED, "total amount per region",
                             "--checks", "output-error", stdin=SALES)
    assert "printed an error and exited with status 0:\nError: File not found." in repair


def test_a_failed_one_input_program_is_followed_by_its_rewrite_without_a_round(
    models: Callable[..., None],
) -> None:
    one_line = ("rows = input().splitlines()[1:]\n"
                "print(sum(float(r.split(',')[1]) for r in rows) / len(rows))\n")
    model = FakeModel([fenced(one_line)])
    models(a=model)
    result = gen("the mean amount", "-m", "t:a", "--json", stdin=SALES)
    assert result.exit_code == 0, result.stderr
    assert len(model.calls) == 1
    generation = json.loads(result.stdout)
    assert generation["code"] == "import sys\n" + one_line.replace("input()", "sys.stdin.read()")
    assert [r["kind"] for r in generation["rounds"]] == ["first", "rewrite"]
    assert generation["rounds"][0]["stage"] == "run"  # ZeroDivisionError on the header alone


def test_a_one_input_program_that_passes_is_kept_as_written(
    models: Callable[..., None],
) -> None:
    header = "header = input()\nprint(header.split(','))\n"
    model = FakeModel([fenced(header)])
    models(a=model)
    result = gen("print the CSV's header", "-m", "t:a", stdin=SALES)
    assert result.exit_code == 0, result.stderr
    assert len(model.calls) == 1 and result.stdout == header


def test_an_output_flagged_twice_by_different_programs_is_taken_as_meant(
    models: Callable[..., None],
) -> None:
    already_sorted = "apple\nbanana\ncherry\n"  # "sort the lines" prints it back unchanged
    first = "import sys\nprint(''.join(sorted(sys.stdin)), end='')\n"
    second = "import sys\nfor line in sorted(sys.stdin.read().splitlines()):\n    print(line)\n"
    model = FakeModel([fenced(first), fenced(second), fenced("print('never asked')\n")])
    models(a=model)
    result = gen("sort the lines", "-m", "t:a", "--verify", "--checks", "output-echo",
                 stdin=already_sorted)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == second and len(model.calls) == 2
    # The same program again (a repair that changed nothing) is no second opinion.
    model = FakeModel([fenced(first), fenced(first + "\n# unchanged\n"), fenced(second)])
    models(a=model)
    result = gen("sort the lines", "-m", "t:a", "--verify", "--checks", "output-echo",
                 stdin=already_sorted)
    assert result.exit_code == 0 and len(model.calls) == 3


def test_the_model_is_told_what_the_data_is_and_a_repair_what_the_program_saw(
    models: Callable[..., None],
) -> None:
    # The held-out failure of issue 26: DictReader over a string iterates its characters.
    chars = ("import csv, sys\nfrom collections import defaultdict\ntotals = defaultdict(float)\n"
             "for row in csv.DictReader(sys.stdin.read()):\n"
             "    totals[row['region']] += float(row['amount'])\nprint(dict(totals))\n")
    fixed = chars.replace("sys.stdin.read()", "sys.stdin")
    first, repair = repair_shown(models, chars, fixed, "total amount per region", stdin=SALES)
    assert "Profile of stdin: CSV (comma-separated), with a header row, 3 data rows" in first
    assert "Columns: region (text, e.g. 'North'); amount (decimal number)" in first
    assert "KeyError: 'region'" in repair
    shown = repair.split("variables where it failed:\n")[1]
    assert "  row = {'r': 'e'}\n" in shown and "  totals = defaultdict(" in shown


def test_arg_is_the_programs_argument_it_is_told_and_run_with(
    models: Callable[..., None],
) -> None:
    first, repair = repair_shown(models, "import sys\nprint(sys.argv[2])\n",
                                 "import sys\nprint(int(sys.argv[1]) * 2)\n",
                                 "print twice the first argument", "--arg", "21")
    assert "sys.argv[1:] == ['21']" in first
    assert "IndexError" in repair
    refused = gen("print twice the first argument", "--arg", "21", "--server",
                  "http://127.0.0.1:9")
    assert refused.exit_code == 2 and "--arg" in refused.stderr
