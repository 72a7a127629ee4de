"""`generate(prompt)` / `agenerate(prompt)`: a sentence in, a runnable Python program out.

    >>> agentcode.generate("print the first 5 primes").code

The core (`generation.codegen`, `generation.verify`) writes and checks the code; this layer adds
the history: one entry per call, for the final result only (a verified generation's candidates
are on ``Generation.rounds``, not in the history).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentcode.errors import SandboxUnavailableError
from agentcode.generation.pipeline import Checks

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from strands.models.model import Model
    from strands.types.content import Messages

    from agentcode.config import Settings
    from agentcode.models.router import RestartCallback, RetryPolicy, TokenCallback
    from agentcode.models.sampling import Sampling
    from agentcode.sandbox.base import SandboxSession
    from agentcode.types import Generation


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
    """The async form of `generate` (without verification)."""
    from agentcode.config import load_settings
    from agentcode.generation.codegen import AskOptions, agenerate_code

    settings = settings or load_settings()
    ask = AskOptions(model=model, system=system, context=context, history=history,
                     on_token=on_token, on_restart=on_restart, policy=policy, sampling=sampling)
    generation = await agenerate_code(prompt, ask, settings=settings)
    record_generation(generation, settings)
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
    verify: bool | None = None,
    tests: str | os.PathLike[str] | None = None,
    check: str | None = None,
    max_repairs: int | None = None,
    stdin: bytes | str | os.PathLike[str] | None = None,
    files: Mapping[str, bytes] | Sequence[str | os.PathLike[str]] | None = None,
    sandbox: SandboxSession | str | None = None,
    checks: Checks | str | Sequence[str] | None = None,
) -> Generation:
    """Write a Python program for ``prompt``.

    ``model``: a name (``"local"``, ``"bedrock"``, ``"bedrock:<id>"``, ``"local:<name or path>"``,
    comma-separated for a chain), a list of names, or a strands ``Model``; default: the
    configured chain (``settings.model``). ``system``: extra instructions appended to the
    built-in system prompt. ``context``: a description or sample of the input data (see
    `generation.codegen.describe_input`). ``history``: earlier turns (see `generation.codegen`).
    ``on_token`` gets the reply's text as it streams; ``on_restart`` is called when streamed
    text is void because that call failed and another starts. ``sampling``
    (`agentcode.models.sampling.Sampling`) sets the temperature and seed of this call only;
    default: each model's own (greedy locally).

    ``verify=True`` (implied by ``tests`` or ``check``) runs each candidate in the sandbox with
    ``stdin`` and ``files``, then the ``tests`` (a ``Path`` to a test file, or test source) and
    the ``check`` expression, and repairs failures up to ``max_repairs`` times (default
    `DEFAULT_MAX_REPAIRS`); see `generation.verify.generate_verified`. Left unset (None), the
    CLI's rule applies (`agentcode.api.session.known_input_options`): with no input, a request
    that asks for output ("print ...", a question, "fibonacci numbers below 100") is run once
    with empty stdin and repaired at most `SMOKE_MAX_REPAIRS` times when it crashes or prints
    nothing; where no sandbox can run it, the code comes back unrun. ``verify=False`` never
    runs it. The result's ``verified``, ``checked`` and ``rounds`` say how it went.
    ``checks`` chooses the heuristic checks (`agentcode.generation.pipeline.Checks`, or words
    such as ``"no-output-file,output-echo"`` applied to the config file's ``checks``).

    Raises `UsageError` for an empty prompt, `ConfigError` for an unknown model name, and
    `ModelError` (`ModelUnavailableError` when nothing is usable here) when no model answers.
    """
    from agentcode.config import load_settings
    from agentcode.generation.verify import configured_checks

    settings = settings or load_settings()
    if checks is not None and not isinstance(checks, Checks):
        checks = configured_checks(settings, checks.split(",") if isinstance(checks, str)
                                   else list(checks))
    common: dict[str, Any] = dict(
        model=model, system=system, context=context, history=history, on_token=on_token,
        on_restart=on_restart, policy=policy, sampling=sampling, tests=tests, check=check,
        stdin=stdin, files=files, sandbox=sandbox, checks=checks)
    run: dict[str, Any] = {"verify": verify}
    if verify is None and stdin is None and not files and context is None and history is None:
        run.update(no_input_options(prompt, {"tests": tests, "check": check}))
    if max_repairs is not None:
        run["max_repairs"] = max_repairs
    try:
        generation = generate_unrecorded(prompt, settings=settings, **common, **run)
    except SandboxUnavailableError as exc:
        if not run.get("no_input"):
            raise
        # The run with no input is the library's bonus, not the caller's request: without a
        # sandbox the code comes back unrun (checked: "not run").
        logger.warning("not running the code: %s", exc)
        generation = generate_unrecorded(prompt, settings=settings, **common, verify=False)
    record_generation(generation, settings)
    return generation


def no_input_options(prompt: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The run with no input, as options for `generate`: when nothing says whether to verify
    (no tests, no check, no input) and ``prompt`` asks for output
    (`generation.checks.no_input.asks_for_output`), the candidate is run once with empty stdin
    and repaired at most `SMOKE_MAX_REPAIRS` times; else nothing. One rule for `generate`, `gen`
    and the server (`agentcode.api.session.known_input_options`)."""
    from agentcode.generation.checks.no_input import asks_for_output
    from agentcode.types import SMOKE_MAX_REPAIRS

    if options.get("tests") is not None or options.get("check") is not None \
            or not asks_for_output(prompt):
        return {}
    return {"verify": True, "no_input": True,
            "max_repairs": options.get("max_repairs", SMOKE_MAX_REPAIRS)}


def generate_unrecorded(
    prompt: str, *, settings: Settings, verify: bool | None = False, **options: Any
) -> Generation:
    """`generate` without the history entry (a `Session` records its own, tagged entry).

    ``options`` are `generate`'s keyword arguments, sorted here into the typed options of the
    core: `generation.codegen.AskOptions` and, when verifying, `generation.verify.VerifyOptions`.
    An unknown name is a `TypeError`, as it would be for `generate` itself.
    """
    import dataclasses

    from agentcode.generation.codegen import AskOptions, generate_code
    from agentcode.generation.verify import VerifyOptions, generate_verified

    ask_names = {f.name for f in dataclasses.fields(AskOptions)}
    verify_names = {f.name for f in dataclasses.fields(VerifyOptions)}
    unknown = set(options) - ask_names - verify_names
    if unknown:
        names = ", ".join(sorted(unknown))
        raise TypeError(f"generate() got unexpected keyword arguments: {names}")
    ask = AskOptions(**{k: v for k, v in options.items() if k in ask_names})
    checks = {k: v for k, v in options.items() if k in verify_names}
    if verify or checks.get("tests") is not None or checks.get("check") is not None:
        verification = VerifyOptions(**{k: v for k, v in checks.items() if v is not None or
                                        k not in ("max_repairs", "repair_temperature")})
        return generate_verified(prompt, verification, ask=ask, settings=settings)
    return generate_code(prompt, ask, settings=settings)


def record_generation(generation: Generation, settings: Settings) -> None:
    """One history entry for a one-shot generation (see agentcode.store); a broken store warns."""
    if settings.history:
        from agentcode.store.recording import record_generation_safely

        record_generation_safely(settings, generation)
