"""Bedrock through strands' BedrockModel, with botocore's Stubber in place of AWS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EventStreamError, ReadTimeoutError
from botocore.stub import Stubber

from agentcode.api.generation import generate
from agentcode.config import Settings
from agentcode.errors import ModelError, ModelUnavailableError
from agentcode.models.bedrock import DEFAULT_CHAIN, MAX_TOKENS, create_bedrock_model
from agentcode.models.router import RetryPolicy

FAST = RetryPolicy(attempts=4, initial_delay=0.0, max_delay=0.0, jitter=0.0)
CODE_REPLY = "```python\nimport sys\nprint(len(sys.stdin.read()))\n```"


class EventStreamStubber(Stubber):
    """Stubber that accepts a list/iterator of events for ConverseStream's ``stream`` member.

    botocore's validator expects the modelled structure there, while the real client hands an
    iterable EventStream to the caller; everything else is still validated.
    """

    def _validate_operation_response(self, operation_name: str, service_response: Any) -> None:
        rest = {k: v for k, v in service_response.items() if k != "stream"}
        super()._validate_operation_response(operation_name, rest)


def events(text: str, *, chunk: int = 7, fail: Exception | None = None) -> Iterator[dict[str, Any]]:
    yield {"messageStart": {"role": "assistant"}}
    for start in range(0, len(text), chunk):
        yield {"contentBlockDelta": {"contentBlockIndex": 0,
                                     "delta": {"text": text[start : start + chunk]}}}
    if fail is not None:
        raise fail
    yield {"contentBlockStop": {"contentBlockIndex": 0}}
    yield {"messageStop": {"stopReason": "end_turn"}}
    yield {"metadata": {"usage": {"inputTokens": 50, "outputTokens": 12, "totalTokens": 62},
                        "metrics": {"latencyMs": 5}}}


@pytest.fixture
def session() -> boto3.Session:
    # Static test keys: the Stubber answers before any request is signed or sent.
    return boto3.Session(aws_access_key_id="AKIDTEST", aws_secret_access_key="secret",
                         region_name="us-east-1")


class StubbedBedrock:
    def __init__(self, model_id: str, session: boto3.Session) -> None:
        self.model = create_bedrock_model(model_id, Settings(), session=session)
        self.stubber = EventStreamStubber(self.model.client)
        self.requests: list[dict[str, Any]] = []
        self.model.client.meta.events.register(
            "provide-client-params.bedrock-runtime.ConverseStream", self._record
        )
        self.timeouts = 0
        # The specific event name does not reach the Stubber's wildcard slot: use its pattern.
        self.model.client.meta.events.register_first("before-call.*.*", self._maybe_time_out)
        self.stubber.activate()

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(params)

    def _maybe_time_out(self, **_: Any) -> None:
        if self.timeouts > 0:
            self.timeouts -= 1
            raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    def reply(self, text: str, **kwargs: Any) -> StubbedBedrock:
        self.stubber.add_response("converse_stream", {"stream": events(text, **kwargs)})
        return self

    def error(self, code: str, status: int, message: str = "") -> StubbedBedrock:
        self.stubber.add_client_error("converse_stream", service_error_code=code,
                                      service_message=message or code, http_status_code=status)
        return self


def ask(*models: StubbedBedrock, prompt: str = "count stdin characters", **kwargs: Any) -> Any:
    return generate(prompt, model=[m.model for m in models], settings=Settings(), policy=FAST,
                    **kwargs)


def test_streamed_reply_becomes_code_and_request_is_well_formed(session: boto3.Session) -> None:
    bedrock = StubbedBedrock(DEFAULT_CHAIN[0], session).reply("Here:\n" + CODE_REPLY)
    tokens: list[str] = []
    result = ask(bedrock, on_token=tokens.append)
    assert result.code == "import sys\nprint(len(sys.stdin.read()))\n"
    assert result.model_id == f"BedrockModel:{DEFAULT_CHAIN[0]}"
    assert "".join(tokens) == "Here:\n" + CODE_REPLY
    assert result.usage == {"inputTokens": 50, "outputTokens": 12, "totalTokens": 62}
    request = bedrock.requests[0]
    assert request["modelId"] == DEFAULT_CHAIN[0]
    assert request["inferenceConfig"]["maxTokens"] == MAX_TOKENS
    assert "```python" in request["system"][0]["text"]
    assert request["messages"][-1]["content"][0]["text"] == "count stdin characters"
    bedrock.stubber.assert_no_pending_responses()


def test_botocore_retries_are_off_so_the_router_owns_them(session: boto3.Session) -> None:
    model = create_bedrock_model(DEFAULT_CHAIN[1], Settings(), session=session)
    assert model.client.meta.config.retries["total_max_attempts"] == 1
    assert model.client.meta.region_name == "us-east-1"


def test_throttled_three_times_then_answers(session: boto3.Session) -> None:
    bedrock = StubbedBedrock(DEFAULT_CHAIN[0], session)
    for _ in range(3):
        bedrock.error("ThrottlingException", 429, "Too many requests")
    bedrock.reply(CODE_REPLY)
    result = ask(bedrock)
    assert [(a.error, a.retries) for a in result.attempts] == [(None, 3)]
    bedrock.stubber.assert_no_pending_responses()


def test_server_error_and_read_timeout_are_retried(session: boto3.Session) -> None:
    bedrock = StubbedBedrock(DEFAULT_CHAIN[0], session).error("InternalServerException", 500)
    bedrock.reply(CODE_REPLY)
    bedrock.timeouts = 1  # the first call times out before reaching the stub
    result = ask(bedrock)
    assert result.attempts[0].retries == 2
    bedrock.stubber.assert_no_pending_responses()


def test_stream_broken_midway_is_retried_and_retracted(session: boto3.Session) -> None:
    broken = EventStreamError(
        {"Error": {"Code": "modelStreamErrorException", "Message": "stream died"}},
        "ConverseStream")
    bedrock = StubbedBedrock(DEFAULT_CHAIN[0], session).reply(CODE_REPLY, fail=broken)
    bedrock.reply(CODE_REPLY)
    shown: list[str] = []
    result = ask(bedrock, on_token=shown.append, on_restart=lambda _m: shown.clear())
    assert "".join(shown) == CODE_REPLY
    assert result.attempts[0].retries == 1


def test_retries_exhausted_fall_back_to_the_next_model(session: boto3.Session) -> None:
    first = StubbedBedrock(DEFAULT_CHAIN[0], session)
    for _ in range(FAST.attempts):
        first.error("ServiceUnavailableException", 503)
    second = StubbedBedrock(DEFAULT_CHAIN[1], session).reply(CODE_REPLY)
    result = ask(first, second)
    assert result.model_id.endswith(DEFAULT_CHAIN[1])
    assert result.attempts[0].retries == FAST.attempts - 1
    assert "ServiceUnavailableException" in (result.attempts[0].error or "")


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        ("AccessDeniedException", 403, "access denied"),
        ("ResourceNotFoundException", 404, "model not found"),
        ("ValidationException", 400, "rejected by the model"),
    ],
)
def test_denied_or_missing_model_falls_back_without_retry(
    session: boto3.Session, code: str, status: int, reason: str
) -> None:
    first = StubbedBedrock(DEFAULT_CHAIN[0], session).error(code, status)
    second = StubbedBedrock(DEFAULT_CHAIN[1], session).reply(CODE_REPLY)
    result = ask(first, second)
    assert result.model_id.endswith(DEFAULT_CHAIN[1])
    assert reason in (result.attempts[0].error or "")
    assert result.attempts[0].retries == 0
    first.stubber.assert_no_pending_responses()


def test_reply_without_code_is_reasked_then_falls_back(session: boto3.Session) -> None:
    first = StubbedBedrock(DEFAULT_CHAIN[0], session)
    first.reply("I cannot help with that.").reply("Still no code, sorry.")
    second = StubbedBedrock(DEFAULT_CHAIN[1], session).reply(CODE_REPLY)
    result = ask(first, second)
    assert result.model_id.endswith(DEFAULT_CHAIN[1])
    reask = first.requests[1]["messages"]
    assert [m["role"] for m in reask] == ["user", "assistant", "user"]
    assert "no ```python code block" in reask[-1]["content"][0]["text"]


def test_every_model_failing_is_one_model_error(session: boto3.Session) -> None:
    first = StubbedBedrock(DEFAULT_CHAIN[0], session).error("AccessDeniedException", 403)
    second = StubbedBedrock(DEFAULT_CHAIN[1], session).error("ResourceNotFoundException", 404)
    with pytest.raises(ModelError) as caught:
        ask(first, second)
    assert caught.value.exit_code == 3
    assert len(caught.value.attempts) == 2
    assert "access denied" in str(caught.value) and "model not found" in str(caught.value)


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_BEARER_TOKEN_BEDROCK",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws_credentials")
def test_no_credentials_stops_the_chain_with_the_fix() -> None:
    with pytest.raises(ModelUnavailableError) as caught:
        generate("anything", model="bedrock", settings=Settings(region="us-east-1"), policy=FAST)
    attempts = caught.value.attempts
    assert [a.model for a in attempts] == [f"bedrock:{m}" for m in DEFAULT_CHAIN]
    assert attempts[0].error == "no AWS credentials found"
    assert all((a.error or "").startswith("skipped:") for a in attempts[1:])
    assert "aws configure" in str(caught.value)
    assert caught.value.exit_code == 3


@pytest.mark.usefixtures("no_aws_credentials")
def test_unknown_profile_is_a_user_fix_not_a_loop() -> None:
    with pytest.raises(ModelUnavailableError, match="profile"):
        generate("anything", model="bedrock", settings=Settings(profile="nope"), policy=FAST)


def test_verify_repairs_go_to_bedrock_sampled_and_the_first_call_is_not(
    session: boto3.Session,
) -> None:
    from agentcode.config import load_settings
    from agentcode.generation.codegen import AskOptions
    from agentcode.generation.options import REPAIR_TEMPERATURE
    from agentcode.generation.verify import generate_verified

    broken = "```python\nprint(1 / 0)\n```"
    stub = StubbedBedrock("us.anthropic.claude-3-7-sonnet-20250219-v1:0", session)
    stub.reply(broken).reply("```python\nprint(1 / 1)\n```")
    generation = generate_verified(
        "print one",
        ask=AskOptions(model=stub.model),
        settings=load_settings(timeout=10, history=False),
    )
    assert generation.verified and [r.kind for r in generation.rounds] == ["first", "repair"]
    first, repair = stub.requests
    assert first["inferenceConfig"]["temperature"] == 0.2  # agentcode's Bedrock default
    assert repair["inferenceConfig"]["temperature"] == REPAIR_TEMPERATURE
    assert "ZeroDivisionError" in repair["messages"][-1]["content"][0]["text"]
    assert stub.model.get_config()["temperature"] == 0.2
