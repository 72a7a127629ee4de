"""Failures of agentcode as HTTP: a status, and the CLI's exit code and message in the body."""

from __future__ import annotations

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
