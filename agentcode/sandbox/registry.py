"""Sandbox backends by name: one registry for the CLI's help and validation, `agentcode models`
and `open_sandbox`.

Built in: ``local`` (bubblewrap jail), ``agentcore`` (AWS Bedrock AgentCore Code Interpreter) and
``unsafe`` (no isolation: an explicit, loudly named opt-in, never a fallback). Third-party
packages add a backend as an entry point in the ``agentcode.sandboxes`` group whose value is a
`SandboxBackend` (docs/extending.md). Backends are imported only when opened, and plugins are
looked up only for a name that is not built in, or to list them: `agentcode run` stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from agentcode.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.sandbox.base import SandboxSession

ENTRY_POINT_GROUP = "agentcode.sandboxes"

SandboxFactory = Callable[["Settings"], "SandboxSession"]
SandboxCheck = Callable[["Settings"], "tuple[bool, str]"]
"""An offline availability check: (usable here, one line saying why or what to do)."""


@dataclass(frozen=True, slots=True)
class SandboxBackend:
    """A sandbox backend: ``factory(settings)`` opens a `SandboxSession` (see sandbox/base.py).

    ``settings``: the config keys and variables it reads. ``status``: an offline availability
    check, None for "not checked here" (`agentcode doctor` may know more).
    """

    name: str
    description: str
    factory: SandboxFactory
    settings: tuple[str, ...] = ()
    status: SandboxCheck | None = None


def _lazy(target: str) -> Callable[..., Any]:
    module, _, attribute = target.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module), attribute)(*args, **kwargs)

    return call


def _local(settings: Settings) -> SandboxSession:
    from agentcode.sandbox.local.session import LocalSandboxSession

    return LocalSandboxSession(settings)


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
    ),
    SandboxBackend(
        name="agentcore",
        description="AWS Bedrock AgentCore Code Interpreter (AWS credentials and region)",
        factory=_lazy("agentcode.sandbox.agentcore.session:AgentCoreSession"),
        settings=("region", "profile", "session_timeout", "interpreter_id", "AWS_REGION",
                  "AWS_DEFAULT_REGION", "AWS_PROFILE"),
        status=_agentcore_status,
    ),
    SandboxBackend(
        name="unsafe",
        description="no isolation at all: the code runs as you (for debugging only)",
        factory=_unsafe,
        settings=("timeout",),
        status=lambda settings: (True, "always available"),
    ),
)
_registered: dict[str, SandboxBackend] = {}
_plugins: dict[str, SandboxBackend] = {}  # installed plugins, loaded on first use


def register(backend: SandboxBackend) -> None:
    """Make ``backend.name`` usable as ``--sandbox`` in this process."""
    if any(builtin.name == backend.name for builtin in BUILTIN):
        raise ValueError(f"cannot register sandbox {backend.name!r}: it is built in")
    _registered[backend.name] = backend


def unregister(name: str) -> None:
    _registered.pop(name, None)


def names_help() -> str:
    """The built-in and registered names, for help text (installed plugins: `agentcode models`)."""
    return ", ".join([*(b.name for b in BUILTIN), *_registered])


def find_backend(name: str) -> SandboxBackend:
    """The backend called ``name``: built in, registered, else an installed plugin."""
    for backend in BUILTIN:
        if backend.name == name:
            return backend
    found = _registered.get(name) or _plugins.get(name) or _plugin(name)
    if found is None:
        known = [backend.name for backend in all_backends()]
        raise UsageError(f"unknown sandbox {name!r}{did_you_mean(name, known)}: "
                         f"choose one of {names_help()}")
    return found


def check_name(name: str) -> str:
    """``name`` if it is a sandbox backend, else `UsageError` (exit 2) listing the choices."""
    find_backend(name)
    return name


def open_sandbox(name: str, settings: Settings) -> SandboxSession:
    """Start a session of the named backend."""
    return find_backend(name).factory(settings)


def all_backends() -> list[SandboxBackend]:
    """Every backend: built in, registered here, then installed plugins that load."""
    from importlib.metadata import entry_points

    found = [*BUILTIN, *_registered.values()]
    seen = {backend.name for backend in found}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in seen:
            continue
        seen.add(entry.name)
        try:
            found.append(_load(entry))
        except Exception as exc:  # noqa: BLE001 - reported as an unusable row, never raised
            reason = f"plugin {entry.value} failed to load: {type(exc).__name__}: {exc}"
            found.append(SandboxBackend(entry.name, reason, _unloadable(reason),
                                        status=_unusable(reason)))
    return found


def backend_status(backend: SandboxBackend, settings: Settings) -> tuple[bool | None, str]:
    """(usable, detail) from the backend's offline check; usable is None when not checked."""
    if backend.status is None:
        return None, "not checked offline (see agentcode doctor)"
    try:
        return backend.status(settings)
    except Exception as exc:  # noqa: BLE001 - a status report must not crash the listing
        return False, f"check failed: {type(exc).__name__}: {exc}"


def _plugin(name: str) -> SandboxBackend | None:
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            backend = _load(entry)
        except Exception as exc:  # noqa: BLE001 - any failure of a third party's import
            raise UsageError(f"the sandbox plugin {name!r} ({entry.value}) failed to load: "
                             f"{type(exc).__name__}: {exc}") from None
        _plugins[name] = backend
        return backend
    return None


def _load(entry: Any) -> SandboxBackend:
    loaded = entry.load()
    if not isinstance(loaded, SandboxBackend):
        raise TypeError(f"{entry.value} is not a SandboxBackend")
    return loaded


def _unusable(reason: str) -> SandboxCheck:
    def status(settings: Settings) -> tuple[bool, str]:
        return False, reason

    return status


def _unloadable(reason: str) -> SandboxFactory:
    def factory(settings: Settings) -> SandboxSession:
        raise UsageError(reason)

    return factory
