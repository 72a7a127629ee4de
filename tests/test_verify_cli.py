"""`agentcode gen --verify`: code always on stdout, failure on stderr and in the exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import CliResult, run_cli

from agentcode.testing import FakeModel
from agentcode.types import DEFAULT_MAX_REPAIRS


@pytest.fixture(autouse=True)
def _short_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCODE_TIMEOUT", "10")


def gen(*args: str) -> CliResult:
    return run_cli(["gen", *args])




def block(code: str) -> str:
    return f"```python\n{code}```\n"


BROKEN = "values = [3, 4]\nprint(sum(values) / 0)\n"
FIXED = "values = [3, 4]\nprint(sum(values) / len(values))\n"


def test_never_fixed_prints_the_code_and_exits_1(models: Callable[..., None]) -> None:
    model = FakeModel(block(BROKEN))
    models(a=model)
    result = gen("--verify", "-m", "t:a", "average of 3 and 4")
    assert result.exit_code == 1
    assert result.stdout == BROKEN
    rounds = DEFAULT_MAX_REPAIRS + 1  # the default budget, all spent
    assert (f"agentcode: error: generated code failed (no input) after {rounds} rounds"
            in result.stderr)
    assert "ZeroDivisionError" in result.stderr
    assert len(model.calls) == rounds
    # The candidate's own traceback is shown (it is the failure); agentcode's never is.
    assert "print(sum(values) / 0)" in result.stderr
    assert "agentcode/" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("agentcode: error: generated code failed")


def test_repaired_code_exits_0(models: Callable[..., None]) -> None:
    models(a=FakeModel([block(BROKEN), block(FIXED)]))
    result = gen("--verify", "-m", "t:a", "average of 3 and 4")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == FIXED
    assert f"repair 1/{DEFAULT_MAX_REPAIRS}" in result.stderr  # progress: stderr, never stdout


def test_max_repairs_and_json(models: Callable[..., None]) -> None:
    models(a=FakeModel([block(BROKEN)]))
    result = gen("--verify", "--max-repairs", "0", "--json", "-m", "t:a", "average")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["verified"] is False
    assert len(data["rounds"]) == 1
    assert "ZeroDivisionError" in data["rounds"][0]["error"]


def test_test_file_drives_the_repair(models: Callable[..., None], tmp_path: Path) -> None:
    tests = tmp_path / "test_slugify.py"
    tests.write_text(
        "from slugify import slugify\n\n"
        "def test_spaces():\n    assert slugify('Hello World') == 'hello-world'\n",
        encoding="utf-8",
    )
    wrong = "def slugify(title):\n    return title.lower()\n"
    right = "def slugify(title):\n    return '-'.join(title.lower().split())\n"
    model = FakeModel([block(wrong), block(right)])
    models(a=model)
    result = gen("--test", str(tests), "-m", "t:a", "a function slugify(title) -> str")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == right
    assert "left:  'hello world'" in model.calls[1].prompt


def test_stdin_file_is_the_input_and_the_context(
    models: Callable[..., None], tmp_path: Path
) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text("a,1\nb,2\nc,39\n", encoding="utf-8")
    code = "import csv, sys\nprint(sum(int(row[1]) for row in csv.reader(sys.stdin)))\n"
    model = FakeModel([block(code)])
    models(a=model)
    result = gen("--verify", "--stdin", str(sample), "-m", "t:a", "print the sum of column 2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == code
    assert "c,39" in model.calls[0].prompt  # the model saw a sample of the data


def test_files_are_put_in_the_work_dir(models: Callable[..., None], tmp_path: Path) -> None:
    data = tmp_path / "numbers.txt"
    data.write_text("5\n6\n", encoding="utf-8")
    code = "print(sum(int(x) for x in open('numbers.txt')))\n"
    models(a=FakeModel([block(code)]))
    result = gen("--verify", "--file", str(data), "--check", "True", "-m", "t:a", "sum numbers.txt")
    assert result.exit_code == 0, result.stderr


def test_bad_check_is_exit_2_before_any_model_call(models: Callable[..., None]) -> None:
    model = FakeModel([])
    models(a=model)
    result = gen("--check", "1 +", "-m", "t:a", "anything")
    assert result.exit_code == 2
    assert "not a Python expression" in result.stderr
    assert model.calls == []


def test_missing_test_file_is_exit_2(models: Callable[..., None], tmp_path: Path) -> None:
    models(a=FakeModel([]))
    result = gen("--test", str(tmp_path / "nope.py"), "-m", "t:a", "anything")
    assert result.exit_code == 2
    assert "test file not found" in result.stderr


def test_verify_options_need_verify(models: Callable[..., None], tmp_path: Path) -> None:
    models(a=FakeModel([]))
    result = gen("--max-repairs", "3", "-m", "t:a", "anything")
    assert result.exit_code == 2
    assert "--verify" in result.stderr


def test_the_nearest_miss_is_printed_when_no_round_passes(
    models: Callable[..., None], tmp_path: Path
) -> None:
    tests = tmp_path / "test_double.py"
    tests.write_text(
        "def test_one():\n    assert double(1) == 2\n\n"
        "def test_two():\n    assert double(2) == 4\n\n"
        "def test_zero():\n    assert double(0) == 0\n",
        encoding="utf-8",
    )
    near = "def double(x):\n    return x * 2 if x < 2 else x * 3\n"
    crash = "raise SystemExit('no idea')\n"
    models(a=FakeModel([block(near), block(crash)]))
    result = gen("--test", str(tests), "--max-repairs", "1", "-m", "t:a", "double(x)")
    assert result.exit_code == 1
    assert result.stdout == near
    assert "round 1's candidate, the nearest miss, failed" in result.stderr
    assert "1 of 3 tests failed" in result.stderr.splitlines()[-1]


def test_progress_says_when_a_repair_changed_nothing(models: Callable[..., None]) -> None:
    model = FakeModel([block(BROKEN), block(BROKEN), block(FIXED)])
    models(a=model)
    result = gen("--verify", "--max-repairs", "2", "-m", "t:a", "average of 3 and 4")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == FIXED
    assert "repair 1/2" in result.stderr
    assert "a fresh draw (the repair changed nothing) 2/2" in result.stderr
    assert model.calls[2].prompt == "average of 3 and 4"  # the original request, drawn again
