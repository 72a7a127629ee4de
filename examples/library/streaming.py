"""Callbacks while things happen: the model's reply as it is written (on_token), then the
program's output as it runs (on_stdout / on_stderr), rather than all at the end.

    python examples/library/streaming.py
"""

from __future__ import annotations

import sys

import agentcode


def main() -> int:
    def token(text: str) -> None:
        sys.stderr.write(text)  # the reply streams in, fences and all

    def restart(reason: str) -> None:
        sys.stderr.write(f"\n[restarting: {reason}]\n")  # what streamed so far is void

    generation = agentcode.generate(
        "count down from 3 to 1, one number per line, sleeping 0.2 s between lines",
        on_token=token, on_restart=restart)
    sys.stderr.write("\n")
    lines: list[str] = []

    def stdout(text: str) -> None:
        lines.append(text)
        print(f"[live] {text}", end="", flush=True)

    result = agentcode.execute(generation.code, on_stdout=stdout,
                               on_stderr=lambda text: sys.stderr.write(text))
    assert "".join(lines) == result.stdout  # the same text, once it is all in
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
