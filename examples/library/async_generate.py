"""From asyncio: `agenerate` is the coroutine form of `generate`; the sandbox calls block, so
they go to a worker thread and the event loop stays free.

    python examples/library/async_generate.py
"""

from __future__ import annotations

import asyncio
import sys

import agentcode


async def solve(request: str) -> str:
    generation = await agentcode.agenerate(request)
    result = await asyncio.to_thread(agentcode.execute, generation.code)
    return result.stdout.strip() if result.ok else f"failed: {result.error}"


async def main() -> int:
    answers = []
    # One request after another: the embedded model answers one request at a time anyway.
    for request in ("print 2 ** 10", "print the sum of the numbers 1 to 100"):
        answers.append(await solve(request))
    for answer in answers:
        print(answer)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
