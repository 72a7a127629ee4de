"""AgentCore failures: which ones to retry, and the one-line message that says what to do.

botocore raises ``ClientError`` for HTTP errors and ``EventStreamError`` (a ClientError) for error
events inside the response stream; some callers see the error events as plain dict entries
(``{"throttlingException": {...}}``), which `stream_error` turns into the same exception so there
is one path. botocore is imported inside functions: this module loads only with the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentcode.errors import AgentcodeError, ConfigError, SandboxError, SandboxUnavailableError

START = "StartCodeInterpreterSession"
INVOKE = "InvokeCodeInterpreter"
STOP = "StopCodeInterpreterSession"

# Error members of the CodeInterpreterStreamOutput event stream (botocore service model).
STREAM_ERROR_KEYS = (
    "accessDeniedException",
    "conflictException",
    "internalServerException",
    "resourceNotFoundException",
    "serviceQuotaExceededException",
    "throttlingException",
    "validationException",
)
# Regions checked in the AWS "Supported AWS Regions" page of the AgentCore developer guide.
EXAMPLE_REGIONS = "us-east-1, us-west-2, eu-central-1, ap-southeast-2"

_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "Throttling"}
_INTERNAL = {"InternalServerException", "ServiceUnavailableException", "InternalFailure"}
_DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}
_BAD_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
}


@dataclass(slots=True, frozen=True)
class RetryPolicy:
    """Bounded retries: at most ``attempts`` calls and ``max_seconds`` in total.

    ``wait`` is a tenacity wait strategy replacing the default backoff (exponential with full
    jitter, ``initial_wait`` doubling up to ``max_wait``); tests pass ``tenacity.wait_none()``.
    """

    attempts: int = 4
    max_seconds: float = 30.0
    initial_wait: float = 0.5
    max_wait: float = 8.0
    wait: Any = None


@dataclass(slots=True, frozen=True)
class Context:
    """What the messages name: where we talked to, with what."""

    region: str
    interpreter_id: str
    session_timeout: int
    profile: str | None = None


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError, normalised (stream members start lower-case)."""
    response = getattr(exc, "response", None)
    code = str(((response or {}).get("Error") or {}).get("Code") or "")
    return code[:1].upper() + code[1:]


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None) or {}
    return int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)


def _aws_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    message = str((response.get("Error") or {}).get("Message") or "")
    return " ".join(message.split())  # one line, whatever the service sent


def stream_error(event: dict[str, Any]) -> Exception | None:
    """The exception an error event of the stream stands for, or None for a normal event."""
    from botocore.exceptions import EventStreamError

    for key in STREAM_ERROR_KEYS:
        if key in event:
            body = event[key] or {}
            return EventStreamError(
                {"Error": {"Code": key, "Message": str(body.get("message") or "")}}, INVOKE
            )
    return None


def is_transient(exc: BaseException, *, idempotent: bool) -> bool:
    """Worth another attempt: throttling, internal errors, a connection that never got through.

    Timeouts and dropped connections after the request was sent are retried only for idempotent
    calls (start with a client token, stop): re-sending executeCode could run the code twice.
    """
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        code = error_code(exc)
        return code in _THROTTLED or code in _INTERNAL or _status(exc) in (500, 502, 503, 504)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return True
    if isinstance(exc, ConnectionClosedError | ReadTimeoutError):
        return idempotent
    return False


def with_retries(
    call: Callable[[], Any],
    policy: RetryPolicy,
    *,
    idempotent: bool,
    may_retry: Callable[[], bool] = lambda: True,
) -> tuple[Any, int]:
    """Run ``call`` under ``policy``; return its result and the number of attempts made.

    The last exception propagates with ``agentcode_attempts`` set, for the message.
    """
    import tenacity

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts)
        | tenacity.stop_after_delay(policy.max_seconds),
        wait=policy.wait
        or tenacity.wait_random_exponential(multiplier=policy.initial_wait, max=policy.max_wait),
        retry=tenacity.retry_if_exception(
            lambda exc: may_retry() and is_transient(exc, idempotent=idempotent)
        ),
        reraise=True,
    )
    try:
        result = retrying(call)
    except Exception as exc:
        exc.agentcode_attempts = retrying.statistics.get("attempt_number", 1)  # type: ignore[attr-defined]
        raise
    return result, int(retrying.statistics.get("attempt_number", 1))


