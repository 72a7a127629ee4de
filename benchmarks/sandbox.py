"""Sandbox start-up and round-trip costs, with baselines measured in the same run.

    python benchmarks/sandbox.py [--runs N] [--json] [--ref-python PATH] [--baseline-src DIR]
                                 [--rounds R] [--only-whole-process] [--helper]

Measures (medians of N runs):
- whole process: `echo 'print(1)' | agentcode run -` against `python -c 'print(1)'` (goal <= 6x)
  and against the library's execute() in a fresh process (what the CLI adds: goal <= 40 ms);
  wall clock and CPU time (the process and its jail)
- with ``--helper`` (only that): `agentcode run -` through its resident helper (warm), in
  process (``AGENTCODE_SANDBOX_KEEP_ALIVE=0``) and cold (the first run, which starts the
  helper), interleaved with `python -c`; and warm runs back to back
- a new local session: bubblewrap + worker until ready (goal <= 100 ms), and its close
- a warm execution round trip in a session (goal <= 1 ms)
- a warm `agentcode.Session.execute` with history on (the default: one entry per run, through
  the Session's one store connection) and off, alternating in the same run (goal: on <= 1 ms and
  within 2x of off)
- references, when importable by ``--ref-python`` (a separate venv keeps them out of ours):
  an ipykernel start + execute, smolagents' LocalPythonExecutor, llm-sandbox.
- with ``--baseline-src DIR`` (another agentcode source tree, e.g. an earlier commit from
  ``git archive COMMIT agentcode | tar -x -C DIR``): new session, warm execution and a warm
  `Session.execute` with history on of that tree and of this one, alternating ``--rounds``
  times in the same run, and their ratios; and that tree's `agentcode run -` in the
  whole-process rounds. On a busy machine the ratio says what a change costs when the absolute
  numbers cannot.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_file import Recorder  # noqa: E402


def median_ms(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


# The library's own one-shot execute() in a fresh process, history recorded as `run` does.
LIBRARY_RUN = ("import sys, agentcode; "
               "sys.stdout.write(agentcode.execute(sys.stdin.read()).stdout)")


def _print_one(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``cmd`` on the program ``print(1)`` from stdin: wall-clock and CPU ms (the process
    and its jail, user + system; on a loaded machine the CPU time is the steadier measure of
    what a change saves)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, input=b"print(1)\n", capture_output=True, check=True, env=env,
                          cwd="/")
    elapsed = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.stdout == b"1\n", done
    return elapsed, (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def whole_process(runs: int, baseline_src: str | None = None) -> dict[str, float]:
    """`agentcode run -`, `python -c 'print(1)'` and the library's execute() in a process of its
    own, interleaved so that background load hits all three alike (medians). With
    ``baseline_src``, that tree's `agentcode run -` too, in the same rounds."""
    here = {"PYTHONPATH": str(ROOT)}
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "agentcode_run_ms": ([sys.executable, "-m", "agentcode", "run", "-"], here),
        "python_c_ms": ([sys.executable, "-c", "print(1)"], {}),
        "library_execute_process_ms": ([sys.executable, "-c", LIBRARY_RUN], here),
    }
    if baseline_src:
        commands["baseline_agentcode_run_ms"] = (
            [sys.executable, "-m", "agentcode", "run", "-"],
            {"PYTHONPATH": str(Path(baseline_src).resolve())})
    # Timed as users run it: with .pyc files (a shell's PYTHONDONTWRITEBYTECODE inflates it).
    # In process, as every figure before the run helper (--helper measures that one).
    base_env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                "AGENTCODE_SANDBOX_KEEP_ALIVE": "0"}

    def run(command: tuple[list[str], dict[str, str]]) -> tuple[float, float]:
        cmd, extra = command
        return _print_one(cmd, {**base_env, **extra})

    for cmd in commands.values():
        run(cmd)  # warm the page cache once
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            wall, used = run(cmd)
            samples[name].append(wall)
            cpu[name].append(used)
    result = {name: statistics.median(values) for name, values in samples.items()}
    result.update({name.removesuffix("_ms") + "_cpu_ms": statistics.median(values)
                   for name, values in cpu.items()})
    result["ratio"] = result["agentcode_run_ms"] / result["python_c_ms"]
    result["cli_overhead_ms"] = result["agentcode_run_ms"] - result["library_execute_process_ms"]
    if baseline_src:
        result["baseline_ratio"] = result["baseline_agentcode_run_ms"] / result["python_c_ms"]
    return result


