"""Where `agentcode run`'s time goes: imports by package, and the phases of a jail's start.

    python benchmarks/startup.py [--runs N] [--out PATH]

- imports: ``python -X importtime -m agentcode run -`` N times; each module's own time, summed
  by package, medians (run with .pyc files present: PYTHONDONTWRITEBYTECODE is dropped);
- phases of a local session's start (N sessions 0.2 s apart, medians): the cgroup made, the
  tmpfs mounts, bwrap's arguments, the fork of bwrap, the move into the cgroup, waiting for the
  worker's "ready", and (on a thread now) detaching the mounts; with ``prime`` off and on;
- the kernel's cgroup lock: the first write to a cgroup.procs after a quiet moment against a
  second one right after it; and bwrap's move into its cgroup inside fresh `agentcode run`s.
Writes benchmarks/results/speed-startup.json (commit, load average).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_file import Recorder  # noqa: E402

GROUPS = (("typer", "typer"), ("agentcode.cli", "agentcode.cli"),
          ("agentcode.sandbox", "agentcode.sandbox"), ("agentcode.store", "agentcode.store"),
          ("agentcode.api", "agentcode.api"), ("agentcode", "agentcode, other"))


def _group(module: str) -> str:
    for prefix, label in GROUPS:
        if module == prefix or module.startswith(prefix + "."):
            return label
    return "standard library and other packages"


def imports(runs: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["AGENTCODE_SANDBOX_KEEP_ALIVE"] = "0"  # the in-process run's imports, not the helper's
    command = [sys.executable, "-X", "importtime", "-m", "agentcode", "run", "-"]
    subprocess.run(command, input=b"print(1)\n", capture_output=True, env=env)  # .pyc, cache
    totals: dict[str, list[float]] = collections.defaultdict(list)
    for _ in range(runs):
        done = subprocess.run(command, input=b"print(1)\n", capture_output=True, env=env)
        own: dict[str, float] = collections.defaultdict(float)
        for line in done.stderr.decode().splitlines():
            found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
            if found:
                own[_group(found.group(3))] += int(found.group(1)) / 1000
        for name, value in own.items():
            totals[name].append(value)
    result = {name: round(statistics.median(values), 2) for name, values in totals.items()}
    result["total"] = round(sum(result.values()), 2)
    return result


def phases(runs: int, prime: bool) -> dict[str, float]:
    from agentcode.config import Settings
    from agentcode.sandbox.local import cgroup, jail, supervisor, tmpfs
    from agentcode.sandbox.local import session as module

    timings: dict[str, list[float]] = collections.defaultdict(list)
    originals: list[tuple[Any, str, Any]] = []

    def timed(owner: Any, name: str, label: str, replacement: Any = None) -> None:
        original = getattr(owner, name)
        originals.append((owner, name, original))
        target = replacement or original

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return target(*args, **kwargs)
            finally:
                timings[label].append((time.perf_counter() - started) * 1000)
        setattr(owner, name, wrapper)

    timed(module, "session_cgroup", "cgroup made")
    timed(module, "host_tmpfs", "tmpfs mounted")
    timed(jail, "bwrap_arguments", "bwrap arguments")
    timed(supervisor, "_spawn", "bwrap forked")
    timed(module.LocalSandboxSession, "_confine", "bwrap moved into the cgroup")
    timed(supervisor.WorkerProcess, "wait_ready", "worker ready (namespaces, interpreter)")
    timed(tmpfs.HostTmpfs, "detach", "mounts detached (on a thread)")
    timed(cgroup, "prime", "prime", None if prime else (lambda: None))
    try:
        settings = Settings()
        for _ in range(runs):
            time.sleep(0.2)
            started = time.perf_counter()
            session = module.LocalSandboxSession(settings)
            timings["session start, total"].append((time.perf_counter() - started) * 1000)
            session.close()
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    return {name: round(statistics.median(values), 2) for name, values in timings.items()}


def cgroup_lock(runs: int) -> dict[str, float]:
    from agentcode.config import Settings
    from agentcode.sandbox.local import cgroup

    if not cgroup.hierarchies():
        return {}
    first, second = [], []
    for _ in range(runs):
        time.sleep(0.2)
        sleeper = subprocess.Popen(["sleep", "30"])
        group = cgroup.SessionCgroup(Settings().limits)
        try:
            for samples in (first, second):
                started = time.perf_counter()
                Path(group.dirs[0], "cgroup.procs").write_text(str(sleeper.pid))
                samples.append((time.perf_counter() - started) * 1000)
        finally:
            sleeper.kill()
            sleeper.wait()
            group.remove()
    return {"first_write_ms": round(statistics.median(first), 2),
            "second_write_ms": round(statistics.median(second), 2)}


RUN_PROBE = """
import io, sys, time, contextlib
from agentcode.sandbox.local import cgroup
moves = []
original = cgroup.SessionCgroup.add
def add(self, pid):
    started = time.perf_counter(); original(self, pid)
    moves.append((time.perf_counter() - started) * 1000)
cgroup.SessionCgroup.add = add
from agentcode.cli.app import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["run", "--no-history", "-"])
print(moves[0] if moves else -1, file=sys.stderr)
"""


def cgroup_move_in_run(runs: int) -> dict[str, Any]:
    """The move of bwrap into its cgroup inside fresh `agentcode run -` processes."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    samples = []
    for _ in range(runs):
        time.sleep(0.3)
        done = subprocess.run([sys.executable, "-c", RUN_PROBE], input=b"print(1)\n",
                              capture_output=True, env=env, check=True)
        samples.append(round(float(done.stderr.decode().strip().splitlines()[-1]), 2))
    return {"median_ms": statistics.median(samples), "runs_ms": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--out", default=None,
                        help="results file (default benchmarks/results/speed-startup.json)")
    args = parser.parse_args()
    recorder = Recorder("startup")
    results = {
        "imports_own_ms_by_package": imports(args.runs),
        "session_phases_ms_without_prime": phases(args.runs, prime=False),
        "session_phases_ms_with_prime": phases(args.runs, prime=True),
        "cgroup_procs_write": cgroup_lock(args.runs),
        "cgroup_move_in_fresh_run": cgroup_move_in_run(args.runs),
    }
    path = recorder.write(results, args.out)
    for section, values in results.items():
        print(section)
        for name, value in values.items():
            print(f"  {name:45s} {value}")
    print(f"results: {path} (load average {recorder.load_start} at the start)")


if __name__ == "__main__":
    main()
