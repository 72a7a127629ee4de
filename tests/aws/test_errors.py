"""One AWS error table and one retry policy, shared by the model router and AgentCore."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EventStreamError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOTokenLoadError,
)
from tenacity import RetryError, Retrying, retry_if_exception_type

from agentcode.aws.errors import Kind, classify, describe
from agentcode.aws.retry import AGENTCORE_RETRY, RetryPolicy
from agentcode.models import router
from agentcode.models.failures import Verdict
from agentcode.models.failures import classify as model_verdict
from agentcode.sandbox.agentcore.errors import is_transient


def client_error(code: str, status: int = 400, message: str = "said the service") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message},
         "ResponseMetadata": {"HTTPStatusCode": status}},
        "Operation",
    )


CASES = [
    (client_error("ThrottlingException", 429), Kind.THROTTLED),
    (client_error("TooManyRequestsException", 429), Kind.THROTTLED),
    (client_error("SomethingNew", 429), Kind.THROTTLED),
    (client_error("InternalServerException", 500), Kind.SERVER),
    (client_error("ModelNotReadyException", 429), Kind.SERVER),
    (client_error("SomethingNew", 503), Kind.SERVER),
    (client_error("AccessDeniedException", 403), Kind.DENIED),
    (client_error("ExpiredTokenException", 403), Kind.BAD_CREDENTIALS),
    (client_error("UnrecognizedClientException", 403), Kind.BAD_CREDENTIALS),
    (client_error("ResourceNotFoundException", 404), Kind.NOT_FOUND),
    (client_error("ValidationException"), Kind.VALIDATION),
    (client_error("ServiceQuotaExceededException", 402), Kind.QUOTA),
    (EventStreamError({"Error": {"Code": "throttlingException", "Message": "slow"}}, "Invoke"),
     Kind.THROTTLED),
    (NoCredentialsError(), Kind.NO_CREDENTIALS),
    (SSOTokenLoadError(error_msg="expired"), Kind.NO_CREDENTIALS),
    (ProfileNotFound(profile="nobody"), Kind.PROFILE),
    (NoRegionError(), Kind.REGION),
    (EndpointConnectionError(endpoint_url="https://x"), Kind.UNREACHABLE),
    (ConnectTimeoutError(endpoint_url="https://x"), Kind.UNREACHABLE),
    (ReadTimeoutError(endpoint_url="https://x"), Kind.INTERRUPTED),
]


@pytest.mark.parametrize(("exc", "kind"), CASES)
def test_one_table_classifies_every_aws_failure(exc: BaseException, kind: Kind) -> None:
    failure = classify(exc)
    assert failure is not None and failure.kind is kind


@pytest.mark.parametrize(("exc", "kind"), CASES)
def test_the_router_and_agentcore_agree_on_what_is_transient(
    exc: BaseException, kind: Kind
) -> None:
    failure = classify(exc)
    assert failure is not None
    # A model call may be sent twice; an AgentCore execution only when nothing ran.
    assert (model_verdict(exc).verdict is Verdict.RETRY) == failure.retryable(idempotent=True)
    assert is_transient(exc, idempotent=True) == failure.retryable(idempotent=True)
    assert is_transient(exc, idempotent=False) == (
        kind in {Kind.THROTTLED, Kind.SERVER, Kind.UNREACHABLE})
    if kind in {Kind.NO_CREDENTIALS, Kind.BAD_CREDENTIALS, Kind.PROFILE, Kind.REGION}:
        assert model_verdict(exc).verdict is Verdict.USER_FIX


def test_what_is_not_aws_is_not_classified() -> None:
    assert classify(ValueError("x")) is None
    assert describe(ValueError("bad\nvalue")) == "ValueError: bad value"
    assert describe(client_error("ExpiredToken", 403, "the token\nexpired")) == (
        "ExpiredToken: the token expired")


def test_there_is_one_retry_policy() -> None:
    assert router.RetryPolicy is RetryPolicy
    from agentcode.sandbox.agentcore import errors as agentcore_errors
    from agentcode.sandbox.agentcore import session as agentcore

    assert agentcore_errors.RetryPolicy is RetryPolicy
    assert agentcore.AGENTCORE_RETRY is AGENTCORE_RETRY


def test_the_policy_bounds_attempts_and_waits() -> None:
    policy = RetryPolicy(attempts=3, initial_delay=0.5, max_delay=1.0, jitter=0.0,
                         budget_seconds=60)
    waits: list[float] = []
    calls = 0

    def failing() -> None:
        nonlocal calls
        calls += 1
        raise TimeoutError

    retrying = Retrying(stop=policy.stop(), wait=policy.wait(), sleep=waits.append,
                        retry=retry_if_exception_type(TimeoutError))
    with pytest.raises(RetryError):
        retrying(failing)
    assert calls == 3
    assert waits == [0.5, 1.0]  # doubling, capped at max_delay

    # A retry whose wait would cross the budget is not made.
    tight = RetryPolicy(attempts=10, initial_delay=5, max_delay=5, jitter=0, budget_seconds=4)
    calls = 0
    with pytest.raises(RetryError):
        Retrying(stop=tight.stop(), wait=tight.wait(), sleep=lambda s: None,
                 retry=retry_if_exception_type(TimeoutError))(failing)
    assert calls == 1
