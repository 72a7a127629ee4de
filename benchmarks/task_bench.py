"""pass@1 of `gen | run` and `gen --verify | run` on realistic pipeline tasks (benchmarks/tasks/).

    python benchmarks/task_bench.py --json benchmarks/results/tasks-local.json
    python benchmarks/task_bench.py --modes plain --only 'csv_*,log_*'
    python benchmarks/task_bench.py --rescore benchmarks/results/tasks-local.json
    python benchmarks/task_bench.py --rescore OLD.json --preflight  # with today's pre-flight
    python benchmarks/task_bench.py --report benchmarks/results/tasks-local.json
    python benchmarks/task_bench.py --audit A.json B.json  # today's output checks vs checkers

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
import re
import statistics
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TASKS_DIR = Path(__file__).resolve().parent / "tasks"
RUN_TIMEOUT = 20.0
_KEYS = {"prompt", "check", "reference", "stdin", "files", "tags"}


@dataclass(slots=True)
class Task:
    name: str
    prompt: str
    check: str
    reference: str | None = None  # a correct answer, so the checker itself is tested
    stdin: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def load_tasks(directory: Path = TASKS_DIR, only: str | None = None) -> list[Task]:
    """Every ``*.toml`` task in ``directory`` (sorted by name), or those matching ``only``."""
    patterns = [p.strip() for p in (only or "").split(",") if p.strip()]
    tasks = []
    for path in sorted(directory.glob("*.toml")):
        name = path.stem
        if patterns and not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        unknown = set(data) - _KEYS
        if unknown or "prompt" not in data or "check" not in data:
            raise ValueError(f"{path}: needs prompt and check; unknown keys {sorted(unknown)}")
        compile(data["check"], f"{name}.check", "exec")
        tasks.append(Task(name=name, prompt=data["prompt"], check=data["check"],
                          reference=data.get("reference"), stdin=data.get("stdin"),
                          files=dict(data.get("files", {})),
                          tags=list(data.get("tags", []))))
    return tasks


# --- checking -----------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


def numbers(text: str) -> list[float]:
    """Every number in ``text`` (thousands separators allowed), in order."""
    return [float(match.replace(",", "")) for match in _NUMBER.findall(text)]


def near(actual: float, expected: float, tolerance: float = 0.011) -> bool:
    return abs(actual - expected) <= max(tolerance, abs(expected) * 1e-6)


def _helpers(out: str, files: dict[str, str]) -> dict[str, Any]:
    lines = [line.strip() for line in out.splitlines() if line.strip()]

    def line_with(key: str) -> str:
        """The first output line containing ``key`` (case-insensitive)."""
        for line in lines:
            if key.lower() in line.lower():
                return line
        raise AssertionError(f"no output line mentions {key!r}")

    def pairs(expected: dict[str, float]) -> None:
        """Each key is on a line that also shows its value (numbers compared to 0.01)."""
        for key, value in expected.items():
            line = line_with(key)
            assert any(near(n, value) for n in numbers(line.replace(key, " "))), (
                f"{key}: expected {value} on the line {line!r}"
            )

    return {
        "out": out, "lines": lines, "files": files, "numbers": numbers, "near": near,
        "line_with": line_with, "pairs": pairs, "json": json, "csv": csv, "io": io, "re": re,
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
            execution = session.execute(code, stdin=stdin, timeout=RUN_TIMEOUT)
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


# --- asking ---------------------------------------------------------------------------------

def input_context(task: Task) -> str | None:
    """The data context the CLI sends: `cat input | agentcode gen ...` for stdin tasks (a
    sample of stdin), `agentcode gen --file NAME ...` for file tasks (a sample of each file)."""
    from agentcode.generation.codegen import describe_files, describe_input

    parts = []
    if task.stdin is not None:
        parts.append(describe_input(task.stdin.encode("utf-8")))
    if task.files:
        parts.append(describe_files({k: v.encode("utf-8") for k, v in task.files.items()}))
    return "\n\n".join(parts) or None


def ask(
    task: Task, mode: str, model: Any, settings: Any, max_repairs: int | None
) -> dict[str, Any]:
    """One answer for ``task`` through a `Session` as the CLI makes it; every round's code."""
    from agentcode.api.session import Session
    from agentcode.errors import AgentcodeError

    options: dict[str, Any] = {}
    if mode == "verify":
        options = {"verify": True, "stdin": task.stdin.encode("utf-8") if task.stdin else None,
                   "files": {k: v.encode("utf-8") for k, v in task.files.items()}}
        if max_repairs is not None:
            options["max_repairs"] = max_repairs
    started = time.perf_counter()
    conversation = Session(settings=settings, model=model)
    conversation.stateful = False
    try:
        with conversation:
            generation = conversation.generate(task.prompt, context=input_context(task), **options)
    except AgentcodeError as exc:
        return {"code": "", "error": str(exc)[:500], "seconds": time.perf_counter() - started,
                "rounds": []}
    rounds = [{"code": r.code, "passed": r.passed, "kind": r.kind, "stage": r.stage,
               "error": (r.error or "")[:300] or None} for r in generation.rounds]
    return {"code": generation.code, "seconds": time.perf_counter() - started,
            "model": generation.model_id, "rounds": rounds,
            "attempts": [{"model": a.model, "error": a.error} for a in generation.attempts],
            "tokens": generation.usage.get("outputTokens")}


