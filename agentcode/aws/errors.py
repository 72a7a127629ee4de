"""What a failed AWS call means, for Bedrock and AgentCore alike: one table of error codes.

`classify` turns a botocore exception (``ClientError``, an error event of a response stream, or a
client-side error such as ``NoCredentialsError``) into an `AwsFailure`: a `Kind` and the service's
own words. Each caller decides what a kind means for it -- the model router retries, falls back or
stops for the user (`agentcode.models.failures`); the AgentCore sandbox retries or explains
(`agentcode.sandbox.agentcore.errors`) -- but what is throttling, what is a credentials problem
and what is transient is decided here, once.

botocore is never imported by this module: a botocore exception can only exist once botocore is
loaded, so its classes are looked up in ``sys.modules``.
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass


class Kind(enum.Enum):
    THROTTLED = "throttled"  # slow down and retry
    SERVER = "server"  # 5xx / internal: retry
    UNREACHABLE = "unreachable"  # never connected: safe to retry
    INTERRUPTED = "interrupted"  # read timeout or dropped connection after sending: maybe done
    DENIED = "denied"  # IAM says no to this action or model
    BAD_CREDENTIALS = "bad_credentials"  # rejected, expired, wrong signature
    NO_CREDENTIALS = "no_credentials"  # none found, incomplete, SSO token missing or expired
    PROFILE = "profile"  # the named profile does not exist
    REGION = "region"  # no region, or not a valid one
    NOT_FOUND = "not_found"  # model / interpreter / session not found
    VALIDATION = "validation"  # the request was rejected as invalid
    QUOTA = "quota"  # a service quota is exhausted
    OTHER = "other"


# Error codes as services send them (ClientError codes and event-stream members), lower-cased.
_CODES: dict[str, Kind] = {
    **dict.fromkeys(
        ("throttlingexception", "toomanyrequestsexception", "throttling",
         "requestlimitexceeded", "slowdown"),
        Kind.THROTTLED,
    ),
    **dict.fromkeys(
        ("internalserverexception", "internalfailure", "internalservererror",
         "serviceunavailableexception", "serviceunavailable", "modelstreamerrorexception",
         "modelnotreadyexception", "modeltimeoutexception", "requesttimeout",
         "requesttimeoutexception"),
        Kind.SERVER,
    ),
    **dict.fromkeys(
        ("accessdeniedexception", "accessdenied", "unauthorizedoperation"), Kind.DENIED
    ),
    **dict.fromkeys(
        ("unrecognizedclientexception", "invalidsignatureexception", "signaturedoesnotmatch",
         "expiredtokenexception", "expiredtoken", "invalidclienttokenid",
         "incompletesignature"),
        Kind.BAD_CREDENTIALS,
    ),
    "resourcenotfoundexception": Kind.NOT_FOUND,
    "validationexception": Kind.VALIDATION,
    "servicequotaexceededexception": Kind.QUOTA,
    "conflictexception": Kind.OTHER,
}

# botocore's client-side exceptions, by class name (checked along the MRO).
_BOTOCORE: dict[str, Kind] = {
    "NoCredentialsError": Kind.NO_CREDENTIALS,
    "PartialCredentialsError": Kind.NO_CREDENTIALS,
    "CredentialRetrievalError": Kind.NO_CREDENTIALS,
    "TokenRetrievalError": Kind.NO_CREDENTIALS,
    "SSOTokenLoadError": Kind.NO_CREDENTIALS,
    "UnauthorizedSSOTokenError": Kind.NO_CREDENTIALS,
    "SSOError": Kind.NO_CREDENTIALS,
    "ProfileNotFound": Kind.PROFILE,
    "NoRegionError": Kind.REGION,
    "InvalidRegionError": Kind.REGION,
    "EndpointConnectionError": Kind.UNREACHABLE,
    "ConnectTimeoutError": Kind.UNREACHABLE,
    "ReadTimeoutError": Kind.INTERRUPTED,
    "ConnectionClosedError": Kind.INTERRUPTED,
    "ResponseStreamingError": Kind.INTERRUPTED,
    "HTTPClientError": Kind.INTERRUPTED,
    "ParamValidationError": Kind.VALIDATION,
}

# Safe to send again whatever the call: the first attempt was refused or never arrived.
RETRYABLE = frozenset({Kind.THROTTLED, Kind.SERVER, Kind.UNREACHABLE})
# Problems only the user can fix, shared by every call with the same credentials.
USER_FIX = frozenset({Kind.BAD_CREDENTIALS, Kind.NO_CREDENTIALS, Kind.PROFILE, Kind.REGION})


@dataclass(frozen=True, slots=True)
class AwsFailure:
    kind: Kind
    code: str  # the service's error code or botocore's exception name
    message: str  # the service's message, on one line ("" when there is none)
    status: int = 0  # HTTP status, when there was a response
    from_service: bool = False  # the service answered with an error (not a client-side failure)

    def retryable(self, *, idempotent: bool) -> bool:
        """Worth sending again: an interrupted call only when sending it twice is harmless."""
        return self.kind in RETRYABLE or (idempotent and self.kind is Kind.INTERRUPTED)


def classify(exc: BaseException) -> AwsFailure | None:
    """The failure ``exc`` stands for, or None when it is not a botocore exception."""
    botocore_exc = sys.modules.get("botocore.exceptions")
    if botocore_exc is None:
        return None
    client_error = getattr(botocore_exc, "ClientError", None)
    if client_error is not None and isinstance(exc, client_error):
        return _client_error(exc)
    for klass in type(exc).__mro__:
        if klass.__module__ == "botocore.exceptions" and klass.__name__ in _BOTOCORE:
            return AwsFailure(_BOTOCORE[klass.__name__], klass.__name__, _one_line(str(exc)))
    return None


def _client_error(exc: BaseException) -> AwsFailure:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error") or {}
    raw_code = str(error.get("Code") or "")
    code = raw_code[:1].upper() + raw_code[1:]  # stream members start lower-case
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    kind = _CODES.get(code.lower())
    if kind is None:
        kind = Kind.SERVER if status >= 500 else Kind.THROTTLED if status == 429 else Kind.OTHER
    message = _one_line(str(error.get("Message") or ""))
    return AwsFailure(kind, code, message, status, from_service=True)


def describe(exc: BaseException) -> str:
    """A one-line account of ``exc``: its code and message, whatever it is."""
    failure = classify(exc)
    if failure is None:
        return f"{type(exc).__name__}: {_one_line(str(exc))}"
    said = f": {failure.message}" if failure.message else ""
    return f"{failure.code or failure.kind.value}{said}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
