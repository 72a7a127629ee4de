"""The task benchmark's own integrity: every task loads, its checker accepts the task's reference
answer run for real in the sandbox (as `agentcode run` would), accepts its right programs (answers
in other formats) and rejects its wrong ones (the mistakes models make) and output that is not an
answer. A checker that passes anything, or fails a correct program, would make the benchmark's
pass rates meaningless. Also the paired statistics its reports rest on (exact McNemar)."""

from __future__ import annotations

import datetime as dt
import json
import time
from math import comb
from pathlib import Path

import pytest
from benchmark_modules import load_benchmark

bench = load_benchmark("task_bench")
stats = load_benchmark("task_stats")
TASKS = bench.load_tasks()


def test_there_are_enough_varied_tasks() -> None:
    assert len(TASKS) >= 100
    assert len([t for t in TASKS if t.split == "test"]) >= 40, "a held-out split of 40+"
    tags = {tag for task in TASKS for tag in task.tags}
    assert {"csv", "json", "log", "text", "files", "writes", "stdin", "argv", "config",
            "several-files", "pandas", "numpy", "matplotlib", "quoting", "missing",
            "blank-lines", "unicode", "crlf", "large"} <= tags
    assert all(task.reference for task in TASKS), "every task carries a reference answer"


@pytest.mark.parametrize("task", TASKS, ids=[task.name for task in TASKS])
def test_every_task_says_its_split_and_date_and_ships_wrong_and_right_programs(
    task: object
) -> None:
    assert task.split in ("dev", "test")
    assert dt.date.fromisoformat(task.added) <= dt.date.today() + dt.timedelta(days=1)
    assert len(task.wrong) >= 3 and all(p.get("why") and p.get("code") for p in task.wrong)
    assert len(task.right) >= 1 and all(p.get("code") for p in task.right)


def test_checkers_accept_every_right_program_and_reject_every_wrong_one(
    data_sandbox_env: Path
) -> None:
    """All of them (references too) in one sandbox session: ~300+ programs in seconds."""
    from agentcode.config import load_settings

    settings = load_settings(history=False)
    settings.sandbox_env = str(data_sandbox_env)
    started = time.perf_counter()
    assert bench.check_programs(TASKS, settings) == {}
    # Kept fast on purpose (a few seconds when the machine is idle); a regression shows here.
    assert time.perf_counter() - started < 120


@pytest.mark.parametrize("task", TASKS, ids=[task.name for task in TASKS])
def test_checker_rejects_output_that_is_no_answer(task: object) -> None:
    assert bench.check_output(task, "", {}) is not None
    assert bench.check_output(task, "hello\n", {"out.txt": "hello\n"}) is not None


