"""What judging a candidate in a fresh process costs, against the in-session requests it replaced.

    python benchmarks/verdict_cost.py --pairs 15

For each pair, in two fresh local sessions (started and warm, so the session start is not
counted), a correct candidate with five tests and a check is judged once as before (the run, the
tests and the check as three requests of the session: `Verifier._steps`) and once in a forked
judging process (`Verifier._assess_fresh`), in alternating order. Prints the medians and writes
them, with every single time, the load average and the commit, to
benchmarks/results/speed-verdict-cost.json (``--out``: another file; docs/security.md and
docs/benchmarks.md name the run they quote).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_file import Recorder  # noqa: E402

TESTS = (
    "import pytest\n\n"
    "@pytest.mark.parametrize('x', [1, 2, 3])\n"
    "def test_double(x):\n    assert double(x) == 2 * x\n\n"
    "def test_zero():\n    assert double(0) == 0\n"
)
CODE = "def double(x):\n    return 2 * x\n"


def main() -> None:
    from agentcode.config import load_settings
    from agentcode.generation.checks.user_tests import load_tests
    from agentcode.generation.judge import Verifier
    from agentcode.sandbox import open_sandbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--out", default=None,
                        help="results file (default benchmarks/results/speed-verdict-cost.json)")
    args = parser.parse_args()
    recorder = Recorder("verdict-cost")
    settings = load_settings(timeout=10)
    verifier = Verifier(settings, tests=load_tests(TESTS), check="double(4) == 8")
    timings: dict[str, list[float]] = {"in-session requests": [], "fresh process": []}
    ways = [("in-session requests", verifier._steps), ("fresh process", verifier._assess_fresh)]
    print("load before:", recorder.load_start)
    for index in range(args.pairs):
        for label, judge in ways if index % 2 else ways[::-1]:
            with open_sandbox("local", settings) as session:
                session.execute("pass")
                started = time.perf_counter()
                failure = judge(session, CODE)
                timings[label].append((time.perf_counter() - started) * 1000)
                assert failure is None, failure
    results: dict[str, object] = {"pairs": args.pairs}
    for label, values in timings.items():
        print(f"{label}: median {statistics.median(values):.1f} ms "
              f"(min {min(values):.1f}, max {max(values):.1f}, n={len(values)})")
        results[label] = {"median_ms": round(statistics.median(values), 2),
                          "runs_ms": [round(v, 2) for v in values]}
    medians = [statistics.median(values) for values in timings.values()]
    results["extra_ms"] = round(medians[1] - medians[0], 2)
    path = recorder.write(results, args.out)
    print(f"results: {path} (load average {recorder.load_start} at the start)")


if __name__ == "__main__":
    main()
