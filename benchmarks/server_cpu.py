"""Where an `/execute`'s CPU goes under 20 concurrent sessions: server, library, client, jail.

    python benchmarks/server_cpu.py [--seconds 6] [--rounds 3] [--sessions 20]
        [--baseline-src DIR] [--json] [--out FILE]

`benchmarks/server.py load` times 10 calls per client; this keeps --sessions clients calling
back to back for --seconds (after all have a jail) and reads what the CPU did meanwhile, from
/proc: the whole machine's busy time per call (both cores), the server process's (its event
loop, the main thread, apart from its other threads: the sessions', the history writer's, the
freezer's), the load generator's own, and the rest (the jails' processes and the kernel's
threads). With 20 clients and both cores busy, a call's latency is about 20 x the machine's
CPU per call / 2 cores, so this says what a p50 could be at best.

Three steady loads, each round, in turn:
- ``library``: --sessions threads calling `Session.execute` back to back in this process, as
  `server.py load`'s library baseline (history on, each session's jail started first);
- ``library_paced``: the same with a 5 ms pause after each call, so that each session is frozen
  between its calls as a server's are (a back-to-back caller's next request mostly comes before
  the freeze is made, which cancels it: ``freezes_per_call`` says how often it was made);
- ``server``: `agentcode serve` of this tree (and of --baseline-src's, alternating) with the
  same number of lean clients (`server.LeanClient`) on kept-alive connections.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server as bench  # noqa: E402  (puts this tree first on sys.path)
from results_file import Recorder  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, idle) clock ticks of the whole machine so far."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(x) for x in handle.readline().split()[1:8]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, fields[3]


def thread_ticks(pid: int) -> dict[int, int]:
    """utime + stime of each thread of ``pid``."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(tid)] = int(fields[11]) + int(fields[12])
    return found