def test_references_pass_the_way_the_benchmark_scores_answers(data_sandbox_env: Path) -> None:
    """`run_answer` (a sandbox session per answer, as a benchmark run scores it) on one task of
    each kind of input: the batch above runs every reference, this checks the two agree."""
    from agentcode.config import load_settings

    settings = load_settings(history=False)
    settings.sandbox_env = str(data_sandbox_env)  # the data tasks import pandas & co.
    kinds = ["stdin", "writes", "several-files", "argv", "crlf", "unicode", "large", "pandas",
             "numpy", "matplotlib", "toml"]
    sample = {next(t.name for t in TASKS if kind in t.tags): kind for kind in kinds}
    failures = {}
    for task in TASKS:
        if task.name in sample:
            result = bench.run_answer(task, task.reference, settings)
            if not result["passed"]:
                failures[task.name] = result["failure"]
    assert failures == {}
    wrong = next(t for t in TASKS if "argv" in t.tags)
    assert not bench.run_answer(wrong, wrong.wrong[0]["code"], settings)["passed"]


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
    from agentcode.generation.pipeline import Checks

    assert bench.audit([results], settings, Checks.parse("all")) == {
        "pass / checker pass": len(TASKS),  # argv tasks too: verification passes arguments
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


def test_review_baseline_scores_the_answer_the_review_rejected() -> None:
    from agentcode.config import load_settings

    task = next(t for t in TASKS if t.name == "log_top_ips")
    other = next(t for t in TASKS if t.name != task.name)
    no = "running the code: it ran cleanly, but a review of its output says it does not do the task"
    data = {"results": [
        # the review said no to a wrong answer and the repair was right: a gain
        {"task": task.name, "passed": True, "rounds": [
            {"code": task.wrong[0]["code"], "error": no}, {"code": task.reference, "error": None}]},
        # the review said yes (no "no" in its rounds): the same answer either way
        {"task": other.name, "passed": False, "rounds": [{"code": "", "error": None}]},
    ]}
    lines = bench.review_baseline(data, load_settings(history=False))
    assert data["results"][0]["review_said_no"] and not data["results"][0]["without_review_passed"]
    assert not data["results"][1]["review_said_no"]
    assert data["results"][1]["without_review_passed"] is False
    assert lines[0] == ("without review -> with review: 0 -> 1 of 2, gained 1, lost 0, "
                        "exact McNemar p = 1")
    assert lines[1] == "the review said no to 1 answers, 0 of them right"


def test_agreement_curve_scores_each_number_of_candidates_by_the_largest_group() -> None:
    from agentcode.config import load_settings

    task = next(t for t in TASKS if t.name == "log_top_ips")
    wrong, right = task.wrong[0]["code"], task.reference
    rounds = [
        {"code": "raise SystemExit(2)", "passed": False, "kind": "first", "at": 1.0},
        {"code": wrong, "passed": True, "kind": "repair", "at": 3.0},  # the first clean run
        {"code": right, "passed": True, "kind": "vote", "at": 9.0},
        {"code": wrong, "passed": True, "kind": "vote", "at": 9.0},
        {"code": right, "passed": True, "kind": "vote", "at": 9.0},
        {"code": right, "passed": True, "kind": "vote", "at": 9.0},
    ]
    data = {"meta": {"agreement": 5}, "results": [
        {"task": task.name, "passed": True, "seconds": 11.0, "rounds": rounds},
        # nothing ran cleanly: no vote, the answer as returned for every number
        {"task": "csv_filter_rows", "passed": False, "seconds": 7.0,
         "rounds": [{"code": "1/0", "passed": False, "kind": "first", "at": 7.0}]},
    ]}
    lines = bench.agreement_curve(data, load_settings(history=False))
    curve = data["results"][0]["agreement_curve"]
    # voters: wrong (the first clean run), right, wrong, right, right. 1: wrong; 2: a tie, the
    # earliest group wins; 3: wrong 2 to 1; 4: 2 to 2, a tie again; 5: right 3 to 2
    assert [c["passed"] for c in curve] == [False, False, False, False, True]
    assert [c["seconds"] for c in curve] == [3.0, 5.0, 7.0, 9.0, 11.0]
    assert [c["passed"] for c in data["results"][1]["agreement_curve"]] == [False] * 5
    assert lines[4].endswith("1 -> 5: 0 -> 1 of 2, gained 1, lost 0, exact McNemar p = 1")
    assert lines[0].startswith("1 candidate(s): 0 of 2 passed, median 5.0 s")
    assert lines[5].startswith("5 candidate(s), as the run returned: 1 of 2 passed")


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


def test_the_split_selects_tasks_and_a_task_without_one_is_dev(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('prompt = "x"\ncheck = "assert out"\nsplit = "test"\n')
    (tmp_path / "b.toml").write_text('prompt = "y"\ncheck = "assert out"\n')
    assert [t.name for t in bench.load_tasks(tmp_path, split="test")] == ["a"]
    assert [t.name for t in bench.load_tasks(tmp_path, split="dev")] == ["b"]
    assert len(bench.load_tasks(tmp_path)) == 2
    (tmp_path / "c.toml").write_text('prompt = "z"\ncheck = "assert out"\nsplit = "train"\n')
    with pytest.raises(ValueError, match="split is dev or test"):
        bench.load_tasks(tmp_path)


def test_windows_line_endings_reach_the_program_as_written(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        'prompt = "x"\ncheck = "assert out"\nline_endings = "crlf"\nstdin = "a\\nb\\n"\n'
        '[files]\n"f.csv" = "x,y\\n1,2\\n"\n')
    task = bench.load_tasks(tmp_path)[0]
    assert task.stdin == "a\r\nb\r\n" and task.files == {"f.csv": "x,y\r\n1,2\r\n"}


def _binomial_p(gained: int, lost: int) -> float:
    """The two-sided exact test by its definition: every outcome no more likely than the one
    seen, under Bin(n, 1/2)."""
    n = gained + lost
    seen = comb(n, gained)
    return min(1.0, sum(comb(n, k) for k in range(n + 1) if comb(n, k) <= seen) / 2**n)


@pytest.mark.parametrize(("gained", "lost", "p"), [
    (10, 0, 0.001953125),  # plain -> verify at budget 8 on the stored results (issue 21)
    (4, 0, 0.125), (3, 0, 0.25), (2, 0, 0.5), (1, 0, 1.0), (0, 0, 1.0), (5, 5, 1.0),
    (0, 6, 0.03125), (7, 1, 0.0703125),
])
def test_mcnemar_exact_p_values(gained: int, lost: int, p: float) -> None:
    assert stats.mcnemar_exact(gained, lost) == pytest.approx(p)
    assert stats.mcnemar_exact(lost, gained) == pytest.approx(p)


def test_mcnemar_agrees_with_the_binomial_test_by_definition() -> None:
    for n in range(0, 25):
        for gained in range(n + 1):
            assert stats.mcnemar_exact(gained, n - gained) == pytest.approx(
                _binomial_p(gained, n - gained)), (gained, n - gained)
    with pytest.raises(ValueError):
        stats.mcnemar_exact(-1, 2)


def _rows(mode: str, passed: dict[str, bool]) -> list[dict[str, object]]:
    return [{"task": t, "mode": mode, "passed": ok, "seconds": 1.0} for t, ok in passed.items()]


def test_paired_counts_only_the_tasks_both_sides_scored() -> None:
    pair = stats.paired({"a": False, "b": True, "c": False, "gone": True},
                        {"a": True, "b": False, "c": True, "new": True})
    assert (pair.tasks, pair.a_passed, pair.b_passed) == (3, 1, 2)
    assert pair.gained == ["a", "c"] and pair.lost == ["b"]
    assert pair.p_value == 1.0


def test_a_report_pairs_each_mode_with_the_first_one_measured_in_the_same_run() -> None:
    names = [t.name for t in TASKS if t.split == "dev"][:6]
    results = (_rows("plain", dict.fromkeys(names, False))
               + _rows("verify", {n: i < 4 for i, n in enumerate(names)}))
    text = bench.markdown({"meta": {"model": "m", "date": "d", "machine": "x"},
                           "results": results})
    assert "plain -> verify: 0 -> 4 of 6, gained 4, lost 0, exact McNemar p = 0.125" in text
    dev = bench.markdown({"meta": {"model": "m", "date": "d", "machine": "x"},
                          "results": results}, split="dev")
    assert "in-sample" in dev


def test_compare_pairs_two_results_files_per_task(tmp_path: Path, capsys: object) -> None:
    names = [t.name for t in TASKS if t.split == "dev"][:5]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"meta": {}, "results": _rows("plain", dict.fromkeys(names, False))}))
    b.write_text(json.dumps({"meta": {}, "results": _rows("verify", dict.fromkeys(names, True))}))
    assert bench.compare(str(a), str(b)) == [
        "a.json:plain -> b.json:verify: 0 -> 5 of 5, gained 5, lost 0, exact McNemar p = 0.0625"]
    assert bench.compare(f"{a}:plain", f"{b}:verify", split="test")[0].endswith(
        "0 -> 0 of 0, gained 0, lost 0, exact McNemar p = 1")
    assert bench.main(["--compare", str(a), str(tmp_path / "missing.json")]) == 2
    assert "--compare" in capsys.readouterr().err


