"""Results files for the speed benchmarks: every figure with the commit and the machine's load.

    from results_file import Recorder
    recorder = Recorder("sandbox")          # reads the load average now
    ...
    path = recorder.write(results, out)     # benchmarks/results/speed-sandbox.json by default

The file holds the results as measured plus: the commit (and whether the tree had changes),
the load average at the start and at the end, the UTC time, CPUs, Python, the command line.
The machine is shared: the load average says whether the numbers are a quiet machine's.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None,
            "changes": bool(git("status", "--porcelain", "--untracked-files=no"))}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.time()
        self.load_start = load_average()

    def write(self, results: dict[str, Any], out: str | Path | None = None) -> Path:
        path = Path(out) if out else RESULTS / f"speed-{self.name}.json"
        document = {
            "benchmark": self.name,
            **commit(),
            "measured_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime(self.started)),
            "load_average_start": self.load_start,
            "load_average_end": load_average(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "command": " ".join(["python", *sys.argv]),
            "results": results,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return path
