"""One generation request, built once at the public layer and run by the pipeline.

`GenerateOptions` is every option of `agentcode.generate`, typed once: `generate`, `agenerate`
and `Session.generate` take it as keyword arguments (``**options: Unpack[GenerateOptions]``),
so the three share one definition. `build_request` sorts it into a frozen `Request`: how to ask
the model (`codegen.AskOptions`: model, system, context, history, callbacks, the sandbox whose
packages the model is told) and, when the candidate is to run, what runs it
(`options.VerifyOptions`: inputs, tests, check, budget, sandbox, the heuristic checks). `run`
and `arun` are the one way a request is carried out, sync or async; both verify.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from agentcode.generation.codegen import AskOptions, agenerate_code, generate_code
from agentcode.generation.options import RoundCallback, VerifyOptions, configured_checks
from agentcode.generation.pipeline import Checks
from agentcode.generation.verify import generate_verified

if TYPE_CHECKING:
    from strands.models.model import Model
    from strands.types.content import Messages

    from agentcode.config import Settings
    from agentcode.models.router import RestartCallback, RetryPolicy, TokenCallback
    from agentcode.models.sampling import Sampling
    from agentcode.sandbox.base import SandboxSession
    from agentcode.types import Generation


class RunOptions(TypedDict, total=False):
    """What a `Session` leaves to its caller: callbacks, sampling and how the code is run."""

    on_token: TokenCallback | None
    on_restart: RestartCallback | None
    on_round: RoundCallback | None  # after each verification round (`VerifyOptions.on_round`)
    policy: RetryPolicy | None
    sampling: Sampling | None
    verify: bool | None
    tests: str | os.PathLike[str] | None
    check: str | None
    max_repairs: int | None
    stdin: bytes | str | os.PathLike[str] | None
    files: Mapping[str, bytes] | Sequence[str | os.PathLike[str]] | None
    # The program's arguments, its sys.argv[1:] (`VerifyOptions.args`): known input, as stdin.
    args: Sequence[str] | None
    sandbox: SandboxSession | str | None
    checks: Checks | str | Sequence[str] | None
    # The run with empty stdin of a request with no input (checks.no_input), as the policy of
    # `agentcode.api.generation.known_input_options` decides it.
    no_input: bool
    # Candidates in all when one passes on known input: the largest group of equal outputs
    # wins (`VerifyOptions.agreement`, generation.agreement); 1 (the default) is off.
    agreement: int
    # A failed run's repair is shown the failing frame's variables (default True).
    show_variables: bool
    # The run is the library's choice, not the caller's (`known_input_options` sets it): where
    # no sandbox can run the code, it comes back unrun (checked "not run") instead of an error,
    # and ``on_warning`` (else the log) is told why (`VerifyOptions.optional_run`).
    optional_run: bool
    on_warning: Callable[[str], None] | None


class GenerateOptions(RunOptions, total=False):
    """Every option of `agentcode.generate` (see its docstring for each)."""

    model: str | Model | Sequence[str | Model] | None
    system: str | None
    context: str | None
    history: Messages | None


@dataclass(frozen=True, slots=True)
class Request:
    """A request as the pipeline runs it: ``verify`` None means the code is written, not run."""

    prompt: str
    ask: AskOptions
    verify: VerifyOptions | None = None

    def run(self, settings: Settings) -> Generation:
        if self.verify is None:
            return generate_code(self.prompt, self.ask, settings=settings)
        return generate_verified(self.prompt, self.verify, ask=self.ask, settings=settings)

    async def arun(self, settings: Settings) -> Generation:
        if self.verify is None:
            return await agenerate_code(self.prompt, self.ask, settings=settings)
        # The loop runs the sandbox between model calls: off the event loop, in a thread.
        return await asyncio.to_thread(self.run, settings)


def build_request(
    prompt: str, options: GenerateOptions, *, settings: Settings,
    known_names: Collection[str] | None = (), no_input: bool = False,
) -> Request:
    """``options`` as a `Request`. The code runs when ``verify`` is true or tests or a check are
    given (``verify`` None counts as false here: the policy that turns it on for known input is
    the caller's, `agentcode.api.generation`). ``known_names``: names that exist before the
    code runs (a stateful session's); ``no_input``: the run with empty stdin of a request that
    asks for output (`checks.no_input`)."""
    # The type checker refuses an unknown option; this says so to callers it did not check.
    unknown = set(options) - GenerateOptions.__optional_keys__ - GenerateOptions.__required_keys__
    if unknown:
        names = ", ".join(sorted(unknown))
        raise TypeError(f"generate() got unexpected keyword arguments: {names}")
    checks = options.get("checks")
    if checks is not None and not isinstance(checks, Checks):
        checks = configured_checks(settings, checks.split(",") if isinstance(checks, str)
                                   else list(checks))
    ask = AskOptions(
        model=options.get("model"), system=options.get("system"),
        context=options.get("context"), history=options.get("history"),
        on_token=options.get("on_token"), on_restart=options.get("on_restart"),
        policy=options.get("policy"), sampling=options.get("sampling"), known_names=known_names,
    )
    tests, check = options.get("tests"), options.get("check")
    if not (options.get("verify") or tests is not None or check is not None):
        return Request(prompt, ask)
    verify = VerifyOptions(
        tests=tests, check=check, stdin=options.get("stdin"), files=options.get("files"),
        args=tuple(options.get("args") or ()),
        sandbox=options.get("sandbox"), checks=checks, no_input=no_input,
        on_round=options.get("on_round"), on_warning=options.get("on_warning"),
        optional_run=bool(options.get("optional_run")) and tests is None and check is None,
    )
    max_repairs = options.get("max_repairs")
    if max_repairs is not None:
        verify = dataclasses.replace(verify, max_repairs=max_repairs)
    if "agreement" in options or "show_variables" in options:
        verify = dataclasses.replace(verify, agreement=options.get("agreement", 1),
                                     show_variables=options.get("show_variables", True))
    return Request(prompt, ask, verify)
