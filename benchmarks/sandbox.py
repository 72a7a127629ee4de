"""Sandbox start-up and round-trip costs, with baselines measured in the same run.

    python benchmarks/sandbox.py [--runs N] [--json] [--ref-python PATH]

Measures (medians of N runs):
- whole process: `echo 'print(1)' | agentcode run -` against `python -c 'print(1)'` (goal <= 5x)
- a new local session: bubblewrap + worker until ready (goal <= 100 ms), and its close
- a warm execution round trip in a session (goal <= 1 ms)
- references, when importable by ``--ref-python`` (a separate venv keeps them out of ours):
  an ipykernel start + execute, smolagents' LocalPythonExecutor, llm-sandbox.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_ms(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def whole_process(runs: int) -> dict[str, float]:
    agentcode = [sys.executable, "-m", "agentcode", "run", "-"]
    baseline = [sys.executable, "-c", "print(1)"]

    def run(cmd: list[str], data: bytes | None) -> None:
        done = subprocess.run(cmd, input=data, capture_output=True, check=True)
        assert done.stdout == b"1\n", done

    run(agentcode, b"print(1)\n")  # warm the page cache once
    ours = median_ms(lambda: run(agentcode, b"print(1)\n"), runs)
    base = median_ms(lambda: run(baseline, None), runs)
    return {"agentcode_run_ms": ours, "python_c_ms": base, "ratio": ours / base}


def sessions(runs: int) -> dict[str, float]:
    from agentcode.config import Settings
    from agentcode.sandbox.local import LocalSandboxSession

    settings = Settings()
    starts, closes = [], []
    for _ in range(runs):
        start = time.perf_counter()
        session = LocalSandboxSession(settings)
        starts.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        session.close()
        closes.append((time.perf_counter() - start) * 1000)
    with LocalSandboxSession(settings) as session:
        session.execute("x = 0")
        warm = median_ms(lambda: session.execute("x += 1"), runs * 20)
        first_value = median_ms(lambda: session.execute("x"), runs * 20)
    return {"new_session_ms": statistics.median(starts), "close_ms": statistics.median(closes),
            "warm_exec_ms": warm, "warm_exec_with_value_ms": first_value}


REFERENCES = {
    "ipykernel": """
import time, json
from jupyter_client.manager import start_new_kernel
t = time.perf_counter()
km, kc = start_new_kernel(kernel_name="python3")
kc.execute_interactive("x = 1", timeout=60)
start = (time.perf_counter() - t) * 1000
samples = []
for _ in range(RUNS * 20):
    t = time.perf_counter(); kc.execute_interactive("x += 1", timeout=60)
    samples.append((time.perf_counter() - t) * 1000)
kc.stop_channels(); km.shutdown_kernel(now=True)
samples.sort()
print(json.dumps({"start_ms": start, "warm_exec_ms": samples[len(samples) // 2]}))
""",
    "smolagents LocalPythonExecutor": """
import time, json
from smolagents.local_python_executor import LocalPythonExecutor
t = time.perf_counter()
ex = LocalPythonExecutor(additional_authorized_imports=[])
ex.send_tools({})
ex("x = 1")
start = (time.perf_counter() - t) * 1000
samples = []
for _ in range(RUNS * 20):
    t = time.perf_counter(); ex("x += 1")
    samples.append((time.perf_counter() - t) * 1000)
samples.sort()
print(json.dumps({"start_ms": start, "warm_exec_ms": samples[len(samples) // 2]}))
""",
    "llm-sandbox bubblewrap": """
import time, json
from llm_sandbox import SandboxSession
t = time.perf_counter()
s = SandboxSession(backend="bubblewrap", lang="python")
s.open()
s.run("x = 1")
start = (time.perf_counter() - t) * 1000
samples = []
for _ in range(RUNS):
    t = time.perf_counter(); s.run("x = 1")
    samples.append((time.perf_counter() - t) * 1000)
s.close()
samples.sort()
print(json.dumps({"start_ms": start, "warm_exec_ms": samples[len(samples) // 2]}))
""",
}


def references(python: str, runs: int) -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, object]] = {}
    for name, code in REFERENCES.items():
        try:
            done = subprocess.run([python, "-c", code.replace("RUNS", str(runs))],
                                  capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            results[name] = {"error": str(exc)}
            continue
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["failed"])[-1]
            results[name] = {"error": last}
        else:
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--ref-python", default=sys.executable,
                        help="interpreter that has the reference packages (bench extra)")
    args = parser.parse_args()
    results = {
        "whole_process": whole_process(args.runs),
        "local_session": sessions(args.runs),
        "references": references(args.ref_python, args.runs),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    whole, local = results["whole_process"], results["local_session"]
    print(f"agentcode run (print(1)), whole process  {whole['agentcode_run_ms']:8.1f} ms")
    print(f"python -c 'print(1)'                     {whole['python_c_ms']:8.1f} ms"
          f"   ratio {whole['ratio']:.1f}x (goal <= 5x)")
    print(f"new local session (bwrap + worker ready) {local['new_session_ms']:8.1f} ms"
          "   (goal <= 100 ms)")
    print(f"close a session                          {local['close_ms']:8.1f} ms")
    print(f"warm execution round trip                {local['warm_exec_ms']:8.3f} ms"
          "   (goal <= 1 ms)")
    print(f"warm execution returning a value         {local['warm_exec_with_value_ms']:8.3f} ms")
    for name, ref in results["references"].items():
        if "error" in ref:
            print(f"{name}: not measured ({ref['error']})")
        else:
            print(f"{name}: start {ref['start_ms']:.1f} ms, warm execution "
                  f"{ref['warm_exec_ms']:.3f} ms")


if __name__ == "__main__":
    main()
