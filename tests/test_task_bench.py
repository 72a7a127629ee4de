"""The task benchmark's own integrity: every task loads, its checker accepts the task's reference
answer run for real in the sandbox (as `agentcode run` would), and rejects output that is not
an answer. A checker that passes anything, or fails a correct program, would make the benchmark's
pass rates meaningless."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bench = _load("task_bench")
TASKS = bench.load_tasks()


def test_there_are_enough_varied_tasks() -> None:
    assert len(TASKS) >= 40
    tags = {tag for task in TASKS for tag in task.tags}
    assert {"csv", "json", "log", "text", "files", "writes", "stdin"} <= tags
    assert all(task.reference for task in TASKS), "every task carries a reference answer"


@pytest.mark.parametrize("task", TASKS, ids=[task.name for task in TASKS])
def test_checker_rejects_output_that_is_no_answer(task: object) -> None:
    assert bench.check_output(task, "", {}) is not None
    assert bench.check_output(task, "hello\n", {"out.txt": "hello\n"}) is not None


def test_every_reference_answer_passes_in_the_sandbox(data_sandbox_env: Path) -> None:
    from agentcode.config import load_settings

    settings = load_settings(history=False)
    settings.sandbox_env = str(data_sandbox_env)  # the data tasks import pandas & co.
    failures = {}
    for task in TASKS:
        result = bench.run_answer(task, task.reference, settings)
        if not result["passed"]:
            failures[task.name] = result["failure"]
    assert failures == {}


def test_the_output_checks_pass_every_reference_and_flag_what_did_not_do_the_task(
    data_sandbox_env: Path, tmp_path: Path
) -> None:
    """Verification without tests judges a clean run by its output (`generation.checks.output`);
    on the benchmark's own tasks it must never fail a correct answer."""
    import json

    from agentcode.config import load_settings

    settings = load_settings(history=False)
    settings.sandbox_env = str(data_sandbox_env)
    rows = [{"task": t.name, "code": t.reference, "rounds": []} for t in TASKS]
    rows += [
        {"task": "text_dates_to_iso", "rounds": [],  # prints its input back unchanged
         "code": "import sys\nfor line in sys.stdin:\n    print(line, end='')\n"},
        {"task": "wordcount_json_file", "rounds": [],  # prints what it was to write
         "code": "from collections import Counter\n"
                 "print(Counter(open('story.txt').read().split()))\n"},
    ]
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"meta": {}, "results": rows}))
    assert bench.audit([results], settings) == {
        "pass / checker pass": len(TASKS),
        "output / checker fail": 2,
    }


def test_a_program_that_crashes_or_exits_non_zero_fails(tmp_path: Path) -> None:
    from agentcode.config import load_settings

    settings = load_settings(history=False)
    task = next(t for t in TASKS if t.name == "log_top_ips")
    crashed = bench.run_answer(task, "import sys\nprint(sys.stdin.read()[:5])\nundefined_name\n",
                               settings)
    assert not crashed["passed"] and crashed["error_name"] == "NameError"
    exited = bench.run_answer(task, f"{task.reference}\nraise SystemExit(3)\n", settings)
    assert not exited["passed"] and exited["exit_code"] == 3


def test_numbers_reads_thousands_separators_and_signs() -> None:
    assert bench.numbers("total: 1,234.50 and -3 (x2)") == [1234.5, -3.0, 2.0]


def test_summary_counts_passes_and_name_errors() -> None:
    rows = [
        {"task": "a", "mode": "plain", "passed": True, "seconds": 2.0},
        {"task": "b", "mode": "plain", "passed": False, "seconds": 4.0, "error_name": "NameError"},
        {"task": "a", "mode": "verify", "passed": True, "seconds": 3.0},
    ]
    summary = bench.summarize(rows)
    assert summary["plain"]["passed"] == 1 and summary["plain"]["pass_at_1"] == 50.0
    assert summary["plain"]["name_errors"] == ["b"]
    assert summary["verify"]["failed"] == []
