"""How often each heuristic check fails a correct program: the false-alarm rate on a corpus.

    python benchmarks/false_alarms.py --json benchmarks/results/false-alarms.json

The corpus (benchmarks/false_alarms/*.toml, see its README) holds correct programs for requests
that are not in benchmarks/tasks. Every program runs in the local sandbox on its input, once per
output heuristic with only that heuristic on (`agentcode.generation.pipeline.Heuristic`), and
the pre-flight's heuristics are asked on its code. A heuristic "fires" on a case when it fails
that correct program. The results file has each heuristic's count and rate, which are on by
default, the cases each fired on, the commit and the load average. A heuristic that fires on
more than 2% of the cases must be off by default (`pipeline.DEFAULT_ON`), and one that is on
must fire on none (exit status 1 otherwise).

A program that fails for a fact (it raises, exits non-zero) is a broken case, reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks" / "false_alarms"
MAX_RATE = 0.02
# Removes what a case left in the work dir, so one sandbox session serves every case.
CLEAN = ("import os as _os, shutil as _shutil\n"
         "for _name in _os.listdir('.'):\n"
         "    (_shutil.rmtree if _os.path.isdir(_name) else _os.remove)(_name)\n"
         "del _os, _shutil, _name\n")


@dataclass(frozen=True)
class Case:
    name: str
    request: str
    program: str
    stdin: bytes | None = None
    files: dict[str, bytes] = field(default_factory=dict)


NEVER_FAIL: dict[Any, str] = {}


def never_fail() -> None:
    """The heuristics not measured here, and why: they cannot fail a program, or this corpus
    does not reach them."""
    from agentcode.generation.pipeline import Heuristic

    NEVER_FAIL.update({
        Heuristic.WAIVER: "waives an inferred failure; it never fails a program",
        Heuristic.STDIN_REWRITE: "adds a candidate judged only when the original fails",
        Heuristic.OUTPUT_REVIEW: "asks the model (verification's loop): no model runs here",
    })


def load_cases(corpus: Path = CORPUS) -> list[Case]:
    cases: list[Case] = []
    for path in sorted(corpus.glob("*.toml")):
        for raw in tomllib.loads(path.read_text(encoding="utf-8"))["case"]:
            stdin = raw.get("stdin")
            cases.append(Case(
                name=raw["name"], request=raw["request"], program=raw["program"],
                stdin=None if stdin is None else stdin.encode("utf-8"),
                files={k: v.encode("utf-8") for k, v in raw.get("files", {}).items()},
            ))
    return cases


def judge_case(case: Case, session: Any, settings: Any, checks: Any) -> Any:
    """The failure the pipeline's checks (``checks``) find in ``case``'s program, or None:
    the pre-flight, then the run in ``session`` (cleaned first)."""
    from agentcode.generation.checks.no_input import asks_for_output, needs_input
    from agentcode.generation.checks.preflight import preflight
    from agentcode.generation.judge import Verifier
    from agentcode.generation.pipeline import Heuristic

    checked = preflight(case.program, stdin=case.stdin, checks=checks)
    if checked.failure is not None:
        return checked.failure
    no_input = case.stdin is None and not case.files
    if no_input and not (Heuristic.NO_INPUT_RUN in checks and asks_for_output(case.request)
                         and needs_input(checked.code) is None):
        return None  # as the pipeline does: with no input, only that run judges a program
    session.execute(CLEAN)
    verifier = Verifier(settings, stdin=case.stdin, files=case.files, task=case.request,
                        checks=checks, no_input=no_input)
    return verifier.assess_in(session, checked.code)


def measure(cases: list[Case], settings: Any) -> dict[str, Any]:
    """Per heuristic: the cases it fires on alone; and the cases that fail for a fact."""
    from agentcode.generation.checks.preflight import preflight
    from agentcode.generation.pipeline import Checks, Heuristic
    from agentcode.sandbox import open_sandbox

    never_fail()

    fired: dict[str, list[str]] = {h.value: [] for h in Heuristic}
    # The cases each heuristic can see: no-input-run only those with no input, the others only
    # those with input (a program given none is judged by that run alone).
    seen: dict[str, int] = {h.value: 0 for h in Heuristic}
    broken: list[str] = []
    offered: list[str] = []  # a rewrite offered beside a correct program (judged only on failure)
    none = Checks(frozenset())
    with open_sandbox("local", settings) as session:
        for case in cases:
            fact = judge_case(case, session, settings, none)
            if fact is not None:
                broken.append(f"{case.name}: {fact.message.splitlines()[0]}")
                continue
            no_input = case.stdin is None and not case.files
            for heuristic in Heuristic:
                if heuristic in NEVER_FAIL or no_input != (heuristic is Heuristic.NO_INPUT_RUN):
                    continue
                seen[heuristic.value] += 1
                failure = judge_case(case, session, settings, Checks(frozenset({heuristic})))
                if failure is not None and failure.heuristic is heuristic:
                    fired[heuristic.value].append(case.name)
            if preflight(case.program, stdin=case.stdin).rewrite is not None:
                offered.append(case.name)
    judged = len(cases) - len(broken)
    return {
        "cases": len(cases),
        "judged": judged,
        "broken": broken,
        "rewrite_offered": offered,
        "checks": {
            name: {"fired": len(names), "of": seen[name],
                   "rate": round(len(names) / seen[name], 4) if seen[name] else None,
                   "on_by_default": Heuristic(name) in Checks(), "cases": names}
            if Heuristic(name) not in NEVER_FAIL else
            {"fired": None, "rate": None, "on_by_default": Heuristic(name) in Checks(),
             "note": NEVER_FAIL[Heuristic(name)]}
            for name, names in fired.items()
        },
    }


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    from agentcode.config import load_settings

    settings = load_settings(history=False)
    cases = load_cases()
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    started = time.perf_counter()
    results = measure(cases, settings)
    results["meta"] = {
        "commit": commit(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": round(time.perf_counter() - started, 1),
        "loadavg_before": load_before,
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        "max_rate_on_by_default": MAX_RATE, "cpus": os.cpu_count(),
    }
    for name, row in results["checks"].items():
        if row["rate"] is None:
            continue
        state = "on" if row["on_by_default"] else "off"
        print(f"{name:14} fired on {row['fired']:3} of {row['of']} "
              f"({row['rate']:.1%}), {state} by default", file=sys.stderr)
    print(f"broken cases: {len(results['broken'])}; rewrite offered beside "
          f"{len(results['rewrite_offered'])}", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    wrong = [name for name, row in results["checks"].items()
             if row["on_by_default"] and row["fired"]]
    if wrong:
        print(f"on by default yet fired: {', '.join(wrong)}", file=sys.stderr)
    return 1 if wrong or results["broken"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
