"""Sandbox backends by name: one registry for the CLI's help and validation, `agentcode models`
and `open_sandbox`.

Built in: ``local`` (bubblewrap jail), ``agentcore`` (AWS Bedrock AgentCore Code Interpreter) and
``unsafe`` (no isolation: an explicit, loudly named opt-in, never a fallback). Third-party
packages add a backend as an entry point in the ``agentcode.sandboxes`` group whose value is a
`SandboxBackend` (docs/extending.md). Backends are imported only when opened, and plugins are
looked up only for a name that is not built in, or to list them: `agentcode run` stays light.
`BACKENDS` is an `agentcode.registry.Registry`, the same shape as the model providers'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentcode.registry import Lazy, PluginFailure, Registry

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.registry.checks import DoctorCheck
    from agentcode.sandbox.base import SandboxSession

ENTRY_POINT_GROUP = "agentcode.sandboxes"

SandboxFactory = Callable[["Settings"], "SandboxSession"]
SandboxCheck = Callable[["Settings"], "tuple[bool, str]"]
"""An offline availability check: (usable here, one line saying why or what to do)."""


@dataclass(frozen=True, slots=True)
class SandboxBackend:
    """A sandbox backend: ``factory(settings)`` opens a `SandboxSession` (see sandbox/base.py).

    ``settings``: the config keys and variables it reads. ``status``: an offline availability
    check, None for "not checked here". ``doctor``: what `agentcode doctor` checks for it
    (`agentcode.registry.checks`); None: its ``status`` becomes the doctor's line.
    """

    name: str
    description: str
    factory: SandboxFactory
    settings: tuple[str, ...] = ()
    status: SandboxCheck | None = None
    doctor: DoctorCheck | None = None


def _local(settings: Settings) -> SandboxSession:
    from agentcode.sandbox.local import spare

    # A spare jail (serve, mcp, the REPL keep one; `agentcode run` starts one early) is handed
    # out here; then no jail starts, and no cgroup lock needs warming.
    jail = spare.take(settings)
    if jail is not None:
        return jail
    from agentcode.sandbox.local import cgroup

    # Warm the kernel's cgroup lock while the jail's modules load (a fresh process).
    primer = cgroup.prime()
    try:
        from agentcode.sandbox.local.session import LocalSandboxSession

        return LocalSandboxSession(settings)
    finally:
        primer.stop()


def _unsafe(settings: Settings) -> SandboxSession:
    from agentcode.sandbox.local.session import LocalSandboxSession

    return LocalSandboxSession(settings, isolated=False)


def _local_status(settings: Settings) -> tuple[bool, str]:
    import shutil

    from agentcode.sandbox.local.jail import INSTALL_HINT

    path = shutil.which("bwrap")
    return (True, f"bubblewrap at {path}") if path else (False, INSTALL_HINT)


def _agentcore_status(settings: Settings) -> tuple[bool, str]:
    """Region (and where it came from) and credential source, from local configuration only."""
    from agentcode.aws.session import aws_status

    status = aws_status(settings)
    where = f"region {status.region.name} (from {status.region.source})"
    credentials = status.credentials
    if credentials.found:
        return True, f"{where}; credentials: {credentials.source}"
    said = f" ({credentials.note})" if credentials.note else ""
    return False, (f"{where}; no AWS credentials found{said}: aws configure, aws sso login, "
                   "AWS_PROFILE or --profile")


BUILTIN: tuple[SandboxBackend, ...] = (
    SandboxBackend(
        name="local",
        description="a bubblewrap jail on this machine: no network, no host files",
        factory=_local,
        settings=("timeout", "limits.*", "AGENTCODE_LIMIT_*"),
        status=_local_status,
        doctor=Lazy("agentcode.sandbox.local.doctor:check_local_sandbox"),
    ),
    SandboxBackend(
        name="agentcore",
        description="AWS Bedrock AgentCore Code Interpreter (AWS credentials and region)",
        factory=Lazy("agentcode.sandbox.agentcore.session:AgentCoreSession"),
        settings=("region", "profile", "session_timeout", "interpreter_id", "AWS_REGION",
                  "AWS_DEFAULT_REGION", "AWS_PROFILE"),
        status=_agentcore_status,
        doctor=Lazy("agentcode.aws.doctor:check_aws"),
    ),
    SandboxBackend(
        name="unsafe",
        description="no isolation at all: the code runs as you (for debugging only)",
        factory=_unsafe,
        settings=("timeout",),
        status=lambda settings: (True, "always available"),
    ),
)


def _load(name: str, target: str, loaded: Any) -> SandboxBackend:
    if not isinstance(loaded, SandboxBackend):
        raise TypeError(f"{target} is not a SandboxBackend")
    return loaded


BACKENDS: Registry[SandboxBackend] = Registry("sandbox", ENTRY_POINT_GROUP, BUILTIN, load=_load)


def register(backend: SandboxBackend) -> None:
    """Make ``backend.name`` usable as ``--sandbox`` in this process."""
    BACKENDS.register(backend)


def unregister(name: str) -> None:
    BACKENDS.unregister(name)


def names_help() -> str:
    """The built-in and registered names, for help text (installed plugins: `agentcode models`)."""
    return BACKENDS.choices()


def check_name(name: str) -> str:
    """``name`` if it is a sandbox backend, else `UnknownName` (exit 2) listing the choices."""
    BACKENDS.find(name)
    return name


def open_sandbox(name: str, settings: Settings) -> SandboxSession:
    """Start a session of the named backend."""
    return BACKENDS.find(name).factory(settings)


def all_backends() -> list[SandboxBackend | PluginFailure]:
    """Every backend: built in, registered here, then installed plugins (a failure as a row)."""
    return BACKENDS.all()


def backend_status(backend: SandboxBackend, settings: Settings) -> tuple[bool | None, str]:
    """(usable, detail) from the backend's offline check; usable is None when not checked."""
    if backend.status is None:
        return None, "not checked offline (see agentcode doctor)"
    try:
        return backend.status(settings)
    except Exception as exc:  # noqa: BLE001 - a status report must not crash the listing
        return False, f"check failed: {type(exc).__name__}: {exc}"