def test_review_turns_the_output_review_on_in_both_ways_of_asking() -> None:
    from agentcode.config import load_settings
    from agentcode.generation.review import REVIEW_SYSTEM
    from agentcode.testing import FakeModel

    task = next(t for t in TASKS if t.stdin and t.reference and not t.files and not t.argv)
    model = FakeModel([f"```python\n{task.reference}```", "yes"])
    answer = bench.ask(task, "input", model, load_settings(history=False, timeout=10), None,
                       review=True)
    assert answer["code"].strip() == task.reference.strip()
    assert [c.system_prompt == REVIEW_SYSTEM for c in model.calls] == [False, True]
    # Through a command line: `gen --checks output-review` where the code runs (echo shows it).
    asked = bench.ask_cli(task, "input", ["echo"], review=True)["code"]
    assert "gen --checks output-review --stdin " in asked
    assert "--checks" not in bench.ask_cli(task, "plain", ["echo"], review=True)["code"]


def test_cli_asks_through_a_command_line_and_resume_keeps_the_earlier_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A "version" of agentcode that answers every gen with one program: the CLI path and the
    # scoring are real; --resume adds tasks and says when the earlier rows were measured.
    answer = "sh -c 'echo \"print(42)\"' sh"
    results = tmp_path / "r.json"
    first = ["--split", "dev", "--only", "log_top_ips", "--modes", "plain,input",
             "--cli", f"fixed={answer}", "--json", str(results), "--note", "first"]
    assert bench.main(first) == 0
    data = json.loads(results.read_text())
    assert [(r["task"], r["mode"], r["code"], r["passed"]) for r in data["results"]] == [
        ("log_top_ips", "plain@fixed", 'print(42)', False),
        ("log_top_ips", "input@fixed", 'print(42)', False)]
    assert data["results"][0]["gen_exit"] == 0 and data["meta"]["cli"] == {"fixed": answer}
    second = [*first[:3], "log_top_ips,csv_oldest_person", *first[4:-1], "second", "--resume",
              "--asks", "plain@fixed"]
    assert bench.main(second) == 0
    data = json.loads(results.read_text())
    assert [(r["task"], r["mode"]) for r in data["results"]] == [
        ("log_top_ips", "plain@fixed"), ("log_top_ips", "input@fixed"),
        ("csv_oldest_person", "plain@fixed")]
    assert [run["note"] for run in data["meta"]["earlier_runs"]] == ["first"]
    assert data["meta"]["note"] == "second"
    capsys.readouterr()
