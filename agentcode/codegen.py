"""Prompt -> model chain -> one runnable Python program (the core: it records no history).

`agenerate_code` builds a short system prompt meant for small local models too (they do not call
tools: they are asked for exactly one fenced ```python block), sends the task with an optional data
context and earlier turns, and lets `agentcode.models.router` pick the model, retry, re-ask and
fall back. The reply's code is extracted and checked to compile (`agentcode.extract`).

Hooks for later features:

- ``history``: earlier turns of a conversation (a Session), as strands messages
  ``[{"role": "user" | "assistant", "content": [{"text": ...}]}, ...]``, oldest first, ending
  with an assistant turn; the new prompt is appended as the next user turn.
- verify/repair: a caller can run the code and call `generate_code` again with the failure as the
  prompt and the previous exchange as ``history``, recording each candidate in
  ``Generation.rounds``; `build_messages` and `extract_code` are public for that
  (`agentcode.verify` does this).

The public `agentcode.generate` (in `agentcode.api.generation`) adds verification and history.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import dataclasses
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from agentcode.errors import UsageError
from agentcode.extract import extract_code
from agentcode.types import Generation

if TYPE_CHECKING:
    from strands.models.model import Model
    from strands.types.content import Messages

    from agentcode.config import Settings
    from agentcode.models.router import RestartCallback, RetryPolicy, TokenCallback
    from agentcode.models.sampling import Sampling

SYSTEM_PROMPT = """\
You write complete Python 3 programs. Reply with exactly one ```python code block and nothing else.
The program runs unattended in a pipeline:
- read input from stdin, files or sys.argv; never call input()
- print only the results to stdout
- on failure, print the error to stderr and exit with a non-zero status
- use only the standard library unless the task names a package"""
# The rule above that `build_system_prompt` replaces when the sandbox has packages installed.
STDLIB_RULE = "- use only the standard library unless the task names a package"

SAMPLE_BYTES = 4096
SAMPLE_LINES = 50


def build_system_prompt(extra: str | None = None, *,
                        packages: Sequence[str] = ()) -> str:
    """The built-in system prompt, with the user's extra instructions (``--system``) appended.

    ``packages``: third-party packages the sandbox has; the model is told it may import them
    (and only them) instead of "standard library only".
    """
    prompt = SYSTEM_PROMPT
    if packages:
        from agentcode.sandbox.packages import packages_rule

        rule = packages_rule(packages)
        prompt = (prompt.replace(STDLIB_RULE, rule) if STDLIB_RULE in prompt
                  else f"{prompt}\n{rule}")
    if extra and extra.strip():
        return f"{prompt}\n\nAlso follow these instructions:\n{extra.strip()}"
    return prompt


def build_messages(
    prompt: str, *, context: str | None = None, history: Messages | None = None
) -> Messages:
    """``history`` followed by one user turn: the task, then the data context if any."""
    text = prompt.strip()
    if context and context.strip():
        text = f"{text}\n\nInput data: {context.strip()}"
    messages: Messages = [dict(m) for m in history or []]  # type: ignore[misc]
    messages.append({"role": "user", "content": [{"text": text}]})
    return messages


def describe_input(
    data: bytes,
    *,
    total_bytes: int | None = None,
    total_lines: int | None = None,
    truncated: bool = False,
    source: str = "stdin",
) -> str:
    """A bounded sample of the program's real input plus its size, as a data context.

    The model sees the first `SAMPLE_LINES` lines / `SAMPLE_BYTES` bytes and is told the code
    must read the whole input from ``source`` rather than embed the sample. ``data`` may be
    only the head of the input when ``total_bytes`` / ``total_lines`` give the real size.
    """
    total = len(data) if total_bytes is None else total_bytes
    head = data[:SAMPLE_BYTES]
    lines = head.split(b"\n")
    shown = b"\n".join(lines[:SAMPLE_LINES])
    text = shown.decode("utf-8", errors="replace")
    partial = len(shown) < total or truncated
    size = f"more than {total:,} bytes" if truncated else f"{total:,} bytes"
    if total_lines is None:
        total_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    line_count = "" if truncated else f", {total_lines:,} lines"
    if not data:
        return f"the program reads {source}, which is empty here."
    which = "the beginning is shown" if partial else "all of it is shown"
    fence = "```"
    while fence in text:
        fence += "`"
    return (
        f"the program reads it from {source} ({size}{line_count}; {which}). "
        f"Read the real input from {source}; do not copy this sample into the code.\n"
        f"{fence}text\n{text.rstrip(chr(10))}\n{fence}"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AskOptions:
    """How to ask the model chain: what `generate`, `agenerate` and every round of
    `agentcode.verify.generate_verified` share (see `agentcode.generate` for each field)."""

    model: str | Model | Sequence[str | Model] | None = None
    system: str | None = None
    context: str | None = None
    history: Messages | None = None
    on_token: TokenCallback | None = None
    on_restart: RestartCallback | None = None
    policy: RetryPolicy | None = None
    sampling: Sampling | None = None

    def but(self, **changes: Any) -> AskOptions:
        """A copy with ``changes`` (e.g. a repair round's history and sampling)."""
        return dataclasses.replace(self, **changes)


async def agenerate_code(
    prompt: str, ask: AskOptions | None = None, *, settings: Settings | None = None
) -> Generation:
    """Ask the model chain for a program (records nothing: see `agentcode.generate`).

    The model is told what the code may import besides the standard library: what the
    configured sandbox has (`agentcode.sandbox.packages.importable_packages`).
    """
    from agentcode.config import load_settings
    from agentcode.models.registry import candidates_for
    from agentcode.models.router import RetryPolicy, route

    if not prompt or not prompt.strip():
        raise UsageError("empty prompt: say what the program should do")
    ask = ask or AskOptions()
    settings = settings or load_settings()
    candidates = candidates_for(ask.model, settings)
    from agentcode.sandbox.packages import importable_packages

    packages = importable_packages(settings.sandbox, settings)
    started = time.monotonic()
    reply = await route(
        candidates,
        build_messages(prompt, context=ask.context, history=ask.history),
        system_prompt=build_system_prompt(ask.system, packages=packages),
        accept=extract_code,
        policy=ask.policy or RetryPolicy.from_settings(settings),
        on_token=ask.on_token,
        on_restart=ask.on_restart,
        sampling=ask.sampling,
    )
    return Generation(
        code=reply.code,
        model_id=reply.model,
        prompt=prompt,
        attempts=reply.attempts,
        usage=reply.usage,
        duration_ms=round((time.monotonic() - started) * 1000, 1),
    )


def generate_code(
    prompt: str, ask: AskOptions | None = None, *, settings: Settings | None = None
) -> Generation:
    """The blocking form of `agenerate_code`."""
    return run_sync(agenerate_code(prompt, ask, settings=settings))


T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end, also when called from async code (a notebook, an app)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Inside a running loop: run on a private loop in a thread, with the caller's context vars.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        context = contextvars.copy_context()
        return pool.submit(context.run, asyncio.run, coroutine).result()
