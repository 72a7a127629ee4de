"""Prompt -> model chain -> one runnable Python program.

`generate` builds a short system prompt meant for small local models too (they do not call tools:
they are asked for exactly one fenced ```python block), sends the task with an optional data
context and earlier turns, and lets `agentcode.models.router` pick the model, retry, re-ask and
fall back. The reply's code is extracted and checked to compile (`agentcode.extract`).

Hooks for later features:

- ``history``: earlier turns of a conversation (a Session), as strands messages
  ``[{"role": "user" | "assistant", "content": [{"text": ...}]}, ...]``, oldest first, ending
  with an assistant turn; the new prompt is appended as the next user turn.
- verify/repair: a caller can run the code and call `generate` again with the failure as the
  prompt and the previous exchange as ``history``, recording each candidate in
  ``Generation.rounds``; `build_messages` and `extract_code` are public for that.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentcode.errors import UsageError
from agentcode.extract import extract_code
from agentcode.types import Generation

if TYPE_CHECKING:
    from strands.models.model import Model
    from strands.types.content import Messages

    from agentcode.config import Settings
    from agentcode.models.router import RestartCallback, RetryPolicy, TokenCallback
    from agentcode.models.sampling import Sampling
    from agentcode.sandbox.base import SandboxSession

SYSTEM_PROMPT = """\
You write complete Python 3 programs. Reply with exactly one ```python code block and nothing else.
The program runs unattended in a pipeline:
- read input from stdin, files or sys.argv; never call input()
- print only the results to stdout
- on failure, print the error to stderr and exit with a non-zero status
- use only the standard library unless the task names a package"""

SAMPLE_BYTES = 4096
SAMPLE_LINES = 50

def build_system_prompt(extra: str | None = None) -> str:
    """The built-in system prompt, with the user's extra instructions (``--system``) appended."""
    if extra and extra.strip():
        return f"{SYSTEM_PROMPT}\n\nAlso follow these instructions:\n{extra.strip()}"
    return SYSTEM_PROMPT


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


async def agenerate(
    prompt: str,
    *,
    model: str | Model | Sequence[str | Model] | None = None,
    system: str | None = None,
    context: str | None = None,
    history: Messages | None = None,
    settings: Settings | None = None,
    on_token: TokenCallback | None = None,
    on_restart: RestartCallback | None = None,
    policy: RetryPolicy | None = None,
    sampling: Sampling | None = None,
) -> Generation:
    """The async form of `generate`."""
    from agentcode.config import load_settings
    from agentcode.models.registry import candidates_for
    from agentcode.models.router import RetryPolicy, route

    if not prompt or not prompt.strip():
        raise UsageError("empty prompt: say what the program should do")
    settings = settings or load_settings()
    candidates = candidates_for(model, settings)
    started = time.monotonic()
    reply = await route(
        candidates,
        build_messages(prompt, context=context, history=history),
        system_prompt=build_system_prompt(system),
        accept=extract_code,
        policy=policy or RetryPolicy.from_settings(settings),
        on_token=on_token,
        on_restart=on_restart,
        sampling=sampling,
    )
    generation = Generation(
        code=reply.code,
        model_id=reply.model,
        prompt=prompt,
        attempts=reply.attempts,
        usage=reply.usage,
        duration_ms=round((time.monotonic() - started) * 1000, 1),
    )
    _record_history(generation, settings)
    return generation


def generate(
    prompt: str,
    *,
    model: str | Model | Sequence[str | Model] | None = None,
    system: str | None = None,
    context: str | None = None,
    history: Messages | None = None,
    settings: Settings | None = None,
    on_token: TokenCallback | None = None,
    on_restart: RestartCallback | None = None,
    policy: RetryPolicy | None = None,
    sampling: Sampling | None = None,
    verify: bool = False,
    tests: str | os.PathLike[str] | None = None,
    check: str | None = None,
    max_repairs: int = 2,
    stdin: bytes | str | os.PathLike[str] | None = None,
    files: Mapping[str, bytes] | Sequence[str | os.PathLike[str]] | None = None,
    sandbox: SandboxSession | str | None = None,
) -> Generation:
    """Write a Python program for ``prompt``.

    ``model``: a name (``"local"``, ``"bedrock"``, ``"bedrock:<id>"``, ``"local:<name or path>"``,
    comma-separated for a chain), a list of names, or a strands ``Model``; default: the
    configured chain (``settings.model``). ``system``: extra instructions appended to the
    built-in system prompt. ``context``: a description or sample of the input data (see
    `describe_input`). ``history``: earlier turns (see the module docstring). ``on_token`` gets
    the reply's text as it streams; ``on_restart`` is called when streamed text is void because
    that call failed and another starts. ``sampling`` (`agentcode.models.sampling.Sampling`)
    sets the temperature and seed of this call only; default: each model's own (greedy locally).

    ``verify=True`` (implied by ``tests`` or ``check``) runs each candidate in the sandbox with
    ``stdin`` and ``files``, then the ``tests`` (a ``Path`` to a test file, or test source) and
    the ``check`` expression, and repairs failures up to ``max_repairs`` times; see
    `agentcode.verify.generate_verified`. The result's ``verified`` and ``rounds`` say how it went.

    Raises `UsageError` for an empty prompt, `ConfigError` for an unknown model name, and
    `ModelError` (`ModelUnavailableError` when nothing is usable here) when no model answers.
    """
    if verify or tests is not None or check is not None:
        from agentcode.store.context import paused
        from agentcode.verify import generate_verified

        with paused():  # the candidates are not history; the verified result is, below
            generation = generate_verified(
                prompt, tests=tests, check=check, max_repairs=max_repairs, stdin=stdin,
                files=files, sandbox=sandbox, settings=settings, context=context,
                history=history, model=model, system=system, on_token=on_token,
                on_restart=on_restart, policy=policy, sampling=sampling,
            )
        _record_history(generation, settings)
        return generation
    coroutine = agenerate(
        prompt, model=model, system=system, context=context, history=history,
        settings=settings, on_token=on_token, on_restart=on_restart, policy=policy,
        sampling=sampling,
    )
    return _run(coroutine)


def _run(coroutine: Any) -> Generation:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)  # type: ignore[no-any-return]
    # Called from async code (a notebook, an async app): run on a private loop in a thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # copy_context: the history scope (agentcode.store.context) follows into the thread.
        context = contextvars.copy_context()
        return pool.submit(context.run, asyncio.run, coroutine).result()  # type: ignore[arg-type]


def _record_history(generation: Generation, settings: Settings | None) -> None:
    """One history entry per generation (see agentcode.store); a broken store only warns."""
    from agentcode.store.context import is_paused

    if is_paused():
        return
    from agentcode.config import load_settings

    settings = settings or load_settings()
    if settings.history:
        from agentcode.store import record_generation_safely

        record_generation_safely(settings, generation)
