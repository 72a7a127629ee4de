"""pass@1 of `gen | run` and `gen --verify | run` on realistic pipeline tasks (benchmarks/tasks/).

    python benchmarks/task_bench.py --json benchmarks/results/tasks-local.json
    python benchmarks/task_bench.py --modes plain --only 'csv_*,log_*'
    python benchmarks/task_bench.py --rescore benchmarks/results/tasks-local.json
    python benchmarks/task_bench.py --rescore OLD.json --preflight  # with today's pre-flight
    python benchmarks/task_bench.py --report benchmarks/results/tasks-local.json
    python benchmarks/task_bench.py --audit A.json B.json  # today's output checks vs checkers
    python benchmarks/task_bench.py --split test --modes input --cli "before=..." --cli lib=library
    python benchmarks/task_bench.py --review-baseline R.json  # a --review run without the review
    python benchmarks/task_bench.py --agreement-curve R.json  # an --agreement N run, 1..N votes

Each task (format: benchmarks/tasks/README.md) is what a user pipes: a sentence, an input on
stdin and/or files in the work dir, and a checker of what the program printed and wrote. A task
is asked the way the CLI asks it (a `Session` that is not stateful, as `agentcode gen` makes,
with the same data context: a sample of stdin, and of the files when the CLI shows them), then
the answer is run the way `agentcode run` runs it: a fresh sandbox with the task's stdin and
files, and the checker reads its stdout and the files it created or changed.

``plain`` is one `gen`; ``verify`` is `gen --verify` with the task's stdin and files (the
model never sees the checker). Every round's code is kept in the results file, so ``--rescore``
can re-run and re-check the stored answers without the model (after fixing a checker), and
``--report`` prints the summary of a results file again. ``--audit`` judges every distinct
program of results files with today's verification (no tests: the run on the task's input and
the output checks) and counts how often its verdict agrees with the task's checker: an output
check that flags a program the checker passes is a false alarm.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import fnmatch
import io
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from task_stats import paired  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TASKS_DIR = Path(__file__).resolve().parent / "tasks"
RUN_TIMEOUT = 20.0
CLI_TIMEOUT = 1800.0  # one `gen` through the CLI (--cli), model load and every round included
_KEYS = {"prompt", "check", "reference", "stdin", "files", "tags", "split", "added", "argv",
         "wrong", "right", "line_endings"}
SPLITS = ("dev", "test")


@dataclass(slots=True)
class Task:
    name: str
    prompt: str
    check: str
    reference: str | None = None  # a correct answer, so the checker itself is tested
    stdin: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    split: str = "dev"  # dev: rules were designed from it; test: only ever measured
    added: str = ""  # the date the task was written (YYYY-MM-DD)
    argv: list[str] = field(default_factory=list)  # the program's arguments (sys.argv[1:])
    # Programs the checker must reject ({"why", "code"}) and accept (answers in other formats).
    wrong: list[dict[str, str]] = field(default_factory=list)
    right: list[dict[str, str]] = field(default_factory=list)


def load_tasks(directory: Path = TASKS_DIR, only: str | None = None,
               split: str = "all") -> list[Task]:
    """Every ``*.toml`` task in ``directory`` (sorted by name) of ``split`` (dev, test or all),
    or those matching ``only``."""
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be dev, test or all, not {split!r}")
    patterns = [p.strip() for p in (only or "").split(",") if p.strip()]
    tasks = []
    for path in sorted(directory.glob("*.toml")):
        name = path.stem
        if patterns and not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        task = _task(name, tomllib.loads(path.read_text(encoding="utf-8")), path)
        if split in ("all", task.split):
            tasks.append(task)
    return tasks


def _task(name: str, data: dict[str, Any], path: Path) -> Task:
    unknown = set(data) - _KEYS
    if unknown or "prompt" not in data or "check" not in data:
        raise ValueError(f"{path}: needs prompt and check; unknown keys {sorted(unknown)}")
    if data.get("split", "dev") not in SPLITS:
        raise ValueError(f"{path}: split is dev or test")
    compile(data["check"], f"{name}.check", "exec")
    stdin, files = data.get("stdin"), dict(data.get("files", {}))
    if data.get("line_endings") == "crlf":  # TOML text cannot hold a bare CR: written as LF
        stdin = stdin.replace("\n", "\r\n") if stdin is not None else None
        files = {k: v.replace("\n", "\r\n") for k, v in files.items()}
    return Task(name=name, prompt=data["prompt"], check=data["check"],
                reference=data.get("reference"), stdin=stdin, files=files,
                tags=list(data.get("tags", [])), split=data.get("split", "dev"),
                added=str(data.get("added", "")), argv=[str(a) for a in data.get("argv", [])],
                wrong=list(data.get("wrong", [])), right=list(data.get("right", [])))


# --- checking -----------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


def numbers(text: str) -> list[float]:
    """Every number in ``text`` (thousands separators allowed), in order."""
    return [float(match.replace(",", "")) for match in _NUMBER.findall(text)]


def near(actual: float, expected: float, tolerance: float = 0.011) -> bool:
    return abs(actual - expected) <= max(tolerance, abs(expected) * 1e-6)


_BULLET = re.compile(r"^(?:[-*\u2022]|\d+[.)])\s+")


def _helpers(out: str, files: dict[str, str]) -> dict[str, Any]:
    lines = [line.strip() for line in out.splitlines() if line.strip()]

    def line_with(key: str) -> str:
        """The first output line containing ``key`` (case-insensitive)."""
        for line in lines:
            if key.lower() in line.lower():
                return line
        raise AssertionError(f"no output line mentions {key!r}")

    def without(line: str, key: str) -> str:
        return re.sub(re.escape(key), " ", line, flags=re.IGNORECASE)

    def value_on(key: str) -> list[float]:
        """The numbers on the first line mentioning ``key``, the key itself taken out."""
        return numbers(without(line_with(key), key))

    def pairs(expected: dict[str, float]) -> None:
        """Each key is on a line that also shows its value (numbers compared to 0.01)."""
        for key, value in expected.items():
            line = line_with(key)
            assert any(near(n, value) for n in numbers(without(line, key))), (
                f"{key}: expected {value} on the line {line!r}"
            )

    def in_order(keys: list[str]) -> None:
        """The first lines mentioning each key come in this order."""
        lowered = [line.lower() for line in lines]
        found = [next((i for i, line in enumerate(lowered) if k.lower() in line), -1)
                 for k in keys]
        assert -1 not in found, f"missing: {[k for k, i in zip(keys, found, strict=True) if i < 0]}"
        assert found == sorted(found), f"out of order: {keys} at lines {found}"

    def absent(keys: list[str]) -> None:
        """None of ``keys`` appears in the output (case-insensitive)."""
        seen = [k for k in keys if k.lower() in out.lower()]
        assert not seen, f"should not be in the output: {seen[:5]}"

    # The output's items: bullets and numbering taken off, a label line ("Unique lines:") left out.
    listing = [_BULLET.sub("", line) for line in lines if not line.endswith(":")]

    return {
        "out": out, "lines": lines, "files": files, "numbers": numbers, "near": near,
        "line_with": line_with, "pairs": pairs, "value_on": value_on, "in_order": in_order,
        "absent": absent, "listing": listing, "json": json, "csv": csv, "io": io, "re": re,
        "statistics": statistics,
    }


def check_output(task: Task, out: str, files: dict[str, str]) -> str | None:
    """None when the task's checker accepts the output, else why not (one line)."""
    try:
        exec(compile(task.check, f"{task.name}.check", "exec"), _helpers(out, files))
    except AssertionError as exc:
        detail = str(exc) or "assertion failed"
        return f"check: {detail[:200]}"
    except Exception as exc:  # noqa: BLE001 - a checker tripping over bad output is a fail
        return f"check: {type(exc).__name__}: {str(exc)[:200]}"
    return None