def helper_rounds(runs: int, in_a_row: int = 20) -> dict[str, Any]:
    """`agentcode run -` through its resident helper (warm), in process
    (AGENTCODE_SANDBOX_KEEP_ALIVE=0) and cold (no helper yet: in process, then it starts one),
    interleaved with `python -c 'print(1)'` (medians, wall clock); then ``in_a_row`` warm runs
    back to back (the next child's jail is then not ready: its start is on the run's path).
    In a home of its own (no config file, an empty history), which all three share."""
    import tempfile

    from agentcode.sandbox.local import resident

    home = tempfile.mkdtemp(prefix="ac-bench-")
    os.environ["AGENTCODE_HOME"] = home  # for `resident` here, and every command below
    base_env = {k: v for k, v in os.environ.items()
                if k not in ("PYTHONDONTWRITEBYTECODE", "CI")}
    cli = [sys.executable, "-m", "agentcode", "run", "-"]
    here = {"PYTHONPATH": str(ROOT)}
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "python_c_ms": ([sys.executable, "-c", "print(1)"], {}),
        "run_in_process_ms": (cli, {**here, "AGENTCODE_SANDBOX_KEEP_ALIVE": "0"}),
        "run_helper_warm_ms": (cli, {**here, "AGENTCODE_SANDBOX_KEEP_ALIVE": "300"}),
        "run_cold_ms": (cli, {**here, "AGENTCODE_SANDBOX_KEEP_ALIVE": "300"}),
    }

    def run(name: str) -> tuple[float, float]:
        cmd, extra = commands[name]
        return _print_one(cmd, {**base_env, **extra})

    def ready(timeout: float = 30.0) -> int:
        """Wait until a helper runs and its idle child's jail is up; its pid."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = resident.running()
            if state and _grandchildren(int(state["pid"])):
                return int(state["pid"])
            time.sleep(0.02)
        raise RuntimeError("the run helper did not start")

    def served() -> int:
        state = resident.running()
        return int(state["served"]) if state else -1

    for name in commands:
        run(name)  # warm the page cache once (the cold command starts the helper)
    ready()
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    count = served()
    for _ in range(runs):
        for name in commands:
            if name == "run_cold_ms":
                resident.stop()
            elif name == "run_helper_warm_ms":
                ready()
                count = served()
            wall, used = run(name)
            samples[name].append(wall)
            cpu[name].append(used)
            if name == "run_helper_warm_ms" and served() != count + 1:
                time.sleep(0.2)  # its count is written a moment after the child took it
                assert served() == count + 1, "a warm run did not go through the helper"
        ready()
    master = ready()
    started_cpu = _cpu_ms(master)  # its start: imports and building the CLI, once
    in_row, client_cpu = [], []
    for _ in range(in_a_row):
        wall, used = run("run_helper_warm_ms")
        in_row.append(wall)
        client_cpu.append(used)
    time.sleep(0.5)  # the last children reaped (the idle one is not counted: one jail less)
    helper_cpu = (_cpu_ms(master) - started_cpu) / in_a_row
    resident.stop()
    result: dict[str, Any] = {name: statistics.median(values) for name, values in samples.items()}
    result.update({name.removesuffix("_ms") + "_client_cpu_ms": statistics.median(values)
                   for name, values in cpu.items()})
    result["run_helper_in_a_row_ms"] = statistics.median(in_row)
    result["in_a_row"] = in_a_row
    # CPU per warm run in all: the client's and the helper's (its children and their jails).
    result["helper_start_cpu_ms"] = started_cpu
    result["run_helper_in_a_row_helper_cpu_ms"] = helper_cpu
    result["run_helper_in_a_row_total_cpu_ms"] = helper_cpu + statistics.median(client_cpu)
    for name in ("run_in_process_ms", "run_helper_warm_ms", "run_cold_ms",
                 "run_helper_in_a_row_ms"):
        result["ratio_" + name.removesuffix("_ms")] = result[name] / result["python_c_ms"]
    result["samples"] = samples
    result["in_a_row_samples"] = in_row
    return result


def _cpu_ms(pid: int) -> float:
    """CPU time of ``pid`` and its children it reaped (user + system), in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) * 1000 / os.sysconf("SC_CLK_TCK")


