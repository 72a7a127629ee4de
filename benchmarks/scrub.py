"""What redacting secrets costs a history entry (agentcode.store.scrub).

    python benchmarks/scrub.py [--runs N] [--json]

For each kind of text an entry holds, the median time of `scrub.clean` (redact, then cap) against
two baselines measured in the same run, interleaved: `scrub.cap` alone (storing without
redaction) and the AWS-only redaction agentcode had before `agentcode.secrets` (two patterns:
access key ids and named AWS secrets, copied below); plus one read of the environment's secret
values (done once per entry). The texts: a short program output, a 60 KB access log (no
secrets), a 60 KB env dump with secrets in it, and one 60 KB line with no spaces (the shape that
makes an unbounded name pattern quadratic). The machine's load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import timeit

from agentcode import secrets
from agentcode.store import scrub

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results_file import Recorder  # noqa: E402

# The redaction before agentcode.secrets: AWS access key ids and named AWS secrets only.
_OLD_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
_OLD_NAMED = re.compile(
    r"""(?ix)(\b(?:aws_?(?:secret_access_key|secret_key|session_token|security_token)
    |SecretAccessKey|SessionToken)['"]?\s*[:=]\s*['"]?)[^\s'",;}]+"""
)


def aws_only_clean(text: str) -> tuple[str, int]:
    text = _OLD_KEY_ID.sub("[REDACTED]", text)
    return scrub.cap(_OLD_NAMED.sub(lambda m: m.group(1) + "[REDACTED]", text),
                     scrub.OUTPUT_CAP_BYTES)


TEXTS = {
    "short output (90 B)": "total: 42\nmean 3.5\nmax 17\n" * 3,
    "access log (60 KB)": ("10.0.0.7 - - [01/Dec/2026] GET /index.html 200 1532 Mozilla/5.0\n"
                           * 1000)[:60_000],
    "env dump with secrets (60 KB)": (
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG GITHUB_TOKEN=ghp_"
        + "a" * 36 + " HOME=/home/u PATH=/usr/bin LANG=C.UTF-8\n") * 500,
    "one long word (60 KB)": "x" * 60_000,
}


def median_us(call: object, number: int, runs: int) -> float:
    times = timeit.repeat(call, number=number, repeat=runs)  # type: ignore[arg-type]
    return statistics.median(times) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", default=None,
                        help="results file (default benchmarks/results/speed-scrub.json)")
    args = parser.parse_args()
    recorder = Recorder("scrub")
    known = secrets.secret_values()
    rows = []
    for label, text in TEXTS.items():
        number = 2000 if len(text) < 1000 else 20
        bases, befores, cleans = [], [], []
        for _ in range(args.runs):  # interleaved: background load hits all three alike
            bases.append(median_us(lambda t=text: scrub.cap(t, scrub.OUTPUT_CAP_BYTES), number, 1))
            befores.append(median_us(lambda t=text: aws_only_clean(t), number, 1))
            cleans.append(median_us(
                lambda t=text: scrub.clean(t, scrub.OUTPUT_CAP_BYTES, known), number, 1))
        # medians of the runs: one run slowed by a neighbour does not move the result
        base, before, clean = (statistics.median(x) for x in (bases, befores, cleans))
        rows.append({"text": label, "cap_us": round(base, 1), "aws_only_us": round(before, 1),
                     "redact_and_cap_us": round(clean, 1),
                     "vs_aws_only": round(clean / before, 2)})
    env_us = median_us(secrets.secret_values, 200, args.runs)
    result = {"rows": rows, "secret_values_us": round(env_us, 1), "env_vars": len(os.environ),
              "load_average": os.getloadavg()[0]}
    path = recorder.write(result, args.out)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{'text':<32}{'cap only':>11}{'AWS-only':>12}{'now':>12}{'now/AWS-only':>14}")
    for row in rows:
        print(f"{row['text']:<32}{row['cap_us']:>9.1f}us{row['aws_only_us']:>10.1f}us"
              f"{row['redact_and_cap_us']:>10.1f}us{row['vs_aws_only']:>13.2f}x")
    print(f"environment's secret values, once per entry ({len(os.environ)} variables): "
          f"{env_us:.1f} us; load average {result['load_average']:.2f}")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