def run_answer(task: Task, code: str, settings: Any) -> dict[str, Any]:
    """Run ``code`` like `agentcode run` with the task's input, then check what it did."""
    from agentcode.api.session import Session
    from agentcode.errors import AgentcodeError, ExecutionTimeoutError

    if not code:
        return {"passed": False, "failure": "no code", "exit_code": None}
    stdin = task.stdin.encode("utf-8") if task.stdin is not None else b""
    with Session("local", settings=settings) as session, \
            tempfile.TemporaryDirectory() as out_dir:
        try:
            if task.files:
                session.write_files({k: v.encode("utf-8") for k, v in task.files.items()})
            execution = session.execute(code, stdin=stdin, timeout=RUN_TIMEOUT,
                                        argv=["-", *task.argv] if task.argv else None)
            written = {
                str(Path(path).relative_to(out_dir)): Path(path).read_text("utf-8", "replace")
                for path in session.download(out_dir)
            }
        except ExecutionTimeoutError:
            return {"passed": False, "failure": f"timed out after {RUN_TIMEOUT:g} s",
                    "exit_code": 124}
        except AgentcodeError as exc:
            return {"passed": False, "failure": f"sandbox: {exc}", "exit_code": None}
    result: dict[str, Any] = {"exit_code": execution.exit_code, "stdout": execution.stdout[-2000:]}
    if execution.error is not None:
        result["failure"] = f"raised {execution.error.name}: {execution.error.value}"[:300]
        result["error_name"] = execution.error.name
    elif execution.exit_code != 0:
        result["failure"] = f"exit {execution.exit_code}: {execution.stderr.strip()[-200:]}"
    else:
        result["failure"] = check_output(task, execution.stdout, written)
    result["passed"] = result["failure"] is None
    return result


