"""Prompt -> model chain -> one runnable Python program (the core: it records no history).

`agenerate_code` builds a short system prompt meant for small local models too (they do not call
tools: they are asked for exactly one fenced ```python block), sends the task with an optional data
context and earlier turns, and lets `agentcode.models.router` pick the model, retry, re-ask and
fall back. The reply's code is extracted and checked to compile (`agentcode.models.extract`).

Hooks for later features:

- ``history``: earlier turns of a conversation (a Session), as strands messages
  ``[{"role": "user" | "assistant", "content": [{"text": ...}]}, ...]``, oldest first, ending
  with an assistant turn; the new prompt is appended as the next user turn.
- verify/repair: a caller can run the code and call `generate_code` again with the failure as the
  prompt and the previous exchange as ``history``, recording each candidate in
  ``Generation.rounds``; `build_messages` and `extract_code` are public for that
  (`agentcode.generation.verify` does this).

The public `agentcode.generate` (in `agentcode.api.generation`) adds verification and history.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import dataclasses
import logging
import time
from collections.abc import Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from agentcode.errors import ModelError, UsageError
from agentcode.models.extract import extract_code
from agentcode.types import Generation, RepairRound

if TYPE_CHECKING:
    from strands.models.model import Model
    from strands.types.content import Messages

    from agentcode.config import Settings
    from agentcode.models.router import RestartCallback, RetryPolicy, TokenCallback
    from agentcode.models.sampling import Sampling

# Chosen on the task benchmark (docs/benchmarks.md): the earlier prompt's error-handling and main()
# lines made the 1.5B model write longer programs with more holes; a bare one-line prompt let it
# import packages the sandbox lacks. Keep it short: every line is read by a small model.
SYSTEM_PROMPT = """\
You write short Python 3 scripts. Reply with exactly one ```python code block and nothing else.
The script runs unattended in a pipeline:
- read the input from stdin, or from the files the task names; never call input()
- print only the result to stdout
- import every module you use
- use only the standard library unless the task names a package"""
# The rule above that `build_system_prompt` replaces when the sandbox has packages installed.
STDLIB_RULE = "- use only the standard library unless the task names a package"

logger = logging.getLogger(__name__)

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
        from agentcode.sandbox.local.packages import packages_rule

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
    max_lines: int = SAMPLE_LINES,
    profile: bool = True,
    file: str | None = None,
) -> str:
    """A bounded sample of the program's real input plus its size, as a data context.

    The model sees the first `SAMPLE_LINES` lines / `SAMPLE_BYTES` bytes and is told the code
    must read the whole input from ``source`` rather than embed the sample. ``data`` may be
    only the head of the input when ``total_bytes`` / ``total_lines`` give the real size.
    ``profile`` adds what the data is (format, header, columns and their types, keys, row
    count, how to read it: `generation.profile`), computed on the host from ``data``; ``file``
    names the work-dir file the data is (default: it comes on stdin).
    """
    total = len(data) if total_bytes is None else total_bytes
    head = data[:SAMPLE_BYTES]
    lines = head.split(b"\n")
    shown = b"\n".join(lines[:max_lines])
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
    facts = f"\n{_profile(data, source, file, complete=not truncated)}" if profile else ""
    return (
        f"the program reads it from {source} ({size}{line_count}; {which}). "
        f"Read the real input from {source}; do not copy this sample into the code.\n"
        f"{fence}text\n{text.rstrip(chr(10))}\n{fence}{facts}"
    ).rstrip()


def _profile(data: bytes, source: str, file: str | None, *, complete: bool) -> str:
    """`generation.profile`'s description of ``data``; empty if profiling fails (a bonus for
    the model: a bug in it must not stop the request)."""
    from agentcode.generation.profile import profile_data

    try:
        return profile_data(data, complete=complete).describe(source, file=file)
    except Exception:  # noqa: BLE001 - see above; logged for whoever debugs it
        logger.warning("profiling the input failed", exc_info=True)
        return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AskOptions:
    """How to ask the model chain: what `generate`, `agenerate` and every round of
    `generation.verify.generate_verified` share (see `agentcode.generate` for each field)."""

    model: str | Model | Sequence[str | Model] | None = None
    system: str | None = None
    context: str | None = None
    history: Messages | None = None
    on_token: TokenCallback | None = None
    on_restart: RestartCallback | None = None
    policy: RetryPolicy | None = None
    sampling: Sampling | None = None
    # Names that exist before the code runs (a stateful session's variables; None: unknown, so
    # the pre-flight checks no names), and whether the pre-flight runs here, a problem getting
    # a repair round (False: verification runs it, once per candidate, and repairs in its own
    # rounds).
    known_names: Collection[str] | None = ()
    preflight: bool = True
    # The sandbox backend the code will run in: the model is told its packages (None: the
    # configured one, settings.sandbox).
    sandbox: str | None = None

    def but(self, **changes: Any) -> AskOptions:
        """A copy with ``changes`` (e.g. a repair round's history and sampling)."""
        return dataclasses.replace(self, **changes)


PREFLIGHT_REPAIR = (
    "{problems}\n\nFix the code: import or define each of them. Reply with the complete "
    "corrected program in one ```python block."
)


