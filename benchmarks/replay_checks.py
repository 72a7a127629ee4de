"""Replay stored verify runs under two sets of heuristic checks: which answer would each keep?

    python benchmarks/replay_checks.py benchmarks/results/tasks-session5-verify.json \
        --json benchmarks/results/replay-checks-session5.json

No model is asked. A verify run stops at its first round that passes; under other checks a
different round may be the first. For each task of a results file, every stored round is judged
in order (`Verifier`, the task's input and prompt) with ``--before`` checks and with ``--after``
checks; the answer kept is the first round that passes, or the run's own answer when none does.
The task's checker then says whether that answer is right. The counts are paired per task, by
split (test: tasks no rule was designed from).

What this cannot see: the rounds a model would have drawn after a failure it was never shown.
A run that stops earlier under ``--after`` is exact; a run in which no stored round passes
under ``--after`` keeps the stored answer.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_file import commit  # noqa: E402


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("task_bench", HERE / "task_bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["task_bench"] = module
    spec.loader.exec_module(module)
    return module


def kept(task: Any, row: dict[str, Any], settings: Any, checks: Any) -> str:
    """The code the run would have returned under ``checks``: its first round that passes."""
    from agentcode.generation.judge import Verifier

    verifier = Verifier(settings, stdin=task.stdin.encode("utf-8") if task.stdin else None,
                        files={k: v.encode("utf-8") for k, v in task.files.items()},
                        task=task.prompt, checks=checks)
    for round_ in row.get("rounds") or []:
        if round_.get("code") and verifier.assess(round_["code"]) is None:
            return str(round_["code"])
    return str(row.get("code") or "")


def replay(path: Path, settings: Any, before: Any, after: Any) -> dict[str, Any]:
    bench = _bench()
    tasks = {t.name: t for t in bench.load_tasks()}
    rows = [r for r in json.loads(path.read_text(encoding="utf-8"))["results"]
            if r["task"] in tasks]
    per_task: dict[str, dict[str, Any]] = {}
    for row in rows:
        task = tasks[row["task"]]
        answers = {"before": kept(task, row, settings, before),
                   "after": kept(task, row, settings, after)}
        passed = {label: bool(code) and bench.run_answer(task, code, settings)["passed"]
                  for label, code in answers.items()}
        per_task[task.name] = {"split": task.split, **passed,
                               "same_answer": answers["before"] == answers["after"]}
    summary: dict[str, dict[str, int]] = {}
    for split in ("dev", "test", "all"):
        chosen = [v for v in per_task.values() if split == "all" or v["split"] == split]
        summary[split] = {
            "tasks": len(chosen),
            "passed_before": sum(v["before"] for v in chosen),
            "passed_after": sum(v["after"] for v in chosen),
            "gained": sum(v["after"] and not v["before"] for v in chosen),
            "lost": sum(v["before"] and not v["after"] for v in chosen),
        }
    return {"summary": summary, "tasks": per_task}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--before", default="all", help="checks words (default: all)")
    parser.add_argument("--after", default="default", help="checks words (default: default)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from agentcode.config import load_settings
    from agentcode.generation.pipeline import Checks

    settings = load_settings(history=False)
    load = Path("/proc/loadavg").read_text().split()[:3]
    started = time.perf_counter()
    result = replay(args.results, settings, Checks.parse(args.before), Checks.parse(args.after))
    result["meta"] = {"results": str(args.results), **commit(),
                      "before": args.before, "after": args.after,
                      "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                      "seconds": round(time.perf_counter() - started), "loadavg_before": load}
    print(json.dumps(result["summary"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