def steady(sessions: int, seconds: float, call: Callable[[int, int], bool],
           setup: Callable[[int], Callable[[], None]], pid: int | None,
           pause: float = 0.0) -> dict[str, Any]:
    """Each of ``sessions`` threads: ``setup(n)`` (returns its teardown), then ``call(n,
    step)`` in a loop, ``pause`` s after each (not timed); measured over ``seconds`` once all
    are set up."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    ready = threading.Barrier(sessions + 1)
    stop = threading.Event()

    def client(n: int) -> None:
        nonlocal errors
        teardown = setup(n)
        try:
            ready.wait()
            step = 0
            while not stop.is_set():
                started = time.perf_counter()
                ok = call(n, step)
                elapsed = time.perf_counter() - started
                step += 1
                with lock:
                    latencies.append(elapsed)
                    errors += not ok
                if pause:
                    time.sleep(pause)
        finally:
            teardown()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(sessions)]
    for thread in threads:
        thread.start()
    ready.wait()
    with lock:
        latencies.clear()
    machine0, own0, wall0 = machine_ticks(), os.times(), time.perf_counter()
    server0 = thread_ticks(pid) if pid else {}
    time.sleep(seconds)
    with lock:
        calls, p50 = len(latencies), bench.percentile(latencies, 50)
    machine1, own1, wall1 = machine_ticks(), os.times(), time.perf_counter()
    server1 = thread_ticks(pid) if pid else {}
    stop.set()
    for thread in threads:
        thread.join()
    wall = wall1 - wall0
    per_call = 1000 / TICK / max(1, calls)  # ticks -> ms per call
    result = {
        "calls_per_s": calls / wall, "p50_ms": p50 * 1000, "errors": errors,
        "machine_cpu_per_call_ms": (machine1[0] - machine0[0]) * per_call,
        "idle_cores": (machine1[1] - machine0[1]) / TICK / wall,
        "this_process_cpu_per_call_ms": (own1.user + own1.system - own0.user - own0.system)
        * 1000 / max(1, calls),
    }
    if pid:
        loop = server1.get(pid, 0) - server0.get(pid, 0)
        total = sum(ticks - server0.get(tid, 0) for tid, ticks in server1.items())
        result["server_loop_cpu_per_call_ms"] = loop * per_call
        result["server_threads_cpu_per_call_ms"] = (total - loop) * per_call
        result["server_cpu_per_call_ms"] = total * per_call
    return result


def library_load(sessions: int, seconds: float, pause: float) -> dict[str, Any]:
    from agentcode import Session
    from agentcode.sandbox.local import cgroup

    opened: dict[int, Session] = {}
    made = [0]
    freeze = cgroup.SessionCgroup.freeze

    def counted(self: cgroup.SessionCgroup) -> bool:
        made[0] += 1
        return freeze(self)

    def setup(n: int) -> Callable[[], None]:
        opened[n] = session = Session("local")
        session.execute("None")
        return session.close

    def call(n: int, step: int) -> bool:
        code, expected = bench.program(n, step % 1000)
        return opened[n].execute(code).stdout == expected

    cgroup.SessionCgroup.freeze = counted  # type: ignore[method-assign]
    try:
        started = made[0]
        result = steady(sessions, seconds, call, setup, None, pause)
    finally:
        cgroup.SessionCgroup.freeze = freeze  # type: ignore[method-assign]
    calls = result["calls_per_s"] * seconds
    result["freezes_per_call"] = (made[0] - started) / max(1.0, calls)
    return result


def server_load(sessions: int, seconds: float, src: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="agentcode-bench-") as home:
        env = dict(os.environ, AGENTCODE_HOME=home, AGENTCODE_LIMIT_MEMORY_MB="512")
        process, url = bench.start_server(env, "--no-warm", "--max-sessions",
                                          str(sessions + 5), src=src)
        clients: dict[int, tuple[bench.LeanClient, str]] = {}
        try:
            def setup(n: int) -> Callable[[], None]:
                http = bench.LeanClient(url)
                session = json.loads(http.post("/v1/sessions", {})[1])["id"]
                http.post(f"/v1/sessions/{session}/execute", {"code": "None"})
                clients[n] = (http, session)
                return http.close

            def call(n: int, step: int) -> bool:
                http, session = clients[n]
                code, expected = bench.program(n, step % 1000)
                status, body = http.post(f"/v1/sessions/{session}/execute", {"code": code})
                return status == 200 and json.loads(body)["stdout"] == expected

            return steady(sessions, seconds, call, setup, process.pid)
        finally:
            bench.stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--baseline-src", default=None,
                        help="another agentcode tree whose server is measured too, alternating")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", default=None,
                        help="results file (default benchmarks/results/speed-server-cpu.json)")
    args = parser.parse_args()
    recorder = Recorder("server-cpu")
    home = tempfile.mkdtemp(prefix="agentcode-bench-")
    os.environ.update(AGENTCODE_HOME=home, AGENTCODE_LIMIT_MEMORY_MB="512")
    loads: dict[str, Callable[[], dict[str, Any]]] = {
        "library": lambda: library_load(args.sessions, args.seconds, 0.0),
        "library_paced": lambda: library_load(args.sessions, args.seconds, 0.005),
        "server": lambda: server_load(args.sessions, args.seconds, bench.ROOT),
    }
    if args.baseline_src:
        baseline = os.path.abspath(args.baseline_src)
        loads["baseline_server"] = lambda: server_load(args.sessions, args.seconds, baseline)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in loads}
    for _ in range(args.rounds):
        for name, load in loads.items():
            runs[name].append(load())
    summary = {name: {key: round(statistics.median(r[key] for r in found), 3)
                      for key in found[0]} for name, found in runs.items()}
    result: dict[str, Any] = {"summary": summary, "runs": runs,
                              "baseline_src": args.baseline_src}
    path = recorder.write(result, args.out)
    print(json.dumps(result if args.json else summary, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