def check_programs(tasks: list[Task], settings: Any) -> dict[str, str]:
    """Every task's reference and right programs must pass its checker and its wrong programs
    must fail it; ``{"task: which program": what went wrong}`` for those that do not. All run
    in one sandbox session (`task_batch`)."""
    from task_batch import run_programs

    jobs: list[tuple[Task, str, str, bool]] = []
    for task in tasks:
        if task.reference:
            jobs.append((task, "reference", task.reference, True))
        jobs += [(task, f"right {i + 1}", p["code"], True) for i, p in enumerate(task.right)]
        jobs += [(task, f"wrong {i + 1} ({p.get('why', '?')})", p["code"], False)
                 for i, p in enumerate(task.wrong)]
    runs = run_programs([(task, code) for task, _, code, _ in jobs], settings,
                        timeout=RUN_TIMEOUT)
    problems = {}
    for (task, label, _, should_pass), result in zip(jobs, runs, strict=True):
        if result["exit_code"] != 0:
            failure = f"exit {result['exit_code']}: {result['stderr'].strip()[-300:]}"
        else:
            failure = check_output(task, result["stdout"], result["files"])
        if should_pass and failure is not None:
            problems[f"{task.name}: {label}"] = f"rejected: {failure}"
        elif not should_pass and failure is None:
            problems[f"{task.name}: {label}"] = "accepted"
    return problems


# --- asking ---------------------------------------------------------------------------------

# Methods of issue 26 a run can turn off (--without), to measure them against the same tasks.
METHODS = ("profile", "variables", "no-input-run")


def input_context(task: Task, *, profile: bool = True) -> str | None:
    """The data context the CLI sends: `cat input | agentcode gen ...` for stdin tasks (a
    sample of stdin), `agentcode gen --file NAME ...` for file tasks (a sample of each file);
    ``profile``: with the input's profile (`agentcode.generation.profile`)."""
    from agentcode.generation.codegen import describe_files, describe_input

    parts = []
    if task.stdin is not None:
        parts.append(describe_input(task.stdin.encode("utf-8"), profile=profile))
    if task.files:
        parts.append(describe_files({k: v.encode("utf-8") for k, v in task.files.items()},
                                    profile=profile))
    return "\n\n".join(parts) or None


def ask(
    task: Task, mode: str, model: Any, settings: Any, max_repairs: int | None,
    without: frozenset[str] = frozenset(), agreement: int = 1, review: bool = False,
) -> dict[str, Any]:
    """One answer for ``task`` through a `Session` as the CLI makes it; every round's code.
    ``review``: with the output review on (`Heuristic.OUTPUT_REVIEW`, off by default)."""
    from agentcode.api.session import Session
    from agentcode.errors import AgentcodeError
    from agentcode.types import SMOKE_MAX_REPAIRS

    options: dict[str, Any] = {}
    if mode in ("verify", "input"):
        options = {"verify": True, "stdin": task.stdin.encode("utf-8") if task.stdin else None,
                   "files": {k: v.encode("utf-8") for k, v in task.files.items()}}
        if mode == "input":  # `cat data | agentcode gen ...`: one run on the input, its budget
            options["max_repairs"] = SMOKE_MAX_REPAIRS
        elif max_repairs is not None:
            options["max_repairs"] = max_repairs
    started = time.perf_counter()
    done_at: list[float] = []  # seconds from the start to each round's verdict
    conversation = Session(settings=settings, model=model)
    conversation.stateful = False
    try:
        with conversation:
            if "verify" in options:
                options["on_round"] = lambda _round, _index: done_at.append(
                    time.perf_counter() - started)
                options["show_variables"] = "variables" not in without
                options["agreement"] = agreement
                # Words applied to the configured checks (AGENTCODE_CHECKS too).
                words = ["no-no-input-run"] * ("no-input-run" in without) \
                    + ["output-review"] * review
                if words:
                    options["checks"] = words
            context = input_context(task, profile="profile" not in without)
            generation = conversation.generate(task.prompt, context=context, **options)
    except AgentcodeError as exc:
        return {"code": "", "error": str(exc)[:500], "seconds": time.perf_counter() - started,
                "rounds": []}
    rounds = [{"code": r.code, "passed": r.passed, "kind": r.kind, "stage": r.stage,
               "error": (r.error or "")[:300] or None} for r in generation.rounds]
    if len(done_at) == len(rounds):
        for entry, at in zip(rounds, done_at, strict=True):
            entry["at"] = round(at, 2)
    return {"code": generation.code, "seconds": time.perf_counter() - started,
            "model": generation.model_id, "rounds": rounds,
            "attempts": [{"model": a.model, "error": a.error, "ms": round(a.duration_ms)}
                         for a in generation.attempts],
            "tokens": generation.usage.get("outputTokens")}


