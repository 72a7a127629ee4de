"""Ask a chain of models for a program: retry each on transient errors, fall back to the next.

Why not strands' ``ModelRouter`` + ``FallbackStrategy`` and ``ModelRetryStrategy``? They are hooks
of an ``Agent`` event loop, and read against what agentcode needs they do not fit:

- a "no usable Python" reply is a *successful* model call to strands, so the router never re-asks
  or falls back on it, and we need both (one re-ask to the same model, then the next model);
- ``FallbackStrategy`` advances on any error the retry hook declines, including "no credentials",
  which must stop the provider's whole chain and tell the user what to configure;
- the router keeps no per-attempt record we can return (duration, retries, reason), and its own
  docs name the double-streaming of a partial answer as a known limitation;
- ``ModelRetryStrategy`` retries only ``ModelThrottledException`` (not 5xx, timeouts or resets),
  with integer delays, no jitter and no bound on total time;
- an ``Agent`` brings a conversation manager, tools and telemetry a one-shot prompt does not need.

So this module is a small explicit loop over candidates that calls each strands ``Model.stream``
directly (the model classes are still strands', so any strands provider plugs in), with tenacity
for the same-model retry (`agentcode.aws.retry.RetryPolicy`, the one policy, also AgentCore's).
The verdict for each exception lives in `agentcode.models.failures`.

Streaming: tokens go to ``on_token`` as they arrive. When a call that already streamed text fails
(or its reply is unusable), ``on_restart`` is called once before the next call starts, so a
display can throw the partial answer away instead of showing it twice.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentcode.aws.retry import RetryPolicy
from agentcode.errors import AgentcodeError, ModelError, ModelUnavailableError, NoUsableCodeError
from agentcode.models.extract import UnusableReply
from agentcode.models.failures import Failure, Verdict, classify
from agentcode.types import Attempt

if TYPE_CHECKING:
    from strands.models.model import Model
    from strands.types.content import Messages

    from agentcode.models.sampling import Sampling

_UNUSABLE = "no usable Python"
TokenCallback = Callable[[str], None]
RestartCallback = Callable[[str], None]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class Candidate:
    """One model in the chain. ``load`` builds it on first use (local weights, boto clients).

    ``group`` names what candidates share (``"bedrock"``: one set of credentials), so an error the
    user must fix skips the rest of the group; ``hint`` tells the user how to fix such an error.
    """

    name: str
    load: Callable[[], Model]
    group: str = ""
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class Tried:
    """A model of the chain that gave no reply to use: which, why, and how to fix it.
    ``unusable``: it answered, but the answer held no usable code (the code failed, not the
    model)."""

    name: str
    failure: Failure
    hint: str | None = None
    unusable: bool = False


@dataclass(slots=True)
class RoutedReply:
    text: str
    code: str
    model: str
    attempts: list[Attempt] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)


# A re-ask is drawn at this temperature (unless the call already samples hotter): a greedy
# re-ask of the same conversation tends to return the same unusable reply.
REASK_TEMPERATURE = 0.7
REASK = (
    "Your reply could not be used: {reason}. Reply with the complete program in exactly one "
    "```python code block."
)


@dataclass(slots=True)
class _Stream:
    """Callbacks plus the one bit of state they need: did the screen get text we must retract?"""

    on_token: TokenCallback | None
    on_restart: RestartCallback | None
    dirty: bool = False

    def token(self, text: str) -> None:
        self.dirty = True
        if self.on_token is not None:
            self.on_token(text)

    def restart(self, why: str) -> None:
        if self.dirty and self.on_restart is not None:
            self.on_restart(why)
        self.dirty = False


class Router:
    """Runs the chain for one request. Use `route` unless you need the pieces."""

    def __init__(
        self,
        candidates: Sequence[Candidate],
        *,
        policy: RetryPolicy | None = None,
        accept: Callable[[str], str],
        sleep: Sleep | None = None,
        sampling: Sampling | None = None,
    ) -> None:
        if not candidates:
            raise ModelError("no model configured: pass -m local or -m bedrock")
        self.candidates = list(candidates)
        self.policy = policy or RetryPolicy()
        self.accept = accept
        self.sleep: Sleep = sleep or asyncio.sleep
        self.cancel = threading.Event()
        self.sampling = sampling

    async def run(
        self,
        messages: Messages,
        *,
        system_prompt: str | None,
        on_token: TokenCallback | None = None,
        on_restart: RestartCallback | None = None,
    ) -> RoutedReply:
        stream = _Stream(on_token, on_restart)
        attempts: list[Attempt] = []
        tried: list[Tried] = []
        usage: dict[str, int] = {}
        blocked: dict[str, Failure] = {}  # group -> the user-fix failure that closed it
        try:
            for candidate in self.candidates:
                if candidate.group and candidate.group in blocked:
                    skipped = blocked[candidate.group]
                    attempts.append(Attempt(candidate.name, f"skipped: {skipped.reason}"))
                    tried.append(Tried(candidate.name, skipped, candidate.hint))
                    continue
                started = time.monotonic()
                retries = [0]
                label = [candidate.name]  # refined once the model is loaded (local:<weights>)
                try:
                    text, code = await self._ask(candidate, messages, system_prompt, stream, usage,
                                                 retries, label)
                except Exception as exc:  # UnusableReply included
                    if isinstance(exc, AgentcodeError) and not isinstance(exc, ModelError):
                        raise  # bad configuration: no other model fixes it
                    unusable = isinstance(exc, UnusableReply)
                    failure = (
                        Failure(Verdict.FALLBACK, f"{_UNUSABLE}: {exc}")
                        if unusable
                        else classify(exc)
                    )
                    if failure.verdict is Verdict.RETRY:
                        failure = Failure(
                            Verdict.FALLBACK,
                            f"{failure.reason} (gave up after {retries[0] + 1} attempts)",
                        )
                    attempts.append(Attempt(label[0], failure.reason, _ms(started), retries[0]))
                    tried.append(Tried(label[0], failure, candidate.hint, unusable))
                    if failure.verdict is Verdict.USER_FIX and candidate.group:
                        blocked[candidate.group] = failure
                    stream.restart(f"{label[0]} failed ({failure.reason}); trying the next model")
                    continue
                attempts.append(Attempt(label[0], None, _ms(started), retries[0]))
                return RoutedReply(text, code, label[0], attempts, usage)
        except BaseException:
            self.cancel.set()  # lets a Bedrock stream thread stop at its next chunk
            raise
        raise _final_error(tried, attempts)

    async def _ask(
        self,
        candidate: Candidate,
        messages: Messages,
        system_prompt: str | None,
        stream: _Stream,
        usage: dict[str, int],
        retries: list[int],
        label: list[str],
    ) -> tuple[str, str]:
        """The reply's text and code; ``label[0]`` becomes the model's refined name (the
        candidate itself is not changed: it may be asked again, by another request)."""
        model = candidate.load()
        label[0] = refined_name(candidate.name, model)
        conversation = list(messages)
        for reask in range(self.policy.reasks + 1):
            sampling = self.sampling if reask == 0 else self._reask_sampling(reask)
            call = functools.partial(self._call, model, conversation, system_prompt, stream,
                                     usage, sampling)
            text = await self._with_retries(call, stream=stream, retries=retries, name=label[0])
            try:
                return text, self.accept(text)
            except UnusableReply as exc:
                if reask == self.policy.reasks:
                    raise
                stream.restart(f"{label[0]} gave no usable Python ({exc}); asking again")
                conversation = [
                    *conversation,
                    {"role": "assistant", "content": [{"text": text or "(empty reply)"}]},
                    {"role": "user", "content": [{"text": REASK.format(reason=exc)}]},
                ]
        raise AssertionError("unreachable")

    def _reask_sampling(self, reask: int) -> Sampling:
        from agentcode.models.sampling import Sampling

        if self.sampling is not None and self.sampling.temperature >= REASK_TEMPERATURE:
            return self.sampling
        base_seed = self.sampling.seed if self.sampling and self.sampling.seed is not None else 0
        return Sampling(REASK_TEMPERATURE, seed=base_seed + 1000 + reask)

    async def _with_retries(self, call: Callable[[], Awaitable[str]], *, stream: _Stream,
                            retries: list[int], name: str) -> str:
        """``call()`` again while it fails in a way worth retrying (`classify`), as the policy
        allows; each retry counted in ``retries[0]`` and said on ``stream``."""
        from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

        policy = self.policy

        def before_sleep(state: RetryCallState) -> None:
            retries[0] += 1
            error = state.outcome.exception() if state.outcome else None
            reason = classify(error).reason if error else "error"
            stream.restart(f"{name} failed ({reason}); retrying")

        retrying = AsyncRetrying(
            stop=policy.stop(),
            wait=policy.wait(),
            retry=retry_if_exception(lambda exc: classify(exc).verdict is Verdict.RETRY),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await call()
        raise AssertionError("unreachable")

    async def _call(
        self,
        model: Model,
        messages: Messages,
        system_prompt: str | None,
        stream: _Stream,
        usage: dict[str, int],
        sampling: Sampling | None,
    ) -> str:
        from agentcode.models.sampling import sampling_applied

        stream.restart("starting over")
        parts: list[str] = []
        with sampling_applied(model, sampling):
            events = model.stream(messages, None, system_prompt, cancel_signal=self.cancel)
            async for event in events:
                text = _delta_text(event)
                if text:
                    parts.append(text)
                    stream.token(text)
                _add_usage(usage, event)
        return "".join(parts)


async def route(
    candidates: Sequence[Candidate],
    messages: Messages,
    *,
    system_prompt: str | None,
    accept: Callable[[str], str],
    policy: RetryPolicy | None = None,
    on_token: TokenCallback | None = None,
    on_restart: RestartCallback | None = None,
    sleep: Sleep | None = None,
    sampling: Sampling | None = None,
) -> RoutedReply:
    """The first usable reply from ``candidates``; `ModelError` listing every attempt if none.

    ``accept`` turns a reply into the value wanted (the code) or raises `UnusableReply`.
    ``sampling`` overrides each model's temperature (and seed) for these calls only.
    """
    router = Router(candidates, policy=policy, accept=accept, sleep=sleep, sampling=sampling)
    return await router.run(
        messages, system_prompt=system_prompt, on_token=on_token, on_restart=on_restart
    )


def refined_name(name: str, model: Model) -> str:
    """``local`` -> ``local:qwen2.5-coder-1.5b``: see `agentcode.models.provider.model_label`."""
    from agentcode.models.provider import model_label

    return model_label(model, name)


def _delta_text(event: Any) -> str:
    delta = event.get("contentBlockDelta", {}).get("delta", {}) if isinstance(event, dict) else {}
    text = delta.get("text")
    return text if isinstance(text, str) else ""


def _add_usage(usage: dict[str, int], event: Any) -> None:
    counts = event.get("metadata", {}).get("usage") if isinstance(event, dict) else None
    if not isinstance(counts, dict):
        return
    for key, value in counts.items():
        if isinstance(value, int):
            usage[key] = usage.get(key, 0) + value


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _final_error(tried: list[Tried], attempts: list[Attempt]) -> ModelError:
    lines = [f"  {attempt.model}: {attempt.error}" for attempt in attempts]
    if tried and all(t.unusable for t in tried):
        # Every model answered: what failed is the code they wrote, not the models.
        return NoUsableCodeError("\n".join(["the model's reply held no usable code:", *lines]),
                                 attempts)
    unavailable = all(t.failure.verdict is Verdict.USER_FIX or t.failure.unavailable
                      for t in tried)
    hints: list[str] = []
    for t in tried:
        if t.failure.verdict is Verdict.USER_FIX and t.hint and t.hint not in hints:
            hints.append(t.hint)
    head = "no model is available" if unavailable else "no model could answer"
    message = "\n".join([f"{head}:", *lines, *(f"  to fix: {hint}" for hint in hints)])
    error_class = ModelUnavailableError if unavailable else ModelError
    return error_class(message, attempts)
