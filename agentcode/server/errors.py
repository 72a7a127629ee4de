"""Failures of agentcode as HTTP: a status, and the CLI's exit code and message in the body."""

from __future__ import annotations

import math
from typing import Any

from agentcode.api.pool import TooManySessions, UnknownSession
from agentcode.errors import (
    AgentcodeError,
    ExecutionTimeoutError,
    ModelError,
    ModelUnavailableError,
    SandboxError,
    UsageError,
)


def http_status(exc: AgentcodeError) -> int:
    """The HTTP status for a failure of agentcode (its ``exit_code`` goes in the body)."""
    if isinstance(exc, ExecutionTimeoutError):
        return 504
    if isinstance(exc, UnknownSession):
        return 404
    if isinstance(exc, TooManySessions | ModelUnavailableError | SandboxError):
        return 503
    if isinstance(exc, ModelError):
        return 502
    if isinstance(exc, UsageError):
        return 400
    return 500


def error_body(exc: AgentcodeError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": str(exc), "exit_code": exc.exit_code}
    if isinstance(exc, ExecutionTimeoutError) and exc.execution is not None:
        body["execution"] = exc.execution.to_dict()
    return body


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as text: a 422 that quotes ``{"timeout": Infinity}``
    back would otherwise fail to encode (strict JSON has no Infinity) and become a 500."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value