def ask_cli(task: Task, mode: str, command: list[str], review: bool = False) -> dict[str, Any]:
    """One answer for ``task`` through an `agentcode` command line, as a user types it:
    ``gen --no-verify`` (plain), ``gen`` (input: the CLI's default when the input is known) or
    ``gen --verify``, with ``--stdin FILE`` and ``--file NAME`` for the task's input. The code
    is what gen printed on stdout, whatever its exit code (`gen | run` runs it). Any version of
    agentcode that has these options can be measured this way (``--cli before=...``);
    ``review`` adds ``--checks output-review`` where the code runs (a version without it
    refuses the word)."""
    import shlex
    import subprocess

    flags = {"plain": ["--no-verify"], "input": [], "verify": ["--verify"]}[mode]
    if review and mode != "plain":
        flags = [*flags, "--checks", "output-review"]
    env = {**os.environ, "AGENTCODE_NO_HISTORY": "1", "AGENTCODE_LOCAL_KEEP_ALIVE": "0",
           "NO_COLOR": "1"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        inputs: list[str] = []
        if task.stdin is not None:
            Path(work, "stdin").mkdir()
            path = Path(work, "stdin", "input")
            path.write_bytes(task.stdin.encode("utf-8"))
            inputs += ["--stdin", str(path)]
        for name, text in task.files.items():
            Path(work, "files", name).parent.mkdir(parents=True, exist_ok=True)
            Path(work, "files", name).write_bytes(text.encode("utf-8"))
            inputs += ["--file", str(Path(work, "files", name))]
        try:
            done = subprocess.run([*command, "gen", *flags, *inputs, task.prompt], env=env,
                                  cwd=work, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=CLI_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return {"code": "", "error": f"gen timed out after {CLI_TIMEOUT:g} s",
                    "seconds": time.perf_counter() - started, "rounds": [],
                    "command": shlex.join(command)}
    stderr = [line for line in done.stderr.splitlines() if line.strip()]
    return {"code": done.stdout.strip("\n"), "seconds": time.perf_counter() - started,
            "rounds": [], "gen_exit": done.returncode, "gen_stderr": "\n".join(stderr[-3:]),
            "command": shlex.join(command)}


# --- reporting ------------------------------------------------------------------------------

def task_splits() -> dict[str, str]:
    """``{task: split}`` from today's task files: the authority, since a test task used to
    design something moves to dev."""
    return {t.name: t.split for t in load_tasks()}


def in_split(results: list[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    """The rows of tasks in ``split`` (all: every row, even of tasks no longer in the suite)."""
    if split == "all":
        return results
    splits = task_splits()
    return [r for r in results if splits.get(r["task"]) == split]


def summarize(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for mode in dict.fromkeys(r["mode"] for r in results):
        rows = [r for r in results if r["mode"] == mode]
        passed = [r for r in rows if r["passed"]]
        name_errors = [r["task"] for r in rows if r.get("error_name") == "NameError"]
        summary[mode] = {
            "tasks": len(rows),
            "passed": len(passed),
            "pass_at_1": round(100 * len(passed) / len(rows), 1) if rows else 0.0,
            "median_seconds": round(statistics.median(r["seconds"] for r in rows), 1),
            "name_errors": name_errors,
            "failed": [r["task"] for r in rows if not r["passed"]],
        }
        if any("first_round_passed" in r for r in rows):
            summary[mode]["first_round_passed"] = sum(
                bool(r.get("first_round_passed")) for r in rows
            )
    return summary


def outcomes(results: list[dict[str, Any]], mode: str) -> dict[str, bool]:
    """``{task: passed}`` of one mode; ``verify:first`` (``input:first``) is that mode's first
    round: the model's first answer, before any run or repair."""
    if mode.endswith(":first"):
        return {r["task"]: bool(r["first_round_passed"]) for r in results
                if r["mode"] == mode.partition(":")[0] and "first_round_passed" in r}
    return {r["task"]: bool(r["passed"]) for r in results if r["mode"] == mode}


def paired_lines(results: list[dict[str, Any]]) -> list[str]:
    """Each mode against the run's first mode (its baseline), measured in the same run, and
    verify against its own first round (the repair loop's share)."""
    modes = list(dict.fromkeys(r["mode"] for r in results))
    pairs = [(modes[0], m) for m in modes[1:]]
    pairs += [(f"{m}:first", m) for m in modes if outcomes(results, f"{m}:first")]
    return [paired(outcomes(results, a), outcomes(results, b)).line(a, b) for a, b in pairs]


def markdown(data: dict[str, Any], split: str = "all") -> str:
    meta = data["meta"]
    results = in_split(data["results"], split)
    summary = summarize(results)
    lines = [
        f"Model `{meta['model']}`, {meta['date']}, {meta['machine']}; "
        f"system prompt: {meta.get('system_prompt_name', 'built-in')}; split: {split}"
        + (" (in-sample: rules were designed from these tasks)" if split == "dev" else "") + ".",
        "",
        "| mode | tasks | passed | pass@1 | median s/task | NameError |",
        "|---|---|---|---|---|---|",
    ]
    for mode, s in summary.items():
        lines.append(f"| {mode} | {s['tasks']} | {s['passed']} | {s['pass_at_1']}% | "
                     f"{s['median_seconds']} | {len(s['name_errors'])} |")
    lines.append("")
    lines += [f"Paired: {line}." for line in paired_lines(results)]
    for mode, s in summary.items():
        lines.append(f"{mode} failed: {', '.join(s['failed']) or 'none'}.")
    return "\n".join(lines)


def compare(a: str, b: str, split: str = "all") -> list[str]:
    """Per-task outcomes of two results files, paired: ``FILE[:MODE]`` each; without modes,
    every mode both files hold (or their only modes, when those differ)."""
    (path_a, _, mode_a), (path_b, _, mode_b) = a.partition(":"), b.partition(":")
    rows_a = in_split(json.loads(Path(path_a).read_text(encoding="utf-8"))["results"], split)
    rows_b = in_split(json.loads(Path(path_b).read_text(encoding="utf-8"))["results"], split)
    modes_a = list(dict.fromkeys(r["mode"] for r in rows_a))
    modes_b = list(dict.fromkeys(r["mode"] for r in rows_b))
    if mode_a or mode_b:
        pairs = [(mode_a or mode_b, mode_b or mode_a)]
    elif common := [m for m in modes_a if m in modes_b]:
        pairs = [(m, m) for m in common]
    elif len(modes_a) == len(modes_b) == 1:
        pairs = [(modes_a[0], modes_b[0])]
    else:
        raise ValueError(f"no common mode: name them, {path_a}:MODE {path_b}:MODE")
    return [paired(outcomes(rows_a, x), outcomes(rows_b, y)).line(
        f"{Path(path_a).name}:{x}", f"{Path(path_b).name}:{y}") for x, y in pairs]


def save(path: Path | None, data: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def audit(paths: list[Path], settings: Any, checks: Any = None) -> dict[str, int]:
    """Verification's verdict against the checker's, for every distinct program (by AST) in
    the results files: ``{"<stage or pass> / checker <pass|fail>": count}``; a flagged program
    (stage "output") is printed with its problem. ``checks``: the heuristic checks
    (`agentcode.generation.pipeline.Checks`; default the defaults). A task's ``argv`` are the
    program's arguments in both runs."""
    from agentcode.generation.judge import Verifier
    from agentcode.generation.rounds import same_code

    tasks = {t.name: t for t in load_tasks()}
    programs: dict[tuple[str, str], str] = {}
    for path in paths:
        for row in json.loads(path.read_text(encoding="utf-8"))["results"]:
            for round_ in row.get("rounds") or [{"code": row["code"]}]:
                if round_["code"] and row["task"] in tasks:
                    programs.setdefault((row["task"], same_code(round_["code"])), round_["code"])
    from task_batch import run_programs

    chosen = [(tasks[name], code) for (name, _), code in sorted(programs.items())]
    runs = run_programs(chosen, settings, timeout=RUN_TIMEOUT)  # the checker's side, in one batch
    counts: dict[str, int] = {}
    for (task, code), run in zip(chosen, runs, strict=True):
        name = task.name
        verifier = Verifier(settings, stdin=task.stdin.encode("utf-8") if task.stdin else None,
                            files={k: v.encode("utf-8") for k, v in task.files.items()},
                            task=task.prompt, checks=checks, args=task.argv)
        verdict = verifier.assess(code)
        checker = "pass" if batch_result(task, code, run)["passed"] else "fail"
        key = f"{verdict.stage if verdict else 'pass'} / checker {checker}"
        counts[key] = counts.get(key, 0) + 1
        if verdict is not None and verdict.stage == "output":
            print(f"{name} (checker: {checker}): {first_line(verdict.message)}", file=sys.stderr)
    return counts


def first_line(text: str | None) -> str:
    return next((line for line in (text or "").splitlines() if line.strip()), "")


# --- main -----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="local", help="model name (default local)")
    parser.add_argument("--modes", default="plain,verify",
                        help="comma-separated: plain (gen), input (gen with its input: one run "
                             "on it and the CLI's budget for that), verify (gen --verify)")
    parser.add_argument("--split", default="all", choices=["dev", "test", "all"],
                        help="the tasks to run or report: dev (rules were designed from them), "
                             "test (only measured) or all (default)")
    parser.add_argument("--sample", type=int,
                        help="run a random sample of N of the selected tasks (drawn with --seed)")
    parser.add_argument("--seed", type=int, default=0, help="--sample's seed (default 0)")
    parser.add_argument("--compare", nargs=2, metavar="FILE[:MODE]",
                        help="pair the per-task outcomes of two results files (McNemar)")
    parser.add_argument("--only", help="comma-separated task name patterns (csv_*,log_top_ips)")
    parser.add_argument("--max-repairs", type=int, help="verify's budget (default: the CLI's)")
    parser.add_argument("--system-prompt", type=Path,
                        help="file whose text replaces the built-in system prompt (experiments)")
    parser.add_argument("--json", type=Path, help="results file, written after every task")
    parser.add_argument("--resume", action="store_true", help="skip tasks already in --json")
    parser.add_argument("--rescore", type=Path, help="re-run and re-check a results file's code")
    parser.add_argument("--review-baseline", type=Path,
                        help="score a --review results file's answers without the review")
    parser.add_argument("--report", type=Path, help="print a results file's summary")
    parser.add_argument("--audit", type=Path, nargs="+",
                        help="judge every program of these results files with today's checks")
    parser.add_argument("--preflight", action="store_true",
                        help="with --rescore: pass each answer through today's pre-flight first")
    parser.add_argument("--threads", type=int,
                        help="llama.cpp threads (1 keeps decoding steady on a busy machine)")
    parser.add_argument("--cli", action="append", default=[], metavar="NAME=COMMAND",
                        help="ask through this agentcode command line instead of the library "
                             "(repeatable: each task is asked by each in turn; modes are named "
                             "MODE@NAME), e.g. before='env PYTHONPATH=../old python -m agentcode'; "
                             "NAME=library asks through this process's library")
    parser.add_argument("--asks", help="with --cli: only these MODE@NAME (comma-separated)")
    parser.add_argument("--note", help="a sentence kept in the results file")
    parser.add_argument("--without", default="",
                        help=f"methods to turn off, comma-separated: {', '.join(METHODS)}")
    parser.add_argument("--agreement", type=int, default=1,
                        help="candidates in all when one passes on known input (1: off)")
    parser.add_argument("--shuffle", action="store_true",
                        help="ask the tasks in a random order (--seed), so a run stopped early "
                             "has measured a random subset, not the first names")
    parser.add_argument("--agreement-curve", type=Path, metavar="FILE",
                        help="score an --agreement N run as if it had stopped after 1..N "
                             "candidates (re-running the voters on the task's input)")
    parser.add_argument("--review", action="store_true",
                        help="turn on the output review (output-review, off by default): the "
                        "model looks once at the first clean run's output")
    return parser.parse_args(argv)


def _model(name: str, settings: Any, threads: int | None) -> Any:
    """One model object for the whole run, so the embedded model loads once."""
    if name == "local" or name.startswith("local:"):
        from agentcode.models.local import load_local_model

        model = load_local_model(name.partition(":")[2] or None, settings, n_threads=threads)
        model.start()
        return model
    return name


def rescore(data: dict[str, Any], settings: Any, *, preflight: bool = False) -> None:
    """Re-run and re-check every stored answer; with ``preflight``, after passing it through
    today's pre-flight (its import and stdin fixes), as plain `gen` would have returned it."""
    from agentcode.generation.checks.preflight import preflight as check
    from agentcode.sandbox.local.packages import importable_packages

    packages = {name.lower() for name in importable_packages(settings.sandbox, settings)}
    from task_batch import run_programs

    tasks = {t.name: t for t in load_tasks()}
    rows = [row for row in data["results"] if row["task"] in tasks]
    jobs = []
    for row in rows:
        if preflight and row["code"]:
            row["code"] = check(row["code"], packages=packages).code
        for stale in ("error_name", "failure", "stdout"):  # from the earlier run
            row.pop(stale, None)
        jobs.append((tasks[row["task"]], row["code"]))
        if "first_round_passed" in row and row.get("rounds"):
            jobs.append((tasks[row["task"]], row["rounds"][0]["code"]))
    runs = iter(run_programs(jobs, settings, timeout=RUN_TIMEOUT))
    for row in rows:  # in the order of the jobs above
        row.update(batch_result(tasks[row["task"]], row["code"], next(runs)))
        if "first_round_passed" in row and row.get("rounds"):
            first = batch_result(tasks[row["task"]], row["rounds"][0]["code"], next(runs))
            row["first_round_passed"] = first["passed"]
    data["meta"]["rescored"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# The output review's failure text (generation/review.py): this benchmark reads it to find the
# round the review rejected; RepairRound keeps no failure kind.
_REVIEW_NO = "a review of its output says"


def review_baseline(data: dict[str, Any], settings: Any) -> list[str]:
    """For a results file run with ``--review``: score what each generation would have returned
    without the review (the candidate the review rejected: the rounds before it are the same),
    as ``without_review_passed`` in each row, and pair it with the answer with the review."""
    from task_stats import paired

    tasks = {t.name: t for t in load_tasks()}
    without, with_ = {}, {}
    for row in data["results"]:
        if row["task"] not in tasks:
            continue
        rejected = next((r for r in row.get("rounds", [])
                         if _REVIEW_NO in (r.get("error") or "")), None)
        row["review_said_no"] = rejected is not None
        row["without_review_passed"] = row["passed"] if rejected is None else \
            run_answer(tasks[row["task"]], rejected["code"], settings)["passed"]
        without[row["task"]], with_[row["task"]] = row["without_review_passed"], row["passed"]
    said_no = [r for r in data["results"] if r.get("review_said_no")]
    right = sum(bool(r["without_review_passed"]) for r in said_no)
    return [paired(without, with_).line("without review", "with review"),
            f"the review said no to {len(said_no)} answers, {right} of them right"]


def agreement_curve(data: dict[str, Any], settings: Any) -> list[str]:
    """For a results file run with ``--agreement N``: what each generation would have returned,
    and when, had it voted among 1, 2, ..., N candidates: the first that passed plus the first
    k - 1 votes (drawn in a fixed seed order, so a smaller N draws the same ones; they are drawn
    together, so their time is split equally among them). The voters are run again on the
    task's input and grouped by output as `generation.agreement` groups them; each choice is
    scored by the checker. Stored as ``agreement_curve`` in the file; the lines pair every N
    with N = 1 (the first clean candidate, what the CLI returns today)."""
    from task_batch import run_programs

    from agentcode.generation.agreement import Ballot, choose, output_key

    tasks = {t.name: t for t in load_tasks()}
    rows = [r for r in data["results"] if r["task"] in tasks and r.get("rounds")]
    most = int(data["meta"].get("agreement") or 1)
    plans: list[tuple[dict[str, Any], list[int]]] = []
    jobs: list[tuple[Task, str]] = []
    for row in rows:
        rounds = row["rounds"]
        first = next((i for i, r in enumerate(rounds) if r["passed"]), None)
        votes = [i for i, r in enumerate(rounds) if r["kind"] == "vote"]
        voters = [] if first is None else [first, *votes]
        plans.append((row, voters))
        jobs += [(tasks[row["task"]], rounds[i]["code"]) for i in voters]
    runs = iter(run_programs(jobs, settings, timeout=RUN_TIMEOUT)) if jobs else iter(())
    by_n: dict[int, dict[str, bool]] = {n: {} for n in range(1, most + 1)}
    seconds: dict[int, list[float]] = {n: [] for n in range(1, most + 1)}
    for row, voters in plans:
        task = tasks[row["task"]]
        results = [next(runs) for _ in voters]
        ballots = [Ballot(row["rounds"][i]["passed"],
                          output_key(run["stdout"], {k: v.encode("utf-8")
                                                     for k, v in run["files"].items()}))
                   for i, run in zip(voters, results, strict=True)]
        curve = []
        for n in range(1, most + 1):
            if not voters:  # nothing passed, so nothing was voted on: the answer as returned
                passed, at = bool(row["passed"]), float(row["seconds"])
            else:
                shown = ballots[:n]
                pick = choose(shown)
                index = 0 if pick is None else pick
                passed = batch_result(task, row["rounds"][voters[index]]["code"],
                                      results[index])["passed"]
                # The votes are drawn together, then judged: their share of the time is
                # split equally (each is one sampled reply to the same request).
                start = float(row["rounds"][voters[0]].get("at", row["seconds"]))
                at = float(row["seconds"]) if len(voters) == 1 else \
                    start + (float(row["seconds"]) - start) * (min(n, len(voters)) - 1) \
                    / (len(voters) - 1)
            by_n[n][row["task"]] = passed
            seconds[n].append(at)
            curve.append({"n": n, "passed": passed, "seconds": round(at, 2)})
        row["agreement_curve"] = curve
    lines = []
    for n in range(1, most + 1):
        median = statistics.median(seconds[n]) if seconds[n] else 0.0
        lines.append(f"{n} candidate(s): {sum(by_n[n].values())} of {len(by_n[n])} passed, "
                     f"median {median:.1f} s; " + paired(by_n[1], by_n[n]).line("1", str(n)))
    # A program whose output follows set or dict order (the hash seed) can group otherwise
    # when run again: the answer the run itself returned is the measurement for N.
    returned = {row["task"]: bool(row["passed"]) for row, _ in plans}
    lines.append(f"{most} candidate(s), as the run returned: {sum(returned.values())} of "
                 f"{len(returned)} passed; " + paired(by_n[1], returned).line("1", "run"))
    data["meta"]["agreement_curve"] = lines
    return lines


def batch_result(task: Task, code: str, run: dict[str, Any]) -> dict[str, Any]:
    """`run_answer`'s result from a `task_batch` run of ``code``."""
    if not code:
        return {"passed": False, "failure": "no code", "exit_code": None}
    result: dict[str, Any] = {"exit_code": run["exit_code"], "stdout": run["stdout"][-2000:]}
    last = first_line("\n".join(reversed(run["stderr"].splitlines())))
    raised = re.match(r"(\w+(?:\.\w+)*): ?(.*)", last) if "Traceback" in run["stderr"] else None
    if run["exit_code"] is None:
        result.update(exit_code=124, failure=f"timed out after {RUN_TIMEOUT:g} s")
    elif raised is not None and run["exit_code"] == 1:
        name = raised.group(1).rpartition(".")[2]
        result["failure"] = f"raised {name}: {raised.group(2)}"[:300]
        result["error_name"] = name
    elif run["exit_code"] != 0:
        result["failure"] = f"exit {run['exit_code']}: {run['stderr'].strip()[-200:]}"
    else:
        result["failure"] = check_output(task, run["stdout"], run["files"])
    result["passed"] = result["failure"] is None
    return result


def _commit() -> str:
    """The commit measured (with "+changes" when the tree differs from it)."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    return head + ("+changes" if git("status", "--porcelain", "--", "agentcode") else "")


def run(args: argparse.Namespace, settings: Any) -> dict[str, Any]:
    import agentcode.generation.codegen as generation

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("plain", "input", "verify") for m in modes):
        sys.exit("task_bench.py: --modes takes plain, input and/or verify (plain,verify)")
    if args.system_prompt:
        generation.SYSTEM_PROMPT = args.system_prompt.read_text(encoding="utf-8").strip()
    without = frozenset(w.strip() for w in args.without.split(",") if w.strip())
    if without - set(METHODS) or args.agreement < 1:
        sys.exit(f"task_bench.py: --without takes {', '.join(METHODS)}; --agreement 1 or more")
    data: dict[str, Any] = {
        "meta": {
            "model": args.model, "modes": modes, "max_repairs": args.max_repairs,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start",
            "threads": args.threads,
            "without": sorted(without), "agreement": args.agreement, "review": args.review,
            "commit": _commit(),
            "system_prompt": generation.SYSTEM_PROMPT,
            "system_prompt_name": args.system_prompt.name if args.system_prompt else "built-in",
            "note": args.note or "",
            "split": args.split,
            "sample": args.sample,
            "seed": args.seed if args.sample is not None else None,
        },
        "results": [],
    }
    if args.resume and args.json and args.json.exists():
        earlier = json.loads(args.json.read_text(encoding="utf-8"))
        data["results"] = earlier["results"]
        # The rows already there were measured then: keep when, where and on what, beside now.
        data["meta"]["earlier_runs"] = [
            *earlier["meta"].get("earlier_runs", []),
            {key: earlier["meta"].get(key) for key in ("date", "machine", "commit", "note")},
        ]
    done = {(r["task"], r["mode"]) for r in data["results"]}
    tasks = load_tasks(only=args.only, split=args.split)
    if args.sample is not None:  # in name order, so --resume continues the same sample
        count = min(args.sample, len(tasks))
        drawn = set(random.Random(args.seed).sample(range(len(tasks)), count))
        tasks = [t for i, t in enumerate(tasks) if i in drawn]
    if args.shuffle:  # the same order again for --resume
        random.Random(args.seed).shuffle(tasks)
    data["meta"]["tasks"] = [t.name for t in tasks]
    import shlex

    clis = dict(spec.partition("=")[::2] for spec in args.cli)
    if any(not name or not command for name, command in clis.items()):
        sys.exit("task_bench.py: --cli takes NAME=COMMAND")
    data["meta"]["cli"] = clis
    # "library" as a --cli command: this process's agentcode, the model loaded once
    asks = [(f"{m}@{n}", m, None if c == "library" else shlex.split(c))
            for m in modes for n, c in clis.items()] if clis else [(m, m, None) for m in modes]
    if args.asks:  # a subset of MODE@NAME, when time is short
        wanted = {a.strip() for a in args.asks.split(",") if a.strip()}
        if wanted - {label for label, _, _ in asks}:
            sys.exit(f"task_bench.py: --asks: unknown {sorted(wanted - {a[0] for a in asks})}")
        asks = [ask_ for ask_ in asks if ask_[0] in wanted]
    model = _model(args.model, settings, args.threads) \
        if any(command is None for _, _, command in asks) else None
    for number, task in enumerate(tasks, 1):
        for label, mode, command in asks:
            if (task.name, label) in done:
                continue
            answer = ask_cli(task, mode, command, args.review) if command else ask(
                task, mode, model, settings, args.max_repairs, without, args.agreement,
                args.review)
            row = {"task": task.name, "mode": label, "split": task.split, **answer,
                   **run_answer(task, answer["code"], settings)}
            if mode in ("verify", "input") and row["rounds"]:
                # The first round is plain gen's answer before its pre-flight repair: scored
                # too, so one verify run also measures plain when time is short.
                first = row["rounds"][0]["code"]
                row["first_round_passed"] = (
                    row["passed"] if first == row["code"]
                    else run_answer(task, first, settings)["passed"]
                )
            row["seconds"] = round(row["seconds"], 2)
            row["load"] = round(os.getloadavg()[0], 2)  # a busy machine slows every timing
            data["results"].append(row)
            save(args.json, data)
            verdict = "pass" if row["passed"] else f"FAIL ({row['failure']})"
            print(f"[{number}/{len(tasks)}] {task.name} {label}: {verdict} "
                  f"{row['seconds']} s, {len(row['rounds'])} round(s)", file=sys.stderr,
                  flush=True)
    return data


def main(argv: list[str] | None = None) -> int:
    from agentcode.config import load_settings

    args = parse_args(argv)
    settings = load_settings(history=False)
    if args.audit:
        print(json.dumps(audit(args.audit, settings), indent=1, sort_keys=True))
        return 0
    if args.compare:
        try:
            print("\n".join(compare(*args.compare, split=args.split)))
        except (OSError, ValueError, KeyError) as exc:
            print(f"task_bench.py: --compare: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.agreement_curve:
        data = json.loads(args.agreement_curve.read_text(encoding="utf-8"))
        print("\n".join(agreement_curve(data, settings)))
        save(args.agreement_curve, data)
        return 0
    if args.review_baseline:
        data = json.loads(args.review_baseline.read_text(encoding="utf-8"))
        print("\n".join(review_baseline(data, settings)))
        save(args.review_baseline, data)
        return 0
    if args.report or args.rescore:
        path = args.report or args.rescore
        data = json.loads(path.read_text(encoding="utf-8"))
        if args.rescore:
            rescore(data, settings, preflight=args.preflight)
            save(args.rescore, data)
    else:
        data = run(args, settings)
    print(json.dumps(summarize(in_split(data["results"], args.split)), indent=1))
    print(markdown(data, args.split))
    return 0


if __name__ == "__main__":
    sys.exit(main())