# --- reporting ------------------------------------------------------------------------------

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
        if mode == "verify" and any("first_round_passed" in r for r in rows):
            summary[mode]["first_round_passed"] = sum(
                bool(r.get("first_round_passed")) for r in rows
            )
    return summary


def markdown(data: dict[str, Any]) -> str:
    meta = data["meta"]
    summary = summarize(data["results"])
    lines = [
        f"Model `{meta['model']}`, {meta['date']}, {meta['machine']}; "
        f"system prompt: {meta.get('system_prompt_name', 'built-in')}.",
        "",
        "| mode | tasks | passed | pass@1 | median s/task | NameError |",
        "|---|---|---|---|---|---|",
    ]
    for mode, s in summary.items():
        lines.append(f"| {mode} | {s['tasks']} | {s['passed']} | {s['pass_at_1']}% | "
                     f"{s['median_seconds']} | {len(s['name_errors'])} |")
    lines.append("")
    for mode, s in summary.items():
        lines.append(f"{mode} failed: {', '.join(s['failed']) or 'none'}.")
    return "\n".join(lines)


def save(path: Path | None, data: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def audit(paths: list[Path], settings: Any) -> dict[str, int]:
    """Verification's verdict against the checker's, for every distinct program (by AST) in
    the results files: ``{"<stage or pass> / checker <pass|fail>": count}``; a flagged program
    (stage "output") is printed with its problem."""
    from agentcode.generation.judge import Verifier
    from agentcode.generation.verify import same_code

    tasks = {t.name: t for t in load_tasks()}
    programs: dict[tuple[str, str], str] = {}
    for path in paths:
        for row in json.loads(path.read_text(encoding="utf-8"))["results"]:
            for round_ in row.get("rounds") or [{"code": row["code"]}]:
                if round_["code"] and row["task"] in tasks:
                    programs.setdefault((row["task"], same_code(round_["code"])), round_["code"])
    counts: dict[str, int] = {}
    for (name, _), code in sorted(programs.items()):
        task = tasks[name]
        verifier = Verifier(settings, stdin=task.stdin.encode("utf-8") if task.stdin else None,
                            files={k: v.encode("utf-8") for k, v in task.files.items()},
                            task=task.prompt)
        verdict = verifier.assess(code)
        checker = "pass" if run_answer(task, code, settings)["passed"] else "fail"
        key = f"{verdict.stage or 'pass'} / checker {checker}"
        counts[key] = counts.get(key, 0) + 1
        if verdict.stage == "output":
            print(f"{name} (checker: {checker}): {first_line(verdict.failure)}", file=sys.stderr)
    return counts


def first_line(text: str | None) -> str:
    return next((line for line in (text or "").splitlines() if line.strip()), "")


# --- main -----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="local", help="model name (default local)")
    parser.add_argument("--modes", default="plain,verify", help="plain, verify or both")
    parser.add_argument("--only", help="comma-separated task name patterns (csv_*,log_top_ips)")
    parser.add_argument("--max-repairs", type=int, help="verify's budget (default: the CLI's)")
    parser.add_argument("--system-prompt", type=Path,
                        help="file whose text replaces the built-in system prompt (experiments)")
    parser.add_argument("--json", type=Path, help="results file, written after every task")
    parser.add_argument("--resume", action="store_true", help="skip tasks already in --json")
    parser.add_argument("--rescore", type=Path, help="re-run and re-check a results file's code")
    parser.add_argument("--report", type=Path, help="print a results file's summary")
    parser.add_argument("--audit", type=Path, nargs="+",
                        help="judge every program of these results files with today's checks")
    parser.add_argument("--preflight", action="store_true",
                        help="with --rescore: pass each answer through today's pre-flight first")
    parser.add_argument("--threads", type=int,
                        help="llama.cpp threads (1 keeps decoding steady on a busy machine)")
    parser.add_argument("--note", help="a sentence kept in the results file")
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
    tasks = {t.name: t for t in load_tasks()}
    for row in data["results"]:
        task = tasks.get(row["task"])
        if task is None:
            continue
        if preflight and row["code"]:
            row["code"] = check(row["code"], packages=packages).code
        for stale in ("error_name", "failure", "stdout"):  # from the earlier run
            row.pop(stale, None)
        row.update(run_answer(task, row["code"], settings))


def run(args: argparse.Namespace, settings: Any) -> dict[str, Any]:
    import agentcode.generation.codegen as generation

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("plain", "verify") for m in modes):
        sys.exit("task_bench.py: --modes takes plain, verify or plain,verify")
    if args.system_prompt:
        generation.SYSTEM_PROMPT = args.system_prompt.read_text(encoding="utf-8").strip()
    data: dict[str, Any] = {
        "meta": {
            "model": args.model, "modes": modes, "max_repairs": args.max_repairs,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start",
            "threads": args.threads,
            "system_prompt": generation.SYSTEM_PROMPT,
            "system_prompt_name": args.system_prompt.name if args.system_prompt else "built-in",
            "note": args.note or "",
        },
        "results": [],
    }
    if args.resume and args.json and args.json.exists():
        data["results"] = json.loads(args.json.read_text(encoding="utf-8"))["results"]
    done = {(r["task"], r["mode"]) for r in data["results"]}
    tasks = load_tasks(only=args.only)
    model = _model(args.model, settings, args.threads)
    for number, task in enumerate(tasks, 1):
        for mode in modes:
            if (task.name, mode) in done:
                continue
            answer = ask(task, mode, model, settings, args.max_repairs)
            row = {"task": task.name, "mode": mode, **answer,
                   **run_answer(task, answer["code"], settings)}
            if mode == "verify" and row["rounds"]:
                # The first round is plain gen's answer before its pre-flight repair: scored
                # too, so one verify run also measures plain when time is short.
                first = row["rounds"][0]["code"]
                row["first_round_passed"] = (
                    row["passed"] if first == row["code"]
                    else run_answer(task, first, settings)["passed"]
                )
            row["seconds"] = round(row["seconds"], 2)
            data["results"].append(row)
            save(args.json, data)
            verdict = "pass" if row["passed"] else f"FAIL ({row['failure']})"
            print(f"[{number}/{len(tasks)}] {task.name} {mode}: {verdict} "
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
    if args.report or args.rescore:
        path = args.report or args.rescore
        data = json.loads(path.read_text(encoding="utf-8"))
        if args.rescore:
            rescore(data, settings, preflight=args.preflight)
            save(args.rescore, data)
    else:
        data = run(args, settings)
    print(json.dumps(summarize(data["results"]), indent=1))
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
