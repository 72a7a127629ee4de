"""Failures of agentcode itself (not of the user's code, which is data on `Execution.error`).

Every class carries the CLI exit code it maps to, so `cli/app.py` has one place to turn an
exception into a one-line message and a documented exit status (docs/cli.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentcode.types import Attempt, Execution

EXIT_OK = 0
EXIT_CODE_RAISED = 1
EXIT_USAGE = 2
EXIT_NO_MODEL = 3
EXIT_SANDBOX = 4
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130


def did_you_mean(word: str, choices: list[str], *, suffix: str = "") -> str:
    """`` (did you mean 'bedrock'?)`` when ``word`` nearly matches one of ``choices`` (then
    followed by ``suffix``, e.g. the rest of 'bedrok:claude'), else ''."""
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0] + suffix!r}?)" if close else ""


class AgentcodeError(Exception):
    """Root of every error agentcode raises on purpose. ``str(err)`` is the user-facing line."""

    exit_code: int = EXIT_CODE_RAISED


class UsageError(AgentcodeError):
    """Bad input or bad usage: the user must change the command, the file or the value."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """An invalid setting in the config file, the environment or a flag."""


class ModelError(AgentcodeError):
    """No model could answer. ``attempts`` says which models were tried and why each failed."""

    exit_code = EXIT_NO_MODEL

    def __init__(self, message: str, attempts: list[Attempt] | None = None) -> None:
        super().__init__(message)
        self.attempts: list[Attempt] = list(attempts or [])


class ModelUnavailableError(ModelError):
    """A model cannot be used at all here (extra not installed, weights missing, no credentials)."""


class NoUsableCodeError(ModelError):
    """Every model answered, but no reply held Python that compiles, even when asked again.

    The models worked; the code they wrote is what failed, so this is exit 1 like code that
    fails verification, not exit 3 (models unreachable, denied or failing)."""

    exit_code = EXIT_CODE_RAISED


class SandboxError(AgentcodeError):
    """The sandbox could not start or failed underneath the user's code."""

    exit_code = EXIT_SANDBOX


class SandboxUnavailableError(SandboxError):
    """The chosen sandbox backend is not usable on this machine (e.g. bubblewrap missing)."""


class PackageInstallError(SandboxError):
    """Installing packages into the sandbox environment failed; it was left as it was.

    Exit 2 when the index has no such package (or no wheel of it for this Python): the request
    was wrong, not the sandbox.
    """

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found
        if not_found:
            self.exit_code = EXIT_USAGE


class ExecutionTimeoutError(SandboxError):
    """The code ran past its wall-clock limit.

    ``state_lost`` tells whether the session had to be killed (variables gone) or was only
    interrupted; ``execution`` holds what the code printed before it was stopped.
    """

    exit_code = EXIT_TIMEOUT

    def __init__(
        self, message: str, *, state_lost: bool = False, execution: Execution | None = None
    ) -> None:
        super().__init__(message)
        self.state_lost = state_lost
        self.execution = execution


class VerificationError(AgentcodeError):
    """`gen --verify`: the final candidate still failed (its code was printed all the same).

    Exit 1, like code that raised: the generated code does not work. The library does not raise
    it: `generate(verify=True)` returns the code with ``verified=False``.
    """

    exit_code = EXIT_CODE_RAISED


class Cancelled(AgentcodeError):
    """The request was stopped on purpose (`Session.cancel`, a Stop button)."""

    exit_code = EXIT_INTERRUPTED


class StoreError(AgentcodeError):
    """The history store cannot be read or written. Callers warn and carry on."""
