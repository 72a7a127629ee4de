"""How fast the embedded model draws candidates: one at a time, batched, speculative.

    python benchmarks/decoding.py --runs 3 --json benchmarks/results/decoding.json
    python benchmarks/decoding.py --configs base,slots4 --runs 5

Verification draws several candidates for one request after a failure (`generation.verify`).
This measures, on one realistic request (a task of benchmarks/tasks/ with its data context, as
`agentcode gen` sends it), for each server configuration:

- ``one``: one reply (the first round's cost) with the prompt already cached;
- ``sequential``: N replies one after another (how verification drew them before);
- ``batched``: N replies from one ``draw_many`` call (llama.cpp ``n_cmpl``: the prompt is evaluated
  once and the N sequences are decoded as one batch in the server's slots);
- ``repair``: one reply to a repair turn (the task, the failed code as the model's answer, the
  failure), which mostly copies the previous code: what prompt-lookup decoding is for.

Configurations: ``base`` (one slot, as before), ``slots4`` (4 slots, one unified KV cache: the
default now), ``ngram`` (slots4 + n-gram prompt-lookup speculative decoding), ``draft`` (one slot +
the 0.5B model as draft; needs ``pip install 'agentcode[local-small]'``). Each configuration runs
in its own process (one llama.cpp server at a time), and reports medians of ``--runs`` runs:
seconds, output tokens, and output tokens per second. Outputs at temperature 0 are compared with
``base`` where the decoding should not change them (speculative decoding is exact).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import commit, load_average  # noqa: E402

CONFIGS = ("base", "slots4", "ngram", "draft")
TASK = "csv_revenue_per_region"  # the README's own example
REPAIR_FAILURE = (
    "Running that code failed:\nrunning the code: raised ValueError: could not convert string to "
    "float: 'amount'\n\nFix the code so that it does the task and passes. Reply with the complete "
    "corrected program in one ```python block."
)


def request() -> tuple[list[dict[str, Any]], str, list[dict[str, Any]]]:
    """(messages, system prompt, repair messages) for the benchmark task, as `gen` builds them."""
    from task_bench import input_context, load_tasks

    from agentcode.config import load_settings
    from agentcode.generation.codegen import build_messages, build_system_prompt
    from agentcode.sandbox.local.packages import importable_packages

    task = load_tasks(only=TASK)[0]
    settings = load_settings(history=False)
    system = build_system_prompt(packages=importable_packages(settings.sandbox, settings))
    messages = build_messages(task.prompt, context=input_context(task))
    failed = (
        "import sys\n\ntotals = {}\nfor line in sys.stdin:\n    region, amount = "
        "line.strip().split(',')[:2]\n    totals[region] = totals.get(region, 0) + float(amount)"
        "\nfor region, total in sorted(totals.items()):\n    print(f'{region}: {total:.2f}')\n"
    )
    repair = [*messages,
              {"role": "assistant", "content": [{"text": f"```python\n{failed}```"}]},
              {"role": "user", "content": [{"text": REPAIR_FAILURE}]}]
    return messages, system, repair  # type: ignore[return-value]


def start_server(config: str, threads: int) -> Any:
    """The llama.cpp server for ``config`` (in this process), and a model pointed at it."""
    import xllamacpp as xlc

    from agentcode.config import load_settings
    from agentcode.models import local_server
    from agentcode.models.local import LOCAL_MODELS, load_local_model
    from agentcode.models.weights import ensure_weights

    parallel = 1 if config in ("base", "draft") else 4
    model = load_local_model(None, load_settings(history=False), n_threads=threads,
                             n_parallel=parallel, max_tokens=400)
    if config in ("ngram", "draft"):
        # The only place the server's speculative settings are set: a patched start().
        original = local_server.LlamaServer.start

        def start(self: Any, health_timeout: float = 60.0) -> None:
            real = xlc.CommonParams

            def params() -> Any:
                p = real()
                spec = p.speculative
                if config == "ngram":
                    spec.types = [xlc.common_speculative_type.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
                else:
                    small = ensure_weights(LOCAL_MODELS["qwen2.5-coder-0.5b"])
                    spec.draft.mparams.path = str(small)
                    spec.draft.cpuparams.n_threads = threads
                    spec.draft.cpuparams_batch.n_threads = threads
                    spec.types = [xlc.common_speculative_type.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE]
                return p

            xlc.CommonParams = params
            try:
                original(self, health_timeout)
            finally:
                xlc.CommonParams = real

        local_server.LlamaServer.start = start  # type: ignore[method-assign]
    model.start()
    return model


async def one_reply(model: Any, messages: list[dict[str, Any]], system: str,
                    temperature: float, seed: int) -> tuple[str, int]:
    from agentcode.models.sampling import Sampling

    draws = await model.draw_many(messages, system, n=1, sampling=Sampling(temperature, seed))
    return draws.texts[0], draws.output_tokens


def measure(config: str, runs: int, draws: int, threads: int) -> dict[str, Any]:
    from agentcode.models.sampling import Sampling

    messages, system, repair = request()
    model = start_server(config, threads)
    asyncio.run(one_reply(model, messages, system, 0.0, 0))  # warm: the prompt is now cached
    rows: dict[str, list[tuple[float, int]]] = {"one": [], "sequential": [], "batched": [],
                                                "repair": [], "mixed": [], "mixed_serial": []}
    greedy: dict[str, str] = {}
    for run in range(runs):
        started = time.perf_counter()
        text, tokens = asyncio.run(one_reply(model, messages, system, 0.0, 0))
        rows["one"].append((time.perf_counter() - started, tokens))
        greedy["one"] = text
        started = time.perf_counter()
        total = 0
        for index in range(draws):
            _, tokens = asyncio.run(one_reply(model, messages, system, 0.7, 100 * run + index))
            total += tokens
        rows["sequential"].append((time.perf_counter() - started, total))
        if model.parallel > 1:
            started = time.perf_counter()
            batch = asyncio.run(model.draw_many(messages, system, n=draws,
                                                sampling=Sampling(0.7, seed=100 * run)))
            rows["batched"].append((time.perf_counter() - started, batch.output_tokens
                                    or sum(len(t) // 4 for t in batch.texts)))
        started = time.perf_counter()
        text, tokens = asyncio.run(one_reply(model, repair, system, 0.0, 0))
        rows["repair"].append((time.perf_counter() - started, tokens))
        greedy["repair"] = text
        if model.parallel > 1:
            # What verification sends after a failure: a repair and N-1 fresh draws, together
            # (two requests in the server's slots) or one after the other.
            asyncio.run(one_reply(model, messages, system, 0.0, 0))  # the state after round 1

            async def mixed(run: int = run) -> int:
                fixed, batch = await asyncio.gather(
                    one_reply(model, repair, system, 0.7, run),
                    model.draw_many(messages, system, n=draws - 1,
                                    sampling=Sampling(0.7, seed=100 * run + 1)))
                return fixed[1] + batch.output_tokens

            started = time.perf_counter()
            tokens = asyncio.run(mixed())
            rows["mixed"].append((time.perf_counter() - started, tokens))
            asyncio.run(one_reply(model, messages, system, 0.0, 0))

            async def mixed_serial(run: int = run) -> int:
                fixed = await one_reply(model, repair, system, 0.7, run)
                batch = await model.draw_many(messages, system, n=draws - 1,
                                              sampling=Sampling(0.7, seed=100 * run + 1))
                return fixed[1] + batch.output_tokens

            started = time.perf_counter()
            tokens = asyncio.run(mixed_serial())
            rows["mixed_serial"].append((time.perf_counter() - started, tokens))
    out: dict[str, Any] = {"config": config, "parallel": model.parallel, "greedy": greedy}
    for key, samples in rows.items():
        if not samples:
            continue
        seconds = statistics.median(s for s, _ in samples)
        tokens = statistics.median(t for _, t in samples)
        out[key] = {"seconds": round(seconds, 2), "tokens": tokens,
                    "tokens_per_second": round(tokens / seconds, 1) if seconds else None,
                    "runs": [[round(s, 2), t] for s, t in samples]}
    return out


def markdown(data: dict[str, Any]) -> str:
    lines = [f"{data['meta']['date']}, {data['meta']['machine']}, {data['meta']['draws']} draws, "
             f"median of {data['meta']['runs']} runs; seconds (output tokens/s):", "",
             "| config | one reply | N one at a time | N batched | repair reply "
             "| repair + N-1 draws together | repair, then N-1 draws |",
             "|---|---|---|---|---|---|---|"]
    for row in data["results"]:
        if "error" in row:
            lines.append(f"| {row['config']} | {row['error']} | | | | | |")
            continue

        def cell(key: str, row: dict[str, Any] = row) -> str:
            value = row.get(key)
            if not value:
                return "-"
            if key == "batched":  # llama.cpp's usage counts only the first of the n sequences
                return str(value["seconds"])
            return f"{value['seconds']} ({value['tokens_per_second']})"

        lines.append(f"| {row['config']} | {cell('one')} | {cell('sequential')} | "
                     f"{cell('batched')} | {cell('repair')} | {cell('mixed')} | "
                     f"{cell('mixed_serial')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--draws", type=int, default=3, help="N: candidates per batch")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one config here
    args = parser.parse_args(argv)
    from agentcode.models.local_server import default_threads

    threads = args.threads or default_threads()
    if args.one:
        print(json.dumps(measure(args.one, args.runs, args.draws, threads)))
        return 0
    results: list[dict[str, Any]] = []
    data: dict[str, Any] = {
        "meta": {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                 "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start",
                 **commit(), "load_average_start": load_average(),
                 "threads": threads, "runs": args.runs, "draws": args.draws},
        "results": results,
    }
    for config in [c.strip() for c in args.configs.split(",") if c.strip()]:
        command = [sys.executable, __file__, "--one", config, "--runs", str(args.runs),
                   "--draws", str(args.draws), "--threads", str(threads)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            results.append({"config": config, "error": done.stderr.strip().splitlines()[-1:]})
        else:
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        row = results[-1]
        print(config, {k: (v["seconds"], v["tokens"]) for k, v in row.items()
                       if isinstance(v, dict) and "seconds" in v} or row.get("error"),
              file=sys.stderr, flush=True)
        if args.json:  # after every configuration: an interrupted run keeps what it measured
            args.json.write_text(json.dumps(dict(data, results=results), indent=1) + "\n",
                                 encoding="utf-8")
    base = next((r for r in results if r["config"] == "base" and "greedy" in r), None)
    for row in results:
        if base is not None and "greedy" in row:
            row["same_greedy_as_base"] = {key: row["greedy"].get(key) == text
                                          for key, text in base["greedy"].items()}
    if args.json:
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