def describe_files(files: Mapping[str, bytes], *, profile: bool = True) -> str:
    """A sample of each file the program reads (name, size, first lines, and with ``profile``
    what it is: `describe_input`), as a data context."""
    lines = max(10, SAMPLE_LINES // max(1, len(files)))
    return "\n\n".join(
        describe_input(data, source=f"the file {name}", max_lines=lines, profile=profile,
                       file=name)
        for name, data in files.items()
    )


def describe_args(args: Sequence[str], *, limit: int = 500) -> str:
    """The program's command-line arguments (its ``sys.argv[1:]``), as a data context."""
    shown = repr([str(arg) for arg in args])
    if len(shown) > limit:
        shown = shown[:limit] + "...]"
    return (f"The program is run with command-line arguments: sys.argv[1:] == {shown}. Read "
            "them from sys.argv; do not copy these values into the code.")


async def agenerate_code(
    prompt: str, ask: AskOptions | None = None, *, settings: Settings | None = None
) -> Generation:
    """Ask the model chain for a program (records nothing: see `agentcode.generate`).

    The model is told what the code may import besides the standard library: what the
    sandbox it will run in has (``ask.sandbox``, default the configured one;
    `agentcode.sandbox.local.packages.importable_packages`).

    The reply's code goes through the static pre-flight (`generation.checks.preflight`): imports
    that
    are certain are added; other undefined names are quoted back to the model in one repair
    round. That round is on ``Generation.rounds`` (stage "syntax" or "names"); the code with
    fewer problems is kept. With ``ask.preflight`` false the reply's code is returned as it
    came: the caller (verification) runs the pre-flight itself.
    """
    from agentcode.config import load_settings
    from agentcode.models.registry import candidates_for
    from agentcode.models.router import RetryPolicy, route

    if not prompt or not prompt.strip():
        raise UsageError("empty prompt: say what the program should do")
    ask = ask or AskOptions()
    settings = settings or load_settings()
    candidates = candidates_for(ask.model, settings)
    from agentcode.generation.checks.preflight import describe_problems, preflight

    started = time.monotonic()
    system_prompt, messages, modules = _request(prompt, ask, settings)
    retry = ask.policy or RetryPolicy.from_settings(settings)
    reply = await route(candidates, messages, system_prompt=system_prompt, accept=extract_code,
                        policy=retry, on_token=ask.on_token, on_restart=ask.on_restart,
                        sampling=ask.sampling)
    attempts, usage = list(reply.attempts), dict(reply.usage)
    if not ask.preflight:
        return Generation(code=reply.code, model_id=reply.model, prompt=prompt,
                          attempts=attempts, usage=usage,
                          duration_ms=round((time.monotonic() - started) * 1000, 1))
    checked = preflight(reply.code, packages=modules, defined=ask.known_names)
    model_id = reply.model
    rounds: list[RepairRound] = []
    if checked.problems:
        found = describe_problems(checked.problems)
        if ask.on_restart is not None:
            ask.on_restart(f"pre-flight: {checked.problems[0]}: asking for a fix")
        repair: Messages = [
            *messages,
            {"role": "assistant", "content": [{"text": f"```python\n{checked.code}```"}]},
            {"role": "user", "content": [{"text": PREFLIGHT_REPAIR.format(problems=found)}]},
        ]
        rounds.append(RepairRound(code=checked.code, model=reply.model, passed=False,
                                  error=found, stage=_stage(checked), kind="first"))
        try:
            fixed = await route(candidates, repair, system_prompt=system_prompt,
                                accept=extract_code, policy=retry, on_token=ask.on_token,
                                on_restart=ask.on_restart, sampling=ask.sampling)
        except ModelError as exc:  # the first answer stands; the failed round is recorded
            attempts.extend(exc.attempts)
        else:
            attempts.extend(fixed.attempts)
            for key, value in fixed.usage.items():
                usage[key] = usage.get(key, 0) + value
            rechecked = preflight(fixed.code, packages=modules, defined=ask.known_names)
            rounds.append(RepairRound(
                code=rechecked.code, model=fixed.model, passed=rechecked.ok,
                error=describe_problems(rechecked.problems) if rechecked.problems else None,
                stage=_stage(rechecked) if rechecked.problems else None, kind="repair",
            ))
            if len(rechecked.problems) <= len(checked.problems):
                checked, model_id = rechecked, fixed.model
    return Generation(
        code=checked.code,
        model_id=model_id,
        prompt=prompt,
        attempts=attempts,
        usage=usage,
        rounds=rounds,
        duration_ms=round((time.monotonic() - started) * 1000, 1),
    )


def _stage(checked: Any) -> str:
    """The stage of a pre-flight's problems, as `RepairRound.stage` records it."""
    from agentcode.generation.pipeline import Stage

    return str((checked.stage or Stage.NAMES).value)


def generate_code(
    prompt: str, ask: AskOptions | None = None, *, settings: Settings | None = None
) -> Generation:
    """The blocking form of `agenerate_code`."""
    return run_sync(agenerate_code(prompt, ask, settings=settings))


def parallel_draws(ask: AskOptions, settings: Settings, model_id: str | None = None) -> int:
    """How many candidates `adraw_codes` decodes together for this model (1: one at a time).

    ``model_id`` is the model that answered so far (a chain's fallback may have); default the
    chain's first. Only a model with ``draw_many`` (the embedded one) batches.
    """
    found = _drawing_model(ask, settings, model_id)
    return max(1, int(getattr(found[1], "parallel", 1))) if found is not None else 1


def _drawing_model(
    ask: AskOptions, settings: Settings, model_id: str | None
) -> tuple[str, Any] | None:
    """(name, model) of the chain's model that answered, when it has ``draw_many``."""
    from agentcode.models.registry import candidates_for
    from agentcode.models.router import refined_name

    candidates = candidates_for(ask.model, settings)
    chosen = next((c for c in candidates
                   if model_id is None or model_id == c.name or model_id.startswith(f"{c.name}:")),
                  None)
    if chosen is None:
        return None
    try:
        model = chosen.load()
    except Exception:  # noqa: BLE001 - a model that cannot load is drawn through the router
        return None
    if not callable(getattr(model, "draw_many", None)):
        return None
    return refined_name(chosen.name, model), model


async def adraw_codes(
    prompt: str,
    ask: AskOptions,
    *,
    n: int,
    seed: int,
    temperature: float,
    settings: Settings,
    model_id: str | None = None,
) -> list[Generation | ModelError]:
    """``n`` fresh candidates for one request, at ``temperature`` (seeds from ``seed``).

    With a model that decodes several sequences together (``draw_many``: the embedded model's
    llama.cpp slots) they come from one call that evaluates the prompt once; measured 2026-12-01
    (docs/benchmarks.md, "Drawing candidates"). Otherwise, or when that call fails, they are drawn
    one after another through the router (retries and fallback as always). A draw whose reply
    holds no usable code is a `NoUsableCodeError` in the list. The code is as the model wrote
    it: the caller runs the pre-flight, once per candidate (`generation.verify`).
    """
    from agentcode.errors import NoUsableCodeError
    from agentcode.models.sampling import Sampling

    found = _drawing_model(ask, settings, model_id) if n > 1 else None
    if found is not None and int(getattr(found[1], "parallel", 1)) > 1:
        together = await _draw_together(prompt, ask, found, n=n, settings=settings,
                                        sampling=Sampling(temperature, seed=seed))
        if together:
            return together
    results: list[Generation | ModelError] = []
    for index in range(n):
        draw = ask.but(sampling=Sampling(temperature, seed=seed + index), on_token=None,
                       preflight=False)
        try:
            results.append(await agenerate_code(prompt, draw, settings=settings))
        except ModelError as exc:
            results.append(exc)
            if not isinstance(exc, NoUsableCodeError):
                break  # the chain is failing, not the draw: do not ask n times
    return results


async def _draw_together(
    prompt: str, ask: AskOptions, found: tuple[str, Any], *, n: int, settings: Settings,
    sampling: Sampling,
) -> list[Generation | ModelError]:
    """`adraw_codes`' one call to ``draw_many``; empty when that call failed."""
    from agentcode.errors import NoUsableCodeError
    from agentcode.models.extract import UnusableReply
    from agentcode.types import Attempt

    name, model = found
    system_prompt, messages, _ = _request(prompt, ask, settings)
    started = time.monotonic()
    try:
        draws = await model.draw_many(messages, system_prompt, n=n, sampling=sampling)
    except Exception as exc:  # noqa: BLE001 - the router's path still works
        logger.info("batched draw failed (%s); drawing one at a time", exc)
        return []
    elapsed = round((time.monotonic() - started) * 1000, 1)
    usage = {"inputTokens": draws.input_tokens, "outputTokens": draws.output_tokens}
    out: list[Generation | ModelError] = []
    for index, text in enumerate(draws.texts[:n]):
        spent = elapsed if index == 0 else 0.0  # one call: its time and usage go to the first
        try:
            code = extract_code(text)
        except UnusableReply as exc:
            out.append(NoUsableCodeError(f"the model's reply held no usable code: {exc}",
                                         [Attempt(name, f"no usable Python: {exc}", spent)]))
            continue
        out.append(Generation(code=code, model_id=name, prompt=prompt,
                              attempts=[Attempt(name, None, spent)],
                              usage=usage if index == 0 else {}, duration_ms=elapsed))
    return out


def _request(prompt: str, ask: AskOptions, settings: Settings) -> tuple[str, Messages, set[str]]:
    """(system prompt, messages, importable third-party modules) of a request: what the model
    is sent, and what the pre-flight may import."""
    from agentcode.sandbox.local.packages import importable_packages

    packages = importable_packages(ask.sandbox or settings.sandbox, settings)
    system_prompt = build_system_prompt(ask.system, packages=packages)
    messages = build_messages(prompt, context=ask.context, history=ask.history)
    return system_prompt, messages, {name.lower() for name in packages}


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
