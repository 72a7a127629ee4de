"""AgentCore failures: which ones to retry, and the one-line message that says what to do.

What a botocore error *is* comes from `agentcode.aws.errors` (one table for Bedrock and AgentCore)
and the retry policy from `agentcode.aws.retry`; this module adds what AgentCore's user must do.

botocore raises ``ClientError`` for HTTP errors and ``EventStreamError`` (a ClientError) for error
events inside the response stream; some callers see the error events as plain dict entries
(``{"throttlingException": {...}}``), which `stream_error` turns into the same exception so there
is one path. botocore is imported inside functions: this module loads only with the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentcode.aws import errors as aws_errors
from agentcode.aws.retry import RetryPolicy
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


@dataclass(slots=True, frozen=True)
class Context:
    """What the messages name: where we talked to, with what."""

    region: str
    interpreter_id: str
    session_timeout: int
    profile: str | None = None


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError, normalised (stream members start lower-case)."""
    failure = aws_errors.classify(exc)
    return failure.code if failure is not None else ""


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
    failure = aws_errors.classify(exc)
    return failure is not None and failure.retryable(idempotent=idempotent)


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
        stop=policy.stop(),
        wait=policy.wait(),
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


def _service_error(
    failure: aws_errors.AwsFailure, exc: BaseException, operation: str, ctx: Context
) -> AgentcodeError:
    Kind = aws_errors.Kind
    code, kind = failure.code, failure.kind
    said = f" ({failure.message})" if failure.message else ""
    if kind is Kind.DENIED:
        return SandboxUnavailableError(
            f"AWS denied bedrock-agentcore:{operation} on code interpreter '{ctx.interpreter_id}' "
            f"in {ctx.region}{said}: allow that action for your IAM identity "
            "(example policy in docs/agentcore.md)"
        )
    if kind is Kind.BAD_CREDENTIALS:
        return SandboxUnavailableError(
            f"AWS rejected the credentials ({code}){said}: refresh them "
            "(new keys, `aws sso login`) or choose another profile with --profile"
        )
    if kind is Kind.THROTTLED:
        return SandboxError(
            f"AgentCore kept throttling {operation}{_tries(exc)}: wait a minute and run again, "
            "or ask for a higher quota in Service Quotas"
        )
    if kind is Kind.QUOTA:
        return SandboxUnavailableError(
            f"AgentCore quota exceeded in {ctx.region}{said}: stop other Code Interpreter "
            "sessions or ask for a higher quota in Service Quotas"
        )
    if kind is Kind.NOT_FOUND:
        if operation == START:
            return SandboxUnavailableError(
                f"code interpreter '{ctx.interpreter_id}' not found in {ctx.region}{said}: check "
                "--interpreter-id (default aws.codeinterpreter.v1) and --region"
            )
        return SandboxError(
            f"the AgentCore session has ended{said} (sessions end after --session-timeout, "
            f"now {ctx.session_timeout}s); its variables and files are lost: run again"
        )
    if kind is Kind.VALIDATION:
        return SandboxError(f"AgentCore rejected {operation}{said}")
    if kind is Kind.SERVER:
        return SandboxError(
            f"AgentCore failed on {operation}{_tries(exc)} ({code or 'server error'}{said}): "
            "try again later"
        )
    return SandboxError(f"AgentCore {operation} failed: {code or type(exc).__name__}{said}")


def translate(exc: BaseException, operation: str, ctx: Context) -> AgentcodeError:
    """The agentcode error (and exit code) for a failure of an AgentCore call."""
    if isinstance(exc, AgentcodeError):
        return exc
    failure = aws_errors.classify(exc)
    text = " ".join(str(exc).split())
    if failure is None:
        return SandboxError(f"AgentCore {operation} failed: {type(exc).__name__}: {text}")
    Kind = aws_errors.Kind
    kind = failure.kind
    if failure.from_service:
        return _service_error(failure, exc, operation, ctx)
    if kind is Kind.REGION:
        return ConfigError(
            f"invalid AWS region ({text}): use a name like us-east-1 in --region "
            f"(AgentCore runs in e.g. {EXAMPLE_REGIONS})"
        )
    if kind is Kind.PROFILE:
        return ConfigError(
            f"AWS profile '{ctx.profile}' not found: check --profile / AWS_PROFILE "
            "against ~/.aws/config"
        )
    if kind is Kind.NO_CREDENTIALS:
        return SandboxUnavailableError(
            f"no usable AWS credentials for AgentCore ({text}): configure them (`aws configure`, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, `aws sso login`) or choose a profile "
            "with --profile"
        )
    if kind is Kind.UNREACHABLE:
        return SandboxUnavailableError(
            f"cannot reach AgentCore in {ctx.region}{_tries(exc)}: check the network, "
            f"or choose a region where AgentCore is available (e.g. {EXAMPLE_REGIONS}) "
            "with --region"
        )
    if kind is Kind.INTERRUPTED:
        return SandboxError(
            f"AgentCore did not answer {operation}{_tries(exc)}: check the network and try again"
        )
    if kind is Kind.VALIDATION:
        return SandboxError(f"invalid AgentCore {operation} request: {text}")
    return _service_error(failure, exc, operation, ctx)