def _tries(exc: BaseException) -> str:
    attempts = int(getattr(exc, "agentcode_attempts", 1))
    return f" after {attempts} attempts" if attempts > 1 else ""


def _client_error(exc: BaseException, operation: str, ctx: Context) -> AgentcodeError:
    code = error_code(exc)
    message = _aws_message(exc)
    said = f" ({message})" if message else ""
    if code in _DENIED:
        return SandboxUnavailableError(
            f"AWS denied bedrock-agentcore:{operation} on code interpreter '{ctx.interpreter_id}' "
            f"in {ctx.region}{said}: allow that action for your IAM identity "
            "(example policy in docs/agentcore.md)"
        )
    if code in _BAD_CREDENTIALS:
        return SandboxUnavailableError(
            f"AWS rejected the credentials ({code}){said}: refresh them "
            "(new keys, `aws sso login`) or choose another profile with --profile"
        )
    if code in _THROTTLED:
        return SandboxError(
            f"AgentCore kept throttling {operation}{_tries(exc)}: wait a minute and run again, "
            "or ask for a higher quota in Service Quotas"
        )
    if code == "ServiceQuotaExceededException":
        return SandboxUnavailableError(
            f"AgentCore quota exceeded in {ctx.region}{said}: stop other Code Interpreter "
            "sessions or ask for a higher quota in Service Quotas"
        )
    if code == "ResourceNotFoundException":
        if operation == START:
            return SandboxUnavailableError(
                f"code interpreter '{ctx.interpreter_id}' not found in {ctx.region}{said}: check "
                "--interpreter-id (default aws.codeinterpreter.v1) and --region"
            )
        return SandboxError(
            f"the AgentCore session has ended{said} (sessions end after --session-timeout, "
            f"now {ctx.session_timeout}s); its variables and files are lost: run again"
        )
    if code == "ValidationException":
        return SandboxError(f"AgentCore rejected {operation}{said}")
    if code in _INTERNAL or _status(exc) >= 500:
        return SandboxError(
            f"AgentCore failed on {operation}{_tries(exc)} ({code or 'server error'}{said}): "
            "try again later"
        )
    return SandboxError(f"AgentCore {operation} failed: {code or type(exc).__name__}{said}")


def translate(exc: BaseException, operation: str, ctx: Context) -> AgentcodeError:
    """The agentcode error (and exit code) for a failure of an AgentCore call."""
    from botocore import exceptions as bx

    if isinstance(exc, AgentcodeError):
        return exc
    if isinstance(exc, bx.ClientError):
        return _client_error(exc, operation, ctx)
    if isinstance(exc, bx.InvalidRegionError):
        return ConfigError(f"invalid AWS region ({exc}): use a name like us-east-1 in --region")
    if isinstance(exc, bx.ProfileNotFound):
        return ConfigError(
            f"AWS profile '{ctx.profile}' not found: check --profile / AWS_PROFILE "
            "against ~/.aws/config"
        )
    credential_errors = (
        bx.NoCredentialsError,
        bx.PartialCredentialsError,
        bx.CredentialRetrievalError,
        bx.TokenRetrievalError,
        bx.SSOError,
    )
    if isinstance(exc, credential_errors):
        return SandboxUnavailableError(
            f"no usable AWS credentials for AgentCore ({exc}): configure them (`aws configure`, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, `aws sso login`) or choose a profile "
            "with --profile"
        )
    if isinstance(exc, bx.NoRegionError):
        return SandboxUnavailableError(
            f"no AWS region for AgentCore: pass --region (e.g. one of {EXAMPLE_REGIONS}) "
            "or set AWS_REGION"
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return SandboxUnavailableError(
            f"cannot reach AgentCore in region '{ctx.region}'{_tries(exc)}: check the network, "
            f"or choose a region where AgentCore is available (e.g. {EXAMPLE_REGIONS}) "
            "with --region"
        )
    if isinstance(exc, bx.ReadTimeoutError | bx.ConnectionClosedError):
        return SandboxError(
            f"AgentCore did not answer {operation}{_tries(exc)}: check the network and try again"
        )
    if isinstance(exc, bx.ParamValidationError):
        return SandboxError(f"invalid AgentCore {operation} request: {' '.join(str(exc).split())}")
    return SandboxError(
        f"AgentCore {operation} failed: {type(exc).__name__}: {' '.join(str(exc).split())}"
    )
