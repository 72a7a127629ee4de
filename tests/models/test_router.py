"""The router: retry on transient errors, fall back on the rest, re-ask on unusable replies."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from agentcode.errors import ConfigError, ModelError, ModelUnavailableError, NoUsableCodeError
from agentcode.models.extract import extract_code
from agentcode.models.router import (
    REASK_TEMPERATURE,
    Candidate,
    RetryPolicy,
    RoutedReply,
    Router,
    route,
)
from agentcode.testing import (
    FailingModel,
    FakeModel,
    client_error,
    no_credentials,
    throttled,
)

GOOD = "Sure:\n```python\nprint('ok')\n```\n"
PROSE = "I would print ok."
FAST = RetryPolicy(attempts=4, initial_delay=0.0, max_delay=0.0, jitter=0.0, budget_seconds=60)
MESSAGES = [{"role": "user", "content": [{"text": "print ok"}]}]


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def candidate(name: str, model: object, group: str = "", hint: str | None = None) -> Candidate:
    return Candidate(name, lambda: model, group, hint)  # type: ignore[arg-type, return-value]


def run(
    candidates: Sequence[Candidate],
    policy: RetryPolicy = FAST,
    sleep: SleepRecorder | None = None,
    tokens: list[str] | None = None,
    restarts: list[str] | None = None,
) -> RoutedReply:
    return asyncio.run(
        route(
            candidates,
            MESSAGES,  # type: ignore[arg-type]
            system_prompt="sys",
            accept=extract_code,
            policy=policy,
            sleep=sleep or SleepRecorder(),
            on_token=tokens.append if tokens is not None else None,
            on_restart=restarts.append if restarts is not None else None,
        )
    )


def test_first_model_answers_and_is_recorded() -> None:
    model = FakeModel([GOOD])
    reply = run([candidate("a", model), candidate("b", FakeModel([]))])
    assert reply.code == "print('ok')\n"
    assert reply.model == "a"
    assert [(a.model, a.error, a.retries) for a in reply.attempts] == [("a", None, 0)]
    assert model.calls[0].system_prompt == "sys"
    assert reply.usage["outputTokens"] > 0


def test_throttling_is_retried_on_the_same_model_then_succeeds() -> None:
    sleep = SleepRecorder()
    model = FakeModel([throttled(), throttled(), GOOD])
    reply = run([candidate("a", model), candidate("b", FakeModel([]))], sleep=sleep)
    assert reply.model == "a"
    assert reply.attempts[0].retries == 2
    assert len(model.calls) == 3
    assert len(sleep.delays) == 2


@pytest.mark.parametrize(
    "error",
    [
        client_error("InternalServerException", "boom", 500),
        client_error("ServiceUnavailableException", "busy", 503),
        client_error("ModelNotReadyException", "loading", 429),
        TimeoutError("read timed out"),
        ConnectionResetError("reset by peer"),
    ],
    ids=["500", "503", "not-ready", "timeout", "reset"],
)
def test_transient_errors_are_retried(error: Exception) -> None:
    model = FakeModel([error, GOOD])
    reply = run([candidate("a", model)])
    assert reply.model == "a" and reply.attempts[0].retries == 1


def test_retries_exhausted_fall_back_to_the_next_model() -> None:
    first = FailingModel(throttled())
    reply = run([candidate("a", first), candidate("b", FakeModel([GOOD]))])
    assert reply.model == "b"
    assert len(first.calls) == FAST.attempts
    failed = reply.attempts[0]
    assert failed.model == "a" and failed.retries == FAST.attempts - 1
    assert "throttled" in (failed.error or "")
    assert "gave up after 4 attempts" in (failed.error or "")


def test_backoff_is_exponential_with_bounded_jitter() -> None:
    sleep = SleepRecorder()
    policy = RetryPolicy(attempts=5, initial_delay=1.0, max_delay=5.0, jitter=0.5,
                         budget_seconds=1000)
    with pytest.raises(ModelError):
        run([candidate("a", FailingModel(throttled()))], policy=policy, sleep=sleep)
    assert len(sleep.delays) == 4
    for delay, base in zip(sleep.delays, [1.0, 2.0, 4.0, 5.0], strict=True):
        assert base <= delay <= min(base + 0.5, 5.0)


def test_total_retry_time_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # tenacity measures elapsed time with time.monotonic: make every wait really "take" its time.
    clock = [1000.0]
    monkeypatch.setattr("tenacity.time.monotonic", lambda: clock[0])

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    policy = RetryPolicy(attempts=100, initial_delay=10, max_delay=10, jitter=0, budget_seconds=35)
    model = FailingModel(throttled())
    router = Router([candidate("a", model)], policy=policy, accept=extract_code, sleep=sleep)
    with pytest.raises(ModelError):
        asyncio.run(router.run(MESSAGES, system_prompt=None))  # type: ignore[arg-type]
    # Waits of 10 s: a retry whose wait would cross 35 s is not made -> calls at 0, 10, 20, 30.
    assert len(model.calls) == 4


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (client_error("AccessDeniedException", "You don't have access", 403), "access denied"),
        (client_error("ResourceNotFoundException", "Model not found", 404), "model not found"),
        (client_error("ValidationException", "The provided model identifier is invalid", 400),
         "rejected by the model"),
        (ModelUnavailableError("xllamacpp is not installed"), "unavailable"),
        (RuntimeError("something odd"), "RuntimeError: something odd"),
    ],
    ids=["denied", "not-found", "validation", "unavailable", "unknown"],
)
def test_non_transient_errors_fall_back_at_once(error: Exception, reason: str) -> None:
    first = FailingModel(error)
    reply = run([candidate("a", first), candidate("b", FakeModel([GOOD]))])
    assert reply.model == "b"
    assert len(first.calls) == 1
    assert reason in (reply.attempts[0].error or "")
    assert reply.attempts[0].retries == 0


def test_unusable_reply_is_reasked_once_then_accepted() -> None:
    model = FakeModel([PROSE, GOOD])
    reply = run([candidate("a", model)])
    assert reply.model == "a"
    assert len(model.calls) == 2
    reask = model.calls[1].messages
    assert reask[-2] == {"role": "assistant", "content": [{"text": PROSE}]}
    assert "no ```python code block" in model.calls[1].prompt


def test_code_that_does_not_parse_is_reasked_with_the_syntax_error() -> None:
    broken = "```python\nprint('x'\n```"
    model = FakeModel([broken, GOOD])
    run([candidate("a", model)])
    assert "does not parse" in model.calls[1].prompt


def test_unusable_twice_falls_back_to_the_next_model() -> None:
    first = FakeModel([PROSE, PROSE])
    reply = run([candidate("a", first), candidate("b", FakeModel([GOOD]))])
    assert reply.model == "b"
    assert len(first.calls) == 2
    assert "no usable Python" in (reply.attempts[0].error or "")


def test_no_credentials_skips_the_rest_of_the_group_and_falls_back_elsewhere() -> None:
    first, second = FailingModel(no_credentials()), FakeModel([GOOD])
    local = FakeModel([GOOD])
    reply = run([
        candidate("bedrock:a", first, "bedrock", "configure AWS"),
        candidate("bedrock:b", second, "bedrock", "configure AWS"),
        candidate("local", local, "local"),
    ])
    assert reply.model == "local"
    assert len(first.calls) == 1 and second.calls == []
    assert [a.error for a in reply.attempts][:2] == [
        "no AWS credentials found", "skipped: no AWS credentials found"]


def test_no_credentials_anywhere_is_model_unavailable_with_the_fix() -> None:
    models = [FailingModel(no_credentials()) for _ in range(3)]
    with pytest.raises(ModelUnavailableError) as caught:
        run([candidate(f"bedrock:{i}", m, "bedrock", "configure AWS credentials")
             for i, m in enumerate(models)])
    assert [len(m.calls) for m in models] == [1, 0, 0]
    message = str(caught.value)
    assert "to fix: configure AWS credentials" in message
    assert caught.value.exit_code == 3
    assert len(caught.value.attempts) == 3


def test_rejected_credentials_also_stop_the_group() -> None:
    first = FailingModel(client_error("UnrecognizedClientException", "bad token", 403))
    second = FakeModel([GOOD])
    with pytest.raises(ModelUnavailableError, match="credentials rejected"):
        run([candidate("x", first, "bedrock"), candidate("y", second, "bedrock")])
    assert second.calls == []


def test_every_model_failing_gives_one_error_listing_each() -> None:
    with pytest.raises(ModelError) as caught:
        run([
            candidate("a", FailingModel(client_error("AccessDeniedException", "denied", 403))),
            candidate("b", FakeModel([PROSE, PROSE])),
            candidate("c", FailingModel(throttled())),
        ])
    error = caught.value
    assert not isinstance(error, ModelUnavailableError)
    lines = str(error).splitlines()
    assert lines[0] == "no model could answer:"
    assert lines[1].startswith("  a: access denied")
    assert lines[2].startswith("  b: no usable Python")
    assert lines[3].startswith("  c: throttled")
    assert [a.model for a in error.attempts] == ["a", "b", "c"]
    assert all(a.duration_ms >= 0 for a in error.attempts)


def test_configuration_errors_propagate_without_fallback() -> None:
    def bad() -> object:
        raise ConfigError("unknown local model 'nope'")

    later = FakeModel([GOOD])
    with pytest.raises(ConfigError):
        run([Candidate("local:nope", bad), candidate("b", later)])  # type: ignore[arg-type]
    assert later.calls == []


def test_a_partial_answer_is_retracted_before_the_next_call() -> None:
    """What a display does with the callbacks: the partial answer never shows twice."""
    shown: list[str] = []
    restarts: list[str] = []

    def on_token(text: str) -> None:
        shown.append(text)

    def on_restart(message: str) -> None:
        restarts.append(message)
        shown.clear()

    first = FailingModel(client_error("modelStreamErrorException", "stream broke", 424),
                         partial="```python\nprint('par")
    second = FakeModel([GOOD], chunk_size=5)
    reply = asyncio.run(route(
        [candidate("a", first), candidate("b", second)], MESSAGES,  # type: ignore[arg-type]
        system_prompt=None, accept=extract_code, policy=FAST, sleep=SleepRecorder(),
        on_token=on_token, on_restart=on_restart,
    ))
    # modelStreamErrorException is transient: the same model is retried (and keeps failing).
    assert len(first.calls) == FAST.attempts
    assert "".join(shown) == GOOD
    assert len(restarts) == FAST.attempts
    assert "retrying" in restarts[0] and "trying the next model" in restarts[-1]
    assert reply.model == "b"


def test_no_restart_signal_when_nothing_was_streamed() -> None:
    restarts: list[str] = []
    run([candidate("a", FakeModel([throttled(), GOOD]))], restarts=restarts, tokens=[])
    assert restarts == []


def test_usage_adds_up_over_every_call() -> None:
    reply = run([candidate("a", FakeModel([PROSE, GOOD]))])
    assert reply.usage["inputTokens"] == 20


def test_cancellation_sets_the_cancel_signal() -> None:
    class Interrupting(FakeModel):
        async def stream(self, *args: object, **kwargs: object):  # type: ignore[override]
            self.signal = kwargs["cancel_signal"]
            raise KeyboardInterrupt
            yield {}

    model = Interrupting([GOOD])
    router = Router([candidate("a", model)], policy=FAST, accept=extract_code)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(router.run(MESSAGES, system_prompt=None))  # type: ignore[arg-type]
    assert router.cancel.is_set() and model.signal is router.cancel


def test_empty_chain_is_an_error() -> None:
    with pytest.raises(ModelError):
        Router([], accept=extract_code)


def test_policy_from_settings() -> None:
    from agentcode.config import Settings

    policy = RetryPolicy.from_settings(Settings(model_attempts=0, model_retry_seconds=5))
    assert policy.attempts == 1 and policy.budget_seconds == 5


def test_a_reask_is_sampled_so_it_can_differ_from_the_unusable_reply() -> None:
    model = FakeModel([PROSE, GOOD])
    run([candidate("a", model)])
    assert model.calls[0].config.get("temperature") is None  # the model's own (greedy locally)
    assert model.calls[1].config["temperature"] == REASK_TEMPERATURE
    assert model.get_config().get("temperature") is None  # put back after the call


def test_models_that_all_answered_without_usable_code_are_not_unavailable() -> None:
    with pytest.raises(NoUsableCodeError) as caught:
        run([candidate("a", FakeModel([PROSE, PROSE])), candidate("b", FakeModel([PROSE, PROSE]))])
    error = caught.value
    assert error.exit_code == 1  # the code failed, like a failed verification; not exit 3
    assert str(error).splitlines()[0] == "the model's reply held no usable code:"
    assert [a.model for a in error.attempts] == ["a", "b"]


def test_the_final_error_reads_the_typed_records_not_the_reason_text() -> None:
    # A model whose error message merely starts like a verdict is still a model that failed.
    lookalike = FailingModel(RuntimeError("unavailable: the text says so, the type does not"))
    with pytest.raises(ModelError) as caught:
        run([candidate("a", lookalike)])
    assert not isinstance(caught.value, (ModelUnavailableError, NoUsableCodeError))

    # A model that is not there at all (ModelUnavailableError from its load) is unavailable.
    def missing() -> object:
        raise ModelUnavailableError("no weights")

    with pytest.raises(ModelUnavailableError):
        run([Candidate("local", missing)])  # type: ignore[arg-type]


def test_the_candidate_is_not_changed_by_the_call() -> None:
    chosen = candidate("local", FakeModel([GOOD], model_id="local:tiny-1b"))
    reply = run([chosen])
    assert chosen.name == "local"  # it may be asked again by another request
    assert reply.model == "local:tiny-1b" and reply.attempts[0].model == "local:tiny-1b"
