"""`agentcode serve` benchmarks: /execute under load, and `gen` through a warm server.

    python benchmarks/server.py load [--runs N] [--sessions 20] [--executions 10] [--json]
        [--baseline-src DIR [--rounds R]]
    python benchmarks/server.py gen [--runs N] [--json]
    python benchmarks/server.py keepalive [--runs N] [--json]
    python benchmarks/server.py genhelper [--runs N] [--json]

load: one `agentcode serve` on loopback (a separate process, real jails); --sessions clients in
threads, each with its own session, run --executions small programs each, all starting together
once every session has its jail (a barrier: otherwise the jails' starts spread the clients out
and the concurrency is not what it says). Reported per run and as medians over --runs: p50/p99
of one POST /execute, against the library's own round trip (`Session.execute`, in this process,
recording history as the server does) measured in the same run at the same concurrency; the
"HTTP floor" (the same clients asking GET /health: what the load generator and HTTP cost before
the server does any work); errors (any non-200 or a wrong stdout); and whether the history holds
every execution, once. The clients send hand-encoded HTTP/1.1 on kept-alive sockets
(`LeanClient`): httpx's own CPU on the 2 cores the server shares made a no-op take 12 ms.
With ``--baseline-src DIR`` (another agentcode tree, e.g. `git archive` of an earlier commit)
the load run is made R times for each tree, alternating, the server started from that tree;
the library's figures are always this tree's, measured in each run. The tree measured is the
one this file is in (or DIR), never whatever `agentcode` the interpreter would import: the
server is started with PYTHONPATH set to it, from a directory that holds no checkout (`python
-m` puts the working directory first on the path).

keepalive: the same pipeline twice in a row with the embedded model kept warm in its background
process (`local_keep_alive`; stopped before each pair), then the README's primes pipeline warm.
Without the resident helper (``AGENTCODE_SANDBOX_KEEP_ALIVE=0``), as the figures before it.

genhelper: the same pipeline with the model warm, `gen` and `run` through their resident helper
(warm: its idle child ready) against in process (``AGENTCODE_SANDBOX_KEEP_ALIVE=0``),
interleaved; and the cold first pipeline of each round (the model and the helper stopped
first: both start during it), so that the second-of-two over first ratio is on record. The
helper's own CPU per warm pipeline (its children, their jails) is counted too. Then the
helper's master alone (--rounds starts): its start's time and CPU and its memory, with
``--baseline-src DIR`` also that tree's, alternating. Off means `run` in process as well.

gen: `agentcode gen "print the number 42" | agentcode run -` in fresh processes, cold (the model
loads in `gen`) against `gen --server URL` with a server that already holds the model, runs
interleaved; a short answer, so that decoding does not drown the load the server saves. Uses
the embedded model from the user cache; history off.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # the tree measured: this checkout's agentcode
sys.path[:0] = [ROOT, HERE]
from results_file import Recorder  # noqa: E402

TOKEN = "benchmark-token"
# A short answer, so the model load (what the server saves) is not drowned by decoding.
GEN_PROMPT = "print the number 42"
EXPECTED_OUTPUT = "42\n"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def start_server(env: dict[str, str], *args: str,
                 src: str = ROOT) -> tuple[subprocess.Popen[str], str]:
    """`agentcode serve` of the tree ``src`` (started from a directory without a checkout)."""
    env = dict(env, PYTHONPATH=os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])]))
    process = subprocess.Popen(
        [sys.executable, "-m", "agentcode", "serve", "--port", "0", "--token", TOKEN, *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        cwd=tempfile.gettempdir())
    assert process.stderr is not None
    line = ""
    for _ in range(5):  # warnings (e.g. the session limit memory allows) come first
        line = process.stderr.readline()
        found = re.search(r"serving on (http://\S+?)/\?token=", line)
        if found or not line:
            break
    if not found:
        process.kill()
        raise SystemExit(f"the server did not start: {line}{process.stderr.read()}")
    return process, found.group(1)


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def in_threads(count: int, work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def program(client: int, step: int) -> tuple[str, str]:
    value = client * 1000 + step
    return f"total = {value} * 2\nprint(total)", f"{value * 2}\n"


class LeanClient:
    """HTTP/1.1 on one kept-alive socket, requests encoded by hand: a load generator that costs
    ~0.03 ms a request, where httpx costs ~0.4 ms of the same 2 cores the server runs on (20
    httpx clients alone made a no-op request take 12 ms at p50). Answers carry a
    Content-Length (the API's do) or none (a 204)."""

    def __init__(self, url: str, token: str = TOKEN) -> None:
        host, _, port = url.split("//", 1)[1].partition(":")
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.head = f"Host: {host}\r\nAuthorization: Bearer {token}\r\n"

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        return self.request(f"POST {path} HTTP/1.1\r\n{self.head}Content-Type: application/json"
                            f"\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request(f"GET {path} HTTP/1.1\r\n{self.head}\r\n".encode())

    def delete(self, path: str) -> tuple[int, bytes]:
        return self.request(f"DELETE {path} HTTP/1.1\r\n{self.head}\r\n".encode())

    def request(self, raw: bytes) -> tuple[int, bytes]:
        self.sock.sendall(raw)
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        found = re.search(rb"(?im)^content-length: *(\d+)", head)
        length = int(found.group(1)) if found else 0  # none: a 204
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            rest += chunk
        return int(head.split(b" ", 2)[1]), rest

    def close(self) -> None:
        self.sock.close()


def library_round_trips(sessions: int, executions: int) -> tuple[list[float], int]:
    from agentcode import Session

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    ready = threading.Barrier(sessions)

    def client(n: int) -> None:
        nonlocal errors
        with Session("local") as session:
            session.execute("None")  # start the jail outside the timed calls, as the server does
            ready.wait()  # every session started: the timed calls run all at once
            for step in range(executions):
                code, expected = program(n, step)
                started = time.perf_counter()
                result = session.execute(code)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += result.stdout != expected

    in_threads(sessions, client)
    return latencies, errors


def server_round_trips(url: str, sessions: int,
                       executions: int) -> tuple[list[float], int, list[str]]:
    latencies: list[float] = []
    errors = 0
    ids: list[str] = []
    lock = threading.Lock()

    ready = threading.Barrier(sessions)

    def client(n: int) -> None:
        nonlocal errors
        http = LeanClient(url)
        try:
            status, body = http.post("/v1/sessions", {})
            session = json.loads(body)["id"]
            http.post(f"/v1/sessions/{session}/execute", {"code": "None"})  # jail start
            with lock:
                ids.append(session)
            ready.wait()  # as the library's: the timed calls of all clients run at once
            for step in range(executions):
                code, expected = program(n, step)
                started = time.perf_counter()
                status, body = http.post(f"/v1/sessions/{session}/execute", {"code": code})
                elapsed = time.perf_counter() - started
                ok = status == 200 and json.loads(body)["stdout"] == expected
                with lock:
                    latencies.append(elapsed)
                    errors += not ok
        finally:
            http.close()

    in_threads(sessions, client)
    return latencies, errors, ids


def http_floor(url: str, sessions: int, executions: int) -> list[float]:
    """The same clients at the same concurrency asking `GET /health` (no session, no sandbox):
    what the load generator and HTTP cost on this machine before the server does any work."""
    latencies: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(sessions)

    def client(n: int) -> None:
        http = LeanClient(url)
        try:
            http.get("/health")
            ready.wait()
            for _ in range(executions):
                started = time.perf_counter()
                http.get("/health")
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
        finally:
            http.close()

    in_threads(sessions, client)
    return latencies


def history_complete(url: str, ids: list[str], executions: int) -> bool:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    entries = httpx.get(f"{url}/v1/history", params={"limit": 1000}, headers=headers,
                        timeout=60).json()
    runs = [e for e in entries if e["kind"] == "run" and e["session_id"] in ids]
    timed = [e for e in runs if e["code"] != "None"]  # not the warm-up runs
    per_session = {sid: sum(1 for e in timed if e["session_id"] == sid) for sid in ids}
    return all(count == executions for count in per_session.values()) and \
        len(timed) == len(ids) * executions


def sequential(url: str, count: int) -> list[float]:
    """One client, one session: the server's own overhead without contention between clients."""
    http = LeanClient(url)
    try:
        session = json.loads(http.post("/v1/sessions", {})[1])["id"]
        http.post(f"/v1/sessions/{session}/execute", {"code": "None"})
        latencies = []
        for step in range(count):
            started = time.perf_counter()
            http.post(f"/v1/sessions/{session}/execute", {"code": program(0, step)[0]})
            latencies.append(time.perf_counter() - started)
        http.delete(f"/v1/sessions/{session}")
    finally:
        http.close()
    return latencies


def library_sequential(count: int) -> list[float]:
    from agentcode import Session

    latencies = []
    with Session("local") as session:
        session.execute("None")
        for step in range(count):
            started = time.perf_counter()
            session.execute(program(0, step)[0])
            latencies.append(time.perf_counter() - started)
    return latencies


def first_executions(url: str, count: int) -> list[float]:
    """POST /v1/sessions and its first /execute, for a server that keeps a spare jail: the
    new session's sandbox is the spare (given time to be started between sessions)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    latencies = []
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        for _ in range(count):
            time.sleep(1.0)  # the next spare starts once one is handed out
            started = time.perf_counter()
            session = http.post("/v1/sessions").json()["id"]
            reply = http.post(f"/v1/sessions/{session}/execute", json={"code": "print(1)"})
            latencies.append(time.perf_counter() - started)
            assert reply.json()["stdout"] == "1\n", reply.text
            http.delete(f"/v1/sessions/{session}")
    return latencies


def library_first_executions(count: int) -> list[float]:
    """A new `Session` and its first execute in this process: a jail started on the spot."""
    from agentcode import Session

    latencies = []
    for _ in range(count):
        time.sleep(1.0)
        started = time.perf_counter()
        with Session("local") as session:
            session.execute("print(1)")
            latencies.append(time.perf_counter() - started)
    return latencies


def load_run(sessions: int, executions: int, src: str = ROOT) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="agentcode-bench-") as home:
        # 512 MiB a session: the server would otherwise allow only what 75% of this machine's
        # memory holds at 2 GiB each (8 here), fewer than the clients. The same for both.
        env = dict(os.environ, AGENTCODE_HOME=home, AGENTCODE_LIMIT_MEMORY_MB="512")
        os.environ["AGENTCODE_HOME"] = home  # both record history, as by default
        os.environ["AGENTCODE_LIMIT_MEMORY_MB"] = "512"
        library, library_errors = library_round_trips(sessions, executions)
        process, url = start_server(env, "--no-warm", "--max-sessions", str(sessions + 5),
                                    src=src)
        try:
            server, server_errors, ids = server_round_trips(url, sessions, executions)
            complete = history_complete(url, ids, executions)
            floor = http_floor(url, sessions, executions)
            one_server = sequential(url, sessions * executions)
            spare_first = first_executions(url, 7)
        finally:
            stop(process)
        one_library = library_sequential(sessions * executions)
        library_first = library_first_executions(7)
    return {
        "server_src": src,
        "spare_session_and_first_execute_p50_ms": percentile(spare_first, 50) * 1000,
        "library_new_session_and_first_execute_p50_ms": percentile(library_first, 50) * 1000,
        "one_client_library_p50_ms": percentile(one_library, 50) * 1000,
        "one_client_server_p50_ms": percentile(one_server, 50) * 1000,
        "library_p50_ms": percentile(library, 50) * 1000,
        "library_p99_ms": percentile(library, 99) * 1000,
        "server_p50_ms": percentile(server, 50) * 1000,
        "server_p99_ms": percentile(server, 99) * 1000,
        "http_floor_p50_ms": percentile(floor, 50) * 1000,
        "executions": len(server),
        "errors": server_errors + library_errors,
        "history_complete": complete,
    }


def load_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the runs; the ratios are of those medians."""
    keys = ["library_p50_ms", "library_p99_ms", "server_p50_ms", "server_p99_ms",
            "http_floor_p50_ms", "one_client_library_p50_ms", "one_client_server_p50_ms",
            "spare_session_and_first_execute_p50_ms",
            "library_new_session_and_first_execute_p50_ms"]
    summary: dict[str, Any] = {k: round(statistics.median(r[k] for r in runs), 2) for k in keys}
    summary["p50_ratio"] = round(summary["server_p50_ms"] / summary["library_p50_ms"], 2)
    summary["p99_ratio"] = round(summary["server_p99_ms"] / summary["library_p99_ms"], 2)
    summary["errors"] = sum(r["errors"] for r in runs)
    summary["history_complete"] = all(r["history_complete"] for r in runs)
    summary["executions_per_run"] = runs[0]["executions"]
    return summary


PRIMES_PROMPT = "print the first 10 prime numbers"  # the README's pipeline
PRIMES_OUTPUT = "".join(f"{p}\n" for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29))


def keepalive_runs(runs: int) -> dict[str, Any]:
    """`gen | run` twice in a row with the model kept warm (no warm model before the first):
    the first loads the model in the background process, the second finds it loaded. Then the
    README's primes pipeline, warm."""
    from agentcode.models.local import LOCAL_MODELS, resolve_spec
    from agentcode.models.weights import ensure_weights

    # A home of its own, so `model stop` ends only this benchmark's warm model (the user's
    # others, e.g. another shell's, live in the user's runtime dir); the user's weights.
    weights = resolve_spec(None).weights or LOCAL_MODELS["qwen2.5-coder-1.5b"]
    gguf = ensure_weights(weights, progress=False)
    home = tempfile.mkdtemp(prefix="agentcode-bench-")
    env = _warm_model_env(home, gguf, sandbox_keep_alive="0")
    stop_warm = [sys.executable, "-m", "agentcode", "model", "stop"]
    first: list[float] = []
    second: list[float] = []
    primes: list[float] = []
    correct = {"first": 0, "second": 0, "primes": 0}
    try:
        for _ in range(runs):
            subprocess.run(stop_warm, env=env, capture_output=True, check=True)
            for name, times, prompt, expected in (
                    ("first", first, GEN_PROMPT, EXPECTED_OUTPUT),
                    ("second", second, GEN_PROMPT, EXPECTED_OUTPUT),
                    ("primes", primes, PRIMES_PROMPT, PRIMES_OUTPUT)):
                seconds, ok = timed_pipeline(env, prompt, expected)
                times.append(seconds)
                correct[name] += ok
    finally:
        subprocess.run(stop_warm, env=env, capture_output=True)
    return {"first_s": first, "second_s": second, "primes_warm_s": primes, "correct": correct,
            "first_median_s": statistics.median(first),
            "second_median_s": statistics.median(second),
            "second_over_first": statistics.median(second) / statistics.median(first),
            "primes_warm_median_s": statistics.median(primes)}


def _warm_model_env(home: str, gguf: Path, *, sandbox_keep_alive: str) -> dict[str, str]:
    """This tree's agentcode in ``home``, the model kept warm, no history."""
    env = dict(os.environ, AGENTCODE_HOME=home, AGENTCODE_NO_HISTORY="1",
               AGENTCODE_LOCAL_KEEP_ALIVE="300", AGENTCODE_LOCAL_MODEL=str(gguf),
               AGENTCODE_SANDBOX_KEEP_ALIVE=sandbox_keep_alive, PYTHONPATH=str(ROOT))
    for name in ("AGENTCODE_SERVER", "CI", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


def genhelper_runs(runs: int) -> dict[str, Any]:
    """`gen | run` with the model warm: through the resident helper (warm) and in process,
    interleaved, and each round's cold first pipeline (model and helper stopped before it)."""
    from agentcode.models.local import LOCAL_MODELS, resolve_spec
    from agentcode.models.weights import ensure_weights
    from agentcode.sandbox.local import resident

    weights = resolve_spec(None).weights or LOCAL_MODELS["qwen2.5-coder-1.5b"]
    gguf = ensure_weights(weights, progress=False)
    home = tempfile.mkdtemp(prefix="agentcode-bench-")
    os.environ["AGENTCODE_HOME"] = home  # for `resident` here
    envs = {"helper": _warm_model_env(home, gguf, sandbox_keep_alive="300"),
            "in_process": _warm_model_env(home, gguf, sandbox_keep_alive="0")}
    envs["cold_first"] = envs["helper"]
    stop_warm = [sys.executable, "-m", "agentcode", "model", "stop"]
    times: dict[str, list[float]] = {name: [] for name in envs}
    correct = dict.fromkeys(envs, 0)
    helper_cpu: list[float] = []

    def ready(timeout: float = 30.0) -> int:
        """Wait until the helper runs and its idle child is forked; its pid."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = resident.running()
            if state and _children(int(state["pid"])):
                return int(state["pid"])
            time.sleep(0.02)
        raise RuntimeError("the helper did not start")

    def served() -> int:
        state = resident.running()
        return int(state["served"]) if state else -1

    try:
        for round_ in range(runs):
            subprocess.run(stop_warm, env=envs["in_process"], capture_output=True, check=True)
            resident.stop()
            warm = ["helper", "in_process"] if round_ % 2 == 0 else ["in_process", "helper"]
            for name in ["cold_first", *warm]:
                if name == "helper":
                    master = ready()
                    time.sleep(0.5)  # the idle child's jail is up
                    count, cpu = served(), _cpu_ms(master)
                seconds, ok = timed_pipeline(envs[name], GEN_PROMPT)
                times[name].append(seconds)
                correct[name] += ok
                if name == "helper":
                    time.sleep(0.5)  # its children reaped: their CPU is the master's
                    helper_cpu.append(_cpu_ms(master) - cpu)
                    assert served() == count + 2, "gen and run did not both go to the helper"
    finally:
        subprocess.run(stop_warm, env=envs["in_process"], capture_output=True)
        resident.stop()
    medians = {f"{name}_median_s": statistics.median(values) for name, values in times.items()}
    return {**{f"{name}_s": values for name, values in times.items()}, **medians,
            "correct": correct, "runs": runs,
            "helper_cpu_per_pipeline_ms": helper_cpu,
            "helper_cpu_per_pipeline_median_ms": statistics.median(helper_cpu),
            "saved_median_s": medians["in_process_median_s"] - medians["helper_median_s"],
            "second_over_first_helper":
                medians["helper_median_s"] / medians["cold_first_median_s"],
            "second_over_first_in_process":
                medians["in_process_median_s"] / medians["cold_first_median_s"]}


def helper_footprint(trees: dict[str, str], rounds: int) -> dict[str, Any]:
    """The helper's master of each tree, started directly (alternating trees): the seconds
    until it listens, its CPU for that (imports, building the CLI) and its memory once idle
    (RSS; PSS shares the pages its idle child has too). Medians over ``rounds``."""
    samples: dict[str, dict[str, list[float]]] = {
        name: {"ready_s": [], "start_cpu_ms": [], "rss_kb": [], "pss_kb": []} for name in trees}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "CI")}
    for _ in range(rounds):
        for name, tree in trees.items():
            home = Path(tempfile.mkdtemp(prefix="agentcode-bench-"))
            base = home / "run-bench"
            started = time.perf_counter()
            master = subprocess.Popen(
                [sys.executable, "-m", "agentcode.cli.run_helper", str(base), "30"],
                env={**env, "PYTHONPATH": tree, "AGENTCODE_HOME": str(home)}, cwd="/",
                stderr=subprocess.DEVNULL)
            try:
                while not base.with_suffix(".json").exists():
                    if master.poll() is not None:
                        raise RuntimeError(f"{name}'s helper did not start")
                    time.sleep(0.005)
                samples[name]["ready_s"].append(time.perf_counter() - started)
                samples[name]["start_cpu_ms"].append(_cpu_ms(master.pid))
                time.sleep(1.0)  # its idle child forked and its jail started
                status = Path(f"/proc/{master.pid}/status").read_text()
                samples[name]["rss_kb"].append(int(status.split("VmRSS:")[1].split()[0]))
                rollup = Path(f"/proc/{master.pid}/smaps_rollup").read_text()
                samples[name]["pss_kb"].append(int(rollup.split("Pss:")[1].split()[0]))
            finally:
                master.terminate()
                master.wait()
    return {name: {**{key: statistics.median(values) for key, values in found.items()},
                   "samples": found, "tree": trees[name]} for name, found in samples.items()}


def _cpu_ms(pid: int) -> float:
    """CPU time of ``pid`` and the children it reaped (user + system), in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) * 1000 / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    return True
            except OSError:
                continue
    return False


def timed_pipeline(env: dict[str, str], prompt: str,
                   expected: str = EXPECTED_OUTPUT) -> tuple[float, bool]:
    started = time.perf_counter()
    gen = subprocess.Popen([sys.executable, "-m", "agentcode", "gen", prompt],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    run = subprocess.run([sys.executable, "-m", "agentcode", "run", "-"], stdin=gen.stdout,
                         capture_output=True, text=True, env=env)
    gen.wait()
    return time.perf_counter() - started, run.stdout == expected


def gen_runs(runs: int) -> dict[str, Any]:
    env = dict(os.environ, AGENTCODE_NO_HISTORY="1")
    env.pop("AGENTCODE_SERVER", None)
    process, url = start_server(env, "--warm", "--no-history")
    try:
        warm_env = dict(env, AGENTCODE_SERVER=f"{url}/?token={TOKEN}")
        timed_pipeline(warm_env, GEN_PROMPT)  # waits for the start-up load; not counted
        cold: list[float] = []
        warm: list[float] = []
        correct = {"cold": 0, "warm": 0}
        for _ in range(runs):
            for name, run_env, times in (("cold", env, cold), ("warm", warm_env, warm)):
                seconds, ok = timed_pipeline(run_env, GEN_PROMPT)
                times.append(seconds)
                correct[name] += ok
    finally:
        stop(process)
    return {"cold_s": cold, "warm_s": warm, "correct": correct,
            "cold_median_s": statistics.median(cold), "warm_median_s": statistics.median(warm)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["load", "gen", "keepalive", "genhelper"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--executions", type=int, default=10)
    parser.add_argument("--baseline-src", default=None, help="load: another agentcode source "
                        "tree whose server is measured too, alternating with this one; "
                        "genhelper: whose helper's master is")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --baseline-src: load runs per tree; genhelper: masters "
                        "started per tree")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", default=None, help="results file (default "
                        "benchmarks/results/speed-server-load.json or speed-server-gen.json)")
    args = parser.parse_args()
    recorder = Recorder(f"server-{args.what}")
    load_before = os.getloadavg()[0]
    if args.what == "load" and args.baseline_src:
        baseline = os.path.abspath(args.baseline_src)
        trees = {"current": ROOT, "baseline": baseline}
        per_tree: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for _ in range(args.rounds):  # alternating, so both see the same moments' load
            for name, src in trees.items():
                per_tree[name].append(load_run(args.sessions, args.executions, src))
        summaries = {name: load_summary(runs) for name, runs in per_tree.items()}
        result: dict[str, Any] = {"summary": {
            **{f"{name}_{key}": value for name, summary in summaries.items()
               for key, value in summary.items()},
            "server_p50_current_over_baseline": round(
                summaries["current"]["server_p50_ms"] / summaries["baseline"]["server_p50_ms"],
                3),
            "baseline_src": baseline}, "runs": per_tree}
    elif args.what == "load":
        runs = [load_run(args.sessions, args.executions) for _ in range(args.runs)]
        result = {"summary": load_summary(runs), "runs": runs}
    elif args.what == "keepalive":
        result = keepalive_runs(args.runs)
    elif args.what == "genhelper":
        result = genhelper_runs(args.runs)
        # The helper's master, this tree's and (--baseline-src) another's, e.g. before it
        # preloaded gen's modules.
        trees = {"current": ROOT}
        if args.baseline_src:
            trees["baseline"] = os.path.abspath(args.baseline_src)
        result["helper_master"] = helper_footprint(trees, args.rounds)
    else:
        result = gen_runs(args.runs)
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    path = recorder.write(result, args.out)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(json.dumps(result.get("summary", result), indent=2))
        print(f"results: {path}")


if __name__ == "__main__":
    main()