def _grandchildren(pid: int) -> bool:
    """Whether ``pid`` has a child that has a child (the helper's idle child and its jail)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    children = {child for child, parent in parents.items() if parent == pid}
    return any(parent in children for parent in parents.values())


def sessions(runs: int) -> dict[str, float]:
    from agentcode.config import Settings
    from agentcode.sandbox.local.session import LocalSandboxSession

    settings = Settings()
    starts, closes, firsts = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        session = LocalSandboxSession(settings)
        starts.append((time.perf_counter() - start) * 1000)
        session.execute("print(1)")
        firsts.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        session.close()
        closes.append((time.perf_counter() - start) * 1000)
        time.sleep(0.2)  # sessions seconds apart, as a user makes them (not a warm kernel lock)
    with LocalSandboxSession(settings) as session:
        session.execute("x = 0")
        warm = median_ms(lambda: session.execute("x += 1"), runs * 20)
        first_value = median_ms(lambda: session.execute("x"), runs * 20)
    return {"new_session_ms": statistics.median(starts),
            "new_session_and_first_exec_ms": statistics.median(firsts),
            "close_ms": statistics.median(closes),
            "warm_exec_ms": warm, "warm_exec_with_value_ms": first_value}


def history_on_off(runs: int, rounds: int = 5) -> dict[str, float]:
    """Warm `Session.execute` with history on and off: the public layer's whole cost per run."""
    import tempfile

    from agentcode.api.session import Session
    from agentcode.config import Settings

    with tempfile.TemporaryDirectory() as home:
        settings = Settings(db=str(Path(home) / "history.db"))
        with Session(settings=settings) as on, Session(settings=settings, history=False) as off:
            for session in (on, off):
                session.execute("x = 0")
                for _ in range(20):  # warm: the store is open and its pages cached
                    session.execute("x += 1")
            timings: dict[str, list[float]] = {"on": [], "off": []}
            for _ in range(rounds):
                for name, session in (("on", on), ("off", off)):
                    timings[name].append(
                        median_ms(lambda s=session: s.execute("x += 1"), runs * 20)
                    )
            recorded = len(on.entries())  # proof that "on" wrote every run
    on_ms, off_ms = statistics.median(timings["on"]), statistics.median(timings["off"])
    return {"history_on_ms": on_ms, "history_off_ms": off_ms, "ratio": on_ms / off_ms,
            "entries_recorded": recorded}


SESSION_PROBE = """
import sys, time, json, statistics
sys.path.insert(0, SRC)
from agentcode.config import Settings
from agentcode.sandbox.local.session import LocalSandboxSession
starts, firsts = [], []
for _ in range(RUNS):
    time.sleep(0.2)  # sessions apart, as users make them (the kernel's cgroup lock gone cold)
    t = time.perf_counter(); s = LocalSandboxSession(Settings())
    starts.append((time.perf_counter() - t) * 1000); s.execute("print(1)")
    firsts.append((time.perf_counter() - t) * 1000); s.close()
with LocalSandboxSession(Settings()) as s:
    s.execute("x = 0")
    warm = []
    for _ in range(RUNS * 20):
        t = time.perf_counter(); s.execute("x += 1"); warm.append((time.perf_counter() - t) * 1000)
import tempfile
from agentcode.api.session import Session
with tempfile.TemporaryDirectory() as home, Session(settings=Settings(db=home + "/h.db")) as s:
    s.execute("x = 0")
    for _ in range(20):
        s.execute("x += 1")
    history = []
    for _ in range(RUNS * 20):
        t = time.perf_counter(); s.execute("x += 1")
        history.append((time.perf_counter() - t) * 1000)
print(json.dumps({"new_session_ms": statistics.median(starts),
                  "new_session_and_first_exec_ms": statistics.median(firsts),
                  "warm_exec_ms": statistics.median(warm),
                  "warm_session_execute_history_on_ms": statistics.median(history)}))
"""


PROBED = ("new_session_ms", "new_session_and_first_exec_ms", "warm_exec_ms",
          "warm_session_execute_history_on_ms")


