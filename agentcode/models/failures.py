"""What a failed model call means: retry the model, fall back to the next, or stop for the user.

`classify` looks at the exception a model raised and returns a `Failure`: a verdict and a short
human reason for `Attempt.error` and the final `ModelError`. It never imports boto3 or httpx on
its own: those classes are only checked when their module is already loaded (a model that raised
one of them has loaded it).

- ``RETRY``: throttling and transient trouble (HTTP 5xx, timeouts, dropped connections, a model
  still loading). The same model is called again with backoff.
- ``FALLBACK``: this model cannot answer here (access denied, not found or not enabled in the
  region, a validation error about the model, context too long, anything unknown).
- ``USER_FIX``: something only the user can fix and that every model of the same provider shares
  (no credentials, credentials rejected or expired, unknown profile). The router skips the rest of
  that provider's models instead of trying each one.
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass
from typing import Any

from agentcode.aws import errors as aws_errors
from agentcode.errors import ModelUnavailableError


class Verdict(enum.Enum):
    RETRY = "retry"
    FALLBACK = "fallback"
    USER_FIX = "user_fix"


@dataclass(frozen=True, slots=True)
class Failure:
    """What the router does next (``verdict``), why in words (``reason``), and whether the
    model is not there at all (``unavailable``: not installed, no weights), which the final
    error tells apart from a model that was there and failed."""

    verdict: Verdict
    reason: str
    unavailable: bool = False


AWS_CREDENTIALS_HINT = (
    "configure AWS credentials (aws configure, AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID/"
    "AWS_SECRET_ACCESS_KEY) and a region (--region or AWS_REGION), or use the embedded model "
    "with -m local"
)

# What each kind of AWS failure (`agentcode.aws.errors`, the one table) means for a model.
_AWS_USER_FIX_REASONS = {
    "NoCredentialsError": "no AWS credentials found",
    "PartialCredentialsError": "incomplete AWS credentials",
    "ProfileNotFound": "AWS profile not found",
    "CredentialRetrievalError": "AWS credentials could not be retrieved",
    "TokenRetrievalError": "AWS SSO token could not be retrieved (run aws sso login)",
    "SSOTokenLoadError": "AWS SSO token missing (run aws sso login)",
    "UnauthorizedSSOTokenError": "AWS SSO session expired (run aws sso login)",
    "NoRegionError": "no AWS region configured",
}
_AWS_TRANSIENT_REASONS = {
    "ReadTimeoutError": "read timeout",
    "ConnectTimeoutError": "connect timeout",
    "EndpointConnectionError": "cannot connect to the endpoint",
    "ConnectionClosedError": "connection closed",
    "ResponseStreamingError": "response stream broken",
    "HTTPClientError": "HTTP client error",
}


def classify(exc: BaseException) -> Failure:
    """Decide what the router does after ``exc``; see the module docstring."""
    name = type(exc).__name__
    if isinstance(exc, ModelUnavailableError):
        return Failure(Verdict.FALLBACK, f"unavailable: {exc}", unavailable=True)

    strands_exc = sys.modules.get("strands.types.exceptions")
    if strands_exc is not None:
        if isinstance(exc, strands_exc.ModelThrottledException):
            return Failure(Verdict.RETRY, f"throttled: {_first_line(exc)}")
        if isinstance(exc, strands_exc.ContextWindowOverflowException):
            return Failure(Verdict.FALLBACK, "prompt too long for this model's context window")

    aws_failure = aws_errors.classify(exc)
    if aws_failure is not None:
        return _aws_verdict(aws_failure, exc)

    openai = sys.modules.get("openai")
    if openai is not None:
        failure = _classify_openai(exc, openai)
        if failure is not None:
            return failure

    httpx = sys.modules.get("httpx")
    if httpx is not None:
        failure = _classify_httpx(exc, httpx)
        if failure is not None:
            return failure

    if isinstance(exc, TimeoutError):
        return Failure(Verdict.RETRY, "timed out")
    if isinstance(exc, ConnectionError):
        return Failure(Verdict.RETRY, f"connection error: {name}")
    return Failure(Verdict.FALLBACK, f"{name}: {_first_line(exc)}")


def _aws_verdict(failure: aws_errors.AwsFailure, exc: BaseException) -> Failure:
    kind, code, message = failure.kind, failure.code, failure.message or _first_line(exc)
    Kind = aws_errors.Kind
    if kind in aws_errors.USER_FIX:
        if kind is Kind.BAD_CREDENTIALS:
            return Failure(Verdict.USER_FIX, f"AWS credentials rejected ({code}): {message}")
        return Failure(Verdict.USER_FIX, _AWS_USER_FIX_REASONS.get(code, f"{code}: {message}"))
    # Any call to a model may be sent again: a repeated prompt costs tokens, not correctness.
    if failure.retryable(idempotent=True):
        if code in _AWS_TRANSIENT_REASONS:
            return Failure(Verdict.RETRY, _AWS_TRANSIENT_REASONS[code])
        return Failure(Verdict.RETRY, f"{code or failure.status}: {message}")
    if kind is Kind.DENIED:
        return Failure(
            Verdict.FALLBACK,
            f"access denied: {message} (enable the model in the Bedrock console and allow "
            "bedrock:InvokeModelWithResponseStream)",
        )
    if kind is Kind.NOT_FOUND:
        return Failure(Verdict.FALLBACK, f"model not found: {message}")
    if kind is Kind.VALIDATION and code == "ValidationException":
        return Failure(Verdict.FALLBACK, f"rejected by the model: {message}")
    return Failure(Verdict.FALLBACK, f"{code or type(exc).__name__}: {message}")


def _classify_httpx(exc: BaseException, httpx: object) -> Failure | None:
    status_error = getattr(httpx, "HTTPStatusError", None)
    if status_error is not None and isinstance(exc, status_error):
        status = exc.response.status_code
        if status >= 500 or status == 429:
            return Failure(Verdict.RETRY, f"HTTP {status}")
        return Failure(Verdict.FALLBACK, f"HTTP {status}: {_first_line(exc)}")
    transport_error = getattr(httpx, "TransportError", None)
    if transport_error is not None and isinstance(exc, transport_error):
        return Failure(Verdict.RETRY, f"{type(exc).__name__}: {_first_line(exc)}")
    return None


_OPENAI_STATUS_REASONS = {
    401: "API key rejected (check OPENAI_API_KEY)",
    403: "access denied (the key may not allow this model)",
    404: "not found (check the model name and OPENAI_BASE_URL)",
}


def _classify_openai(exc: BaseException, openai: Any) -> Failure | None:
    """The OpenAI client's errors (``openai:`` models; strands turns 429 into throttling)."""
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status >= 500 or status == 429:
            return Failure(Verdict.RETRY, f"HTTP {status}: {_api_message(exc)}")
        reason = _OPENAI_STATUS_REASONS.get(status, "rejected")
        return Failure(Verdict.FALLBACK, f"HTTP {status} {reason}: {_api_message(exc)}")
    if isinstance(exc, openai.APITimeoutError):
        return Failure(Verdict.RETRY, "timed out")
    if isinstance(exc, openai.APIConnectionError):
        request = getattr(exc, "_request", None) or getattr(exc, "request", None)
        url = getattr(request, "url", None)
        where = f" to {url}" if url is not None else ""
        if _refused(exc):  # nothing listens there: waiting will not help, try the next model
            return Failure(Verdict.FALLBACK, f"connection refused{where}: is the server "
                           "running? (set OPENAI_BASE_URL to where it listens)")
        cause = exc.__cause__ or exc
        return Failure(Verdict.RETRY, f"connection error{where}: {_first_line(cause)}")
    return None


def _refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "connection refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _api_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return str(message).splitlines()[0]
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
