"""Generate a program, look at it, run it in the sandbox: the two calls under the CLI.

    python examples/library/generate_and_execute.py ["a request"]

With no configuration the embedded model writes the code (offline); `AGENTCODE_MODEL=bedrock`
or `-m`-style names in `generate(..., model=...)` choose another.
"""

from __future__ import annotations

import sys

import agentcode


def main(request: str) -> int:
    generation = agentcode.generate(request)
    print(f"# written by {generation.model_id}", file=sys.stderr)
    print(generation.code, file=sys.stderr)
    result = agentcode.execute(generation.code)
    print(result.stdout, end="")
    if not result.ok:  # the code's own failure is data: the traceback and its exit code
        print(result.stderr, end="", file=sys.stderr)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(" ".join(sys.argv[1:]) or "print the first 10 prime numbers, one per line"))