def against_baseline(baseline_src: str, runs: int, rounds: int = 3) -> dict[str, float]:
    """This tree and ``baseline_src``, alternating ``rounds`` times; medians and ratios."""
    trees = {"current": str(ROOT), "baseline": str(Path(baseline_src).resolve())}
    samples: dict[str, dict[str, list[float]]] = {
        name: {key: [] for key in PROBED} for name in trees}
    for _ in range(rounds):
        for name, src in trees.items():
            code = SESSION_PROBE.replace("SRC", repr(src)).replace("RUNS", str(runs))
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True, timeout=600)
            for key, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
                samples[name][key].append(value)
    result = {f"{name}_{key}": statistics.median(values)
              for name, keys in samples.items() for key, values in keys.items()}
    for key in PROBED:
        result[f"ratio_{key}"] = result[f"current_{key}"] / result[f"baseline_{key}"]
    return result


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
    parser.add_argument("--baseline-src", default=None,
                        help="another agentcode source tree to compare sessions against")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --baseline-src: how many times the two trees alternate")
    parser.add_argument("--only-whole-process", action="store_true",
                        help="measure only the whole-process rounds (agentcode run, python -c, "
                        "execute(), and --baseline-src's run)")
    parser.add_argument("--out", default=None,
                        help="results file (default benchmarks/results/speed-sandbox.json)")
    parser.add_argument("--helper", action="store_true",
                        help="measure only `agentcode run -` through its resident helper (warm), "
                        "in process and cold, against python -c")
    args = parser.parse_args()
    recorder = Recorder("sandbox")
    if args.helper:
        path = recorder.write({"run_helper": helper_rounds(args.runs)}, args.out)
        print(path.read_text())
        print(f"results: {path} (load average {recorder.load_start} at the start)")
        return
    results: dict[str, Any] = {"whole_process": whole_process(args.runs, args.baseline_src)}
    if args.only_whole_process:
        path = recorder.write(results, args.out)
        print(json.dumps(results, indent=2))
        print(f"results: {path} (load average {recorder.load_start} at the start)")
        return
    results.update({
        "local_session": sessions(args.runs),
        "history": history_on_off(args.runs),
        "references": references(args.ref_python, args.runs),
    })
    if args.baseline_src:
        results["baseline"] = against_baseline(args.baseline_src, args.runs, args.rounds)
    path = recorder.write(results, args.out)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    whole, local = results["whole_process"], results["local_session"]
    print(f"agentcode run (print(1)), whole process  {whole['agentcode_run_ms']:8.1f} ms")
    print(f"python -c 'print(1)'                     {whole['python_c_ms']:8.1f} ms"
          f"   ratio {whole['ratio']:.1f}x (goal <= 6x)")
    if "baseline_agentcode_run_ms" in whole:
        print(f"  baseline tree's agentcode run          "
              f"{whole['baseline_agentcode_run_ms']:8.1f} ms"
              f"   ratio {whole['baseline_ratio']:.1f}x")
    print(f"library execute() in a fresh process     {whole['library_execute_process_ms']:8.1f} ms"
          f"   CLI adds {whole['cli_overhead_ms']:.1f} ms (goal <= 40 ms)")
    print(f"new local session (bwrap + worker ready) {local['new_session_ms']:8.1f} ms")
    print(f"new session + first execution            "
          f"{local['new_session_and_first_exec_ms']:8.1f} ms   (goal <= 35 ms)")
    print(f"close a session                          {local['close_ms']:8.1f} ms")
    print(f"warm execution round trip                {local['warm_exec_ms']:8.3f} ms"
          "   (goal <= 1 ms)")
    print(f"warm execution returning a value         {local['warm_exec_with_value_ms']:8.3f} ms")
    history = results["history"]
    print(f"Session.execute, history on (default)    {history['history_on_ms']:8.3f} ms"
          "   (goal <= 0.4 ms)")
    print(f"Session.execute, history off             {history['history_off_ms']:8.3f} ms"
          f"   ratio {history['ratio']:.2f}x (goal <= 2x)")
    if "baseline" in results:
        base = results["baseline"]
        for key, label in (("new_session_ms", "new session"),
                           ("new_session_and_first_exec_ms", "new session + first execution"),
                           ("warm_exec_ms", "warm execution"),
                           ("warm_session_execute_history_on_ms", "Session.execute, history on")):
            print(f"{label}: this tree {base['current_' + key]:.3f} ms, baseline "
                  f"{base['baseline_' + key]:.3f} ms, ratio {base['ratio_' + key]:.2f}x")
    for name, ref in results["references"].items():
        if "error" in ref:
            print(f"{name}: not measured ({ref['error']})")
        else:
            print(f"{name}: start {ref['start_ms']:.1f} ms, warm execution "
                  f"{ref['warm_exec_ms']:.3f} ms")
    print(f"results: {path} (load average {recorder.load_start} at the start)")


if __name__ == "__main__":
    main()
