"""What `agentcode mcp` adds to a run: the same warm execution through the library and over MCP.

    python benchmarks/mcp_server.py --runs 200

Measures, in one process and one run (medians, milliseconds):
- `agentcode mcp` start until the client's ``initialize`` returns (``--starts`` fresh servers);
- ``create_session`` over stdio (a new jail);
- a warm execution (``x += 1``) in a session: `Session.execute` in process (the baseline), the
  MCP tool through the SDK's in-memory client, and the MCP tool over stdio to a subprocess,
  all three open at once and taken in turns (``--rounds``);
- where the start goes: ``python -X importtime -c "import agentcode.mcp.server"`` (``--starts``
  times), each module's own time summed by package;
and prints a Markdown table with the ratios to the baseline. Writes benchmarks/results/
speed-mcp.json (commit, load average at start and end): on a busy machine every number moves.
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
from collections.abc import Awaitable, Callable

import anyio
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

import agentcode
from agentcode.mcp.server import build_server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results_file import Recorder  # noqa: E402

WARM = "x += 1"


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def _timed(runs: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


def _params() -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable,
                                 args=["-m", "agentcode", "mcp", "--no-history"],
                                 env=dict(os.environ))


async def _mcp_session(client: Client | ClientSession) -> Callable[[], Awaitable[object]]:
    created = await client.call_tool("create_session", {})
    session_id = (created.structured_content or {})["session_id"]
    await client.call_tool("execute_python", {"code": "x = 0", "session_id": session_id})
    return lambda: client.call_tool("execute_python", {"code": WARM, "session_id": session_id})


async def starts(count: int) -> dict[str, float]:
    """A fresh `agentcode mcp` until ``initialize`` returns, then its ``create_session``."""
    start_samples, create_samples = [], []
    for _ in range(count):
        started = time.perf_counter()
        async with stdio_client(_params()) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            start_samples.append(time.perf_counter() - started)
            before = time.perf_counter()
            await client.call_tool("create_session", {})
            create_samples.append(time.perf_counter() - before)
    return {"start": _median_ms(start_samples), "create": _median_ms(create_samples)}


async def warm(runs: int, rounds: int) -> dict[str, float]:
    """The same warm execution on the three paths, all open at once and taken in turns
    (``rounds`` rounds of ``runs // rounds`` each): background load hits the three alike."""
    samples: dict[str, list[float]] = {"library": [], "in_memory": [], "stdio": []}
    settings = agentcode.load_settings(history=False)
    with agentcode.Session(settings=settings) as session:
        session.execute("x = 0")

        async def library() -> object:
            return session.execute(WARM)

        async with Client(build_server(settings)) as memory_client, \
                stdio_client(_params()) as (read, write), \
                ClientSession(read, write) as stdio_session:
            await stdio_session.initialize()
            calls = {"library": library, "in_memory": await _mcp_session(memory_client),
                     "stdio": await _mcp_session(stdio_session)}
            for _ in range(rounds):
                for name, call in calls.items():
                    samples[name] += await _timed(max(1, runs // rounds), call)
    return {name: _median_ms(values) for name, values in samples.items()}


def _package(module: str) -> str:
    top = module.split(".")[0]
    if top in ("mcp", "mcp_types"):  # the SDK and its protocol types' package
        return "mcp"
    if top == "agentcode":
        return top
    return "pydantic" if top in ("pydantic", "pydantic_core") else "other"


def imports(runs: int) -> dict[str, float]:
    """Own import time by package of the MCP server's module, medians of ``runs`` processes."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-X", "importtime", "-c", "import agentcode.mcp.server"]
    subprocess.run(command, capture_output=True, env=env)  # .pyc files written, disk cache warm
    totals: dict[str, list[float]] = collections.defaultdict(list)
    for _ in range(runs):
        done = subprocess.run(command, capture_output=True, env=env)
        own: dict[str, float] = collections.defaultdict(float)
        for line in done.stderr.decode().splitlines():
            found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
            if found:
                own[_package(found.group(3))] += int(found.group(1)) / 1000
        own["total"] = sum(own.values())
        for name, value in own.items():
            totals[name].append(value)
    return {name: round(statistics.median(values), 1) for name, values in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="warm executions per path")
    parser.add_argument("--starts", type=int, default=5, help="fresh servers started")
    parser.add_argument("--rounds", type=int, default=5,
                        help="turns the three warm paths take, --runs split among them")
    parser.add_argument("--out", default=None,
                        help="results file (default benchmarks/results/speed-mcp.json)")
    args = parser.parse_args()
    recorder = Recorder("mcp")

    load = os.getloadavg()[0]
    warm_ms = anyio.run(warm, args.runs, args.rounds)
    over_stdio = anyio.run(starts, args.starts)
    own = imports(args.starts)
    base, memory = warm_ms["library"], warm_ms["in_memory"]
    over_stdio["warm"] = warm_ms["stdio"]
    path = recorder.write({"runs": args.runs, "rounds": args.rounds, "starts": args.starts,
                           "library_warm_ms": base, "in_memory_warm_ms": memory,
                           "stdio_start_ms": over_stdio["start"],
                           "stdio_create_session_ms": over_stdio["create"],
                           "stdio_warm_ms": over_stdio["warm"],
                           "import_own_ms_by_package": own}, args.out)
    print(f"runs={args.runs} starts={args.starts} load average at start={load:.1f}")
    print("| measurement | median | vs library |")
    print("|---|---|---|")
    print(f"| `agentcode mcp` start until `initialize` returns | {over_stdio['start']:.0f} ms | |")
    print(f"| `create_session` over stdio (new jail) | {over_stdio['create']:.1f} ms | |")
    print(f"| warm `{WARM}`: `Session.execute` in process | {base:.2f} ms | 1.0x |")
    print(f"| warm `{WARM}`: MCP tool, in-memory client | {memory:.2f} ms | "
          f"{memory / base:.1f}x |")
    print(f"| warm `{WARM}`: MCP tool over stdio | {over_stdio['warm']:.2f} ms | "
          f"{over_stdio['warm'] / base:.1f}x |")
    print("own import time of agentcode.mcp.server by package (ms): "
          + ", ".join(f"{name} {ms}" for name, ms in own.items()))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
