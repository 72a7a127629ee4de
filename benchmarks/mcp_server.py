"""What `agentcode mcp` adds to a run: the same warm execution through the library and over MCP.

    python benchmarks/mcp_server.py --runs 200

Measures, in one process and one run (medians, milliseconds):
- `agentcode mcp` start until the client's ``initialize`` returns (``--starts`` fresh servers);
- ``create_session`` over stdio (a new jail);
- a warm execution (``x += 1``) in a session: `Session.execute` in process (the baseline), the
  MCP tool through the SDK's in-memory client, and the MCP tool over stdio to a subprocess;
and prints a Markdown table with the ratios to the baseline. Load average is printed too: on a
busy machine every number moves.
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def library(runs: int) -> float:
    with agentcode.Session(settings=agentcode.load_settings(history=False)) as session:
        session.execute("x = 0")
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            session.execute(WARM)
            samples.append(time.perf_counter() - started)
    return _median_ms(samples)


async def in_memory(runs: int) -> float:
    server = build_server(agentcode.load_settings(history=False))
    async with Client(server) as client:
        created = await client.call_tool("create_session", {})
        session_id = (created.structured_content or {})["session_id"]
        await client.call_tool("execute_python", {"code": "x = 0", "session_id": session_id})
        samples = await _timed(runs, lambda: client.call_tool(
            "execute_python", {"code": WARM, "session_id": session_id}))
    return _median_ms(samples)


def _params() -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable,
                                 args=["-m", "agentcode", "mcp", "--no-history"],
                                 env=dict(os.environ))


async def stdio(runs: int, starts: int) -> dict[str, float]:
    start_samples, create_samples = [], []
    for _ in range(starts):
        started = time.perf_counter()
        async with stdio_client(_params()) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            start_samples.append(time.perf_counter() - started)
            before = time.perf_counter()
            await client.call_tool("create_session", {})
            create_samples.append(time.perf_counter() - before)
    async with stdio_client(_params()) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        created = await client.call_tool("create_session", {})
        session_id = (created.structured_content or {})["session_id"]
        await client.call_tool("execute_python", {"code": "x = 0", "session_id": session_id})
        samples = await _timed(runs, lambda: client.call_tool(
            "execute_python", {"code": WARM, "session_id": session_id}))
    return {"start": _median_ms(start_samples), "create": _median_ms(create_samples),
            "warm": _median_ms(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="warm executions per path")
    parser.add_argument("--starts", type=int, default=5, help="fresh servers started")
    parser.add_argument("--out", default=None,
                        help="results file (default benchmarks/results/speed-mcp.json)")
    args = parser.parse_args()
    recorder = Recorder("mcp")

    load = os.getloadavg()[0]
    base = library(args.runs)
    memory = anyio.run(in_memory, args.runs)
    over_stdio = anyio.run(stdio, args.runs, args.starts)
    path = recorder.write({"runs": args.runs, "starts": args.starts,
                           "library_warm_ms": base, "in_memory_warm_ms": memory,
                           "stdio_start_ms": over_stdio["start"],
                           "stdio_create_session_ms": over_stdio["create"],
                           "stdio_warm_ms": over_stdio["warm"]}, args.out)
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
    print(f"results: {path}")


if __name__ == "__main__":
    main()
