"""Embedded model benchmark: agentcode's generation path against raw xllamacpp.

    python benchmarks/gen.py [--runs N] [--json] [--model NAME_OR_GGUF] [--models-dir DIR]

Measures, as medians over --runs:
- decode tokens/s and time to first token through agentcode's path (load_local_model ->
  LocalLlamaModel.stream -> HTTP -> llama.cpp) against the same llama.cpp server called in-process
  with no HTTP (`xllamacpp.Server.handle_chat_completions`), same prompts, greedy, prompt cache
  off, runs interleaved so background load hits both alike; goal: ratio >= 0.95;
- cold model load in a fresh process: agentcode's `model.start()` (weight check + server start)
  against a bare `xllamacpp.Server(params)`;
- peak RSS of a process that loaded the model and generated;
- `agentcode gen PROMPT | agentcode run -` end to end in fresh processes (goal <= 8 s with the
  1.5B model on 2 cores); `gen` alone when `run` is not available.
The machine's load average is recorded: on a shared machine it explains outliers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results_file import Recorder  # noqa: E402

PROMPTS = [
    "Write a Python function that checks whether a string is a palindrome, and test it.",
    "Write Python that prints the first 15 Fibonacci numbers.",
    "Write Python that counts the words in a sentence and prints the three most common.",
]
SYSTEM = "You write Python. Reply with one fenced code block."
MAX_TOKENS = 128
E2E_PROMPT = "print the first 10 prime numbers, one per line"


def _load(spec: str | None, models_dir: Path | None) -> Any:
    from agentcode.config import Settings
    from agentcode.models.local import load_local_model

    return load_local_model(
        spec, Settings(), models_dir=models_dir, max_tokens=MAX_TOKENS, temperature=0.0
    )


async def _via_agentcode(model: Any, prompt: str) -> dict[str, float]:
    messages = [{"role": "user", "content": [{"text": prompt}]}]
    started = time.perf_counter()
    first = last = 0.0
    tokens = 0
    async for event in model.stream(messages, system_prompt=SYSTEM):
        if "contentBlockDelta" in event:
            last = time.perf_counter()
            first = first or last
        if "metadata" in event:
            tokens = event["metadata"]["usage"]["outputTokens"]
    return _rates(started, first, last, tokens)


def _via_raw(server: Any, prompt: str) -> dict[str, float]:
    request = {
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0,
        "cache_prompt": False,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    marks: dict[str, float] = {"first": 0.0, "last": 0.0, "tokens": 0}

    def on_chunk(chunk: dict[str, Any]) -> None:
        choices = chunk.get("choices") or []
        if choices and (choices[0].get("delta") or {}).get("content"):
            marks["last"] = time.perf_counter()
            marks["first"] = marks["first"] or marks["last"]
        if chunk.get("usage"):
            marks["tokens"] = chunk["usage"]["completion_tokens"]

    started = time.perf_counter()
    server.handle_chat_completions(request, on_chunk)
    return _rates(started, marks["first"], marks["last"], int(marks["tokens"]))


def _rates(started: float, first: float, last: float, tokens: int) -> dict[str, float]:
    decode = (tokens - 1) / (last - first) if tokens > 1 and last > first else 0.0
    return {"ttft_s": first - started, "tokens": tokens, "decode_tok_s": decode}


def throughput(spec: str | None, models_dir: Path | None, runs: int) -> dict[str, Any]:
    model = _load(spec, models_dir)
    model.update_config(params={**model.config["params"], "cache_prompt": False})
    server = model.start()._server  # the very server agentcode talks to, called without HTTP
    asyncio.run(_via_agentcode(model, "print 1"))  # warm-up
    ours: list[dict[str, float]] = []
    raw: list[dict[str, float]] = []
    for _ in range(runs):
        for prompt in PROMPTS:  # interleaved: drift in background load hits both paths
            ours.append(asyncio.run(_via_agentcode(model, prompt)))
            raw.append(_via_raw(server, prompt))
    med = {
        path: {k: statistics.median(r[k] for r in rows) for k in ("ttft_s", "decode_tok_s")}
        for path, rows in (("agentcode", ours), ("raw", raw))
    }
    same_tokens = [a["tokens"] for a in ours] == [b["tokens"] for b in raw]
    return {
        "model_id": model.model_id,
        "samples": len(ours),
        "same_token_counts": same_tokens,
        "agentcode": med["agentcode"],
        "raw_xllamacpp": med["raw"],
        "decode_ratio": med["agentcode"]["decode_tok_s"] / med["raw"]["decode_tok_s"],
        "ttft_overhead_s": med["agentcode"]["ttft_s"] - med["raw"]["ttft_s"],
    }


def child_load(spec: str | None, models_dir: Path | None, raw: bool) -> None:
    """Runs in a fresh process: time one cold load, generate a little, report peak RSS."""
    started = time.perf_counter()
    if raw:
        import xllamacpp as xlc

        from agentcode.models.local import resolve_spec
        from agentcode.models.local_server import default_threads
        from agentcode.models.weights import ensure_weights

        resolved = resolve_spec(spec, None)
        path = resolved.path or ensure_weights(resolved.weights, models_dir=models_dir)
        params = xlc.CommonParams()
        params.model.path = str(path)
        params.n_ctx = 8192
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = default_threads()
        params.verbosity = 0
        loaded = time.perf_counter()
        server = xlc.Server(params)
        load = time.perf_counter() - loaded
        _via_raw(server, PROMPTS[1])
    else:
        model = _load(spec, models_dir)
        loaded = time.perf_counter()
        model.start()
        load = time.perf_counter() - loaded
        asyncio.run(_via_agentcode(model, PROMPTS[1]))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load_s": load, "import_s": loaded - started, "peak_rss_mb": rss_mb}))


def cold_loads(spec: str | None, models_dir: Path | None, runs: int) -> dict[str, Any]:
    results: dict[str, list[dict[str, float]]] = {"agentcode": [], "raw": []}
    for _ in range(runs):
        for kind in ("agentcode", "raw"):
            args = [sys.executable, __file__, "--child-load", kind, "--model", spec or ""]
            if models_dir:
                args += ["--models-dir", str(models_dir)]
            out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
            results[kind].append(json.loads(out.strip().splitlines()[-1]))
    return {
        kind: {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        for kind, rows in results.items()
    } | {"ratio": _ratio(results, "load_s")}


def _ratio(results: dict[str, list[dict[str, float]]], key: str) -> float:
    ours = statistics.median(r[key] for r in results["agentcode"])
    return ours / statistics.median(r[key] for r in results["raw"])


def end_to_end(spec: str | None, models_dir: Path | None, runs: int) -> dict[str, Any]:
    cli = str(Path(sys.executable).with_name("agentcode"))
    path = str(_load(spec, models_dir).start().model_path)  # assembled once, outside the timing
    has_run = subprocess.run([cli, "run", "--help"], capture_output=True).returncode == 0
    times: list[float] = []
    outputs: list[str] = []
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AGENTCODE_HOME": home, "AGENTCODE_MODEL": "local",
               "AGENTCODE_LOCAL_MODEL": path}
        for _ in range(runs):
            started = time.perf_counter()
            gen = subprocess.Popen([cli, "gen", E2E_PROMPT], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, env=env)
            if has_run:
                done = subprocess.run([cli, "run", "-"], stdin=gen.stdout, capture_output=True,
                                      text=True, env=env)
                outputs.append(done.stdout)
            else:
                outputs.append(gen.communicate()[0].decode())
            gen.wait()
            times.append(time.perf_counter() - started)
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "pipeline": "gen | run" if has_run else "gen only (`run` not registered)",
        "median_s": statistics.median(times),
        "runs_s": [round(t, 2) for t in times],
        "peak_child_rss_mb": rss_mb,
        "last_output": outputs[-1][-200:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--model", default="", help="local model name or .gguf path")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--child-load", choices=["agentcode", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None,
                        help="results file (default benchmarks/results/speed-gen.json)")
    args = parser.parse_args()
    spec = args.model or None
    if args.child_load:
        child_load(spec, args.models_dir, raw=args.child_load == "raw")
        return
    recorder = Recorder("gen")
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }
    report["throughput"] = throughput(spec, args.models_dir, args.runs)
    report["cold_load"] = cold_loads(spec, args.models_dir, args.runs)
    report["end_to_end"] = end_to_end(spec, args.models_dir, args.runs)
    report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    path = recorder.write(report, args.out)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    t, c, e = report["throughput"], report["cold_load"], report["end_to_end"]
    print(f"model {t['model_id']}, {report['cpus']} CPUs, load average "
          f"{report['loadavg_before']} -> {report['loadavg_after']}")
    print(f"decode tok/s: agentcode {t['agentcode']['decode_tok_s']:.1f}, raw xllamacpp "
          f"{t['raw_xllamacpp']['decode_tok_s']:.1f}, ratio {t['decode_ratio']:.3f} "
          f"({t['samples']} samples each, same token counts: {t['same_token_counts']})")
    print(f"time to first token: agentcode {t['agentcode']['ttft_s']:.3f} s, raw "
          f"{t['raw_xllamacpp']['ttft_s']:.3f} s")
    ours = c["agentcode"]
    print(f"cold load: agentcode {ours['load_s']:.2f} s (+{ours['import_s']:.2f} s imports), "
          f"raw {c['raw']['load_s']:.2f} s, ratio {c['ratio']:.2f}")
    print(f"peak RSS: agentcode {c['agentcode']['peak_rss_mb']:.0f} MB, raw "
          f"{c['raw']['peak_rss_mb']:.0f} MB")
    print(f"{e['pipeline']}: median {e['median_s']:.2f} s, runs {e['runs_s']}, "
          f"peak child RSS {e['peak_child_rss_mb']:.0f} MB")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
