"""Which exceptions the router retries, falls back on, or stops for the user."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    EventStreamError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    TokenRetrievalError,
)
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

from agentcode.errors import ModelUnavailableError
from agentcode.models.failures import Verdict, classify
from agentcode.testing import client_error


def _status_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    response = httpx.Response(status, request=request)
    return httpx.HTTPStatusError("x", request=request, response=response)


@pytest.mark.parametrize(
    "error",
    [
        ModelThrottledException("slow down"),
        client_error("ThrottlingException", "rate", 429),
        client_error("InternalServerException", "oops", 500),
        client_error("SomethingNew", "bad gateway", 502),
        client_error("ServiceUnavailableException", "busy", 503),
        client_error("ModelTimeoutException", "took too long", 408),
        EventStreamError({"Error": {"Code": "modelStreamErrorException", "Message": "x"}},
                         "ConverseStream"),
        EventStreamError({"Error": {"Code": "internalServerException", "Message": "x"}},
                         "ConverseStream"),
        ReadTimeoutError(endpoint_url="https://bedrock"),
        ConnectTimeoutError(endpoint_url="https://bedrock"),
        EndpointConnectionError(endpoint_url="https://bedrock"),
        TimeoutError(),
        ConnectionResetError(),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        _status_error(503),
        _status_error(429),
    ],
)
def test_retried(error: Exception) -> None:
    assert classify(error).verdict is Verdict.RETRY


@pytest.mark.parametrize(
    "error",
    [
        client_error("AccessDeniedException", "You don't have access to the model", 403),
        client_error("ResourceNotFoundException", "Model not found", 404),
        client_error("ValidationException", "on-demand throughput isn't supported", 400),
        ContextWindowOverflowException("too long"),
        ModelUnavailableError("weights missing"),
        _status_error(400),
        ValueError("odd"),
    ],
)
def test_fall_back(error: Exception) -> None:
    assert classify(error).verdict is Verdict.FALLBACK


@pytest.mark.parametrize(
    "error",
    [
        NoCredentialsError(),
        PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
        ProfileNotFound(profile="nope"),
        TokenRetrievalError(provider="sso", error_msg="expired"),
        client_error("UnrecognizedClientException", "The security token is invalid", 403),
        client_error("ExpiredTokenException", "expired", 400),
    ],
)
def test_user_must_fix(error: Exception) -> None:
    assert classify(error).verdict is Verdict.USER_FIX


def test_reasons_are_short_and_say_what_happened() -> None:
    denied = classify(client_error("AccessDeniedException", "You don't have access", 403))
    assert denied.reason.startswith("access denied: You don't have access")
    assert "Bedrock console" in denied.reason
    assert classify(NoCredentialsError()).reason == "no AWS credentials found"
    assert classify(RuntimeError("line one\nline two")).reason == "RuntimeError: line one"
