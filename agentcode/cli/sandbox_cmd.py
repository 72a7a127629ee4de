"""`agentcode sandbox add/remove/list/sync/path`: the packages sandboxed code may import.

They live in a sandbox environment of their own (not agentcode's), installed on the host and
mounted read-only into the jail; see agentcode/sandbox/local/packages.py. And `agentcode
sandbox status/stop`: the resident helper that keeps `run` warm
(agentcode/sandbox/local/resident.py).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from agentcode.errors import UsageError

if TYPE_CHECKING:
    from agentcode.sandbox.local.packages import Package, SandboxEnvironment

sandbox_app = typer.Typer(
    help="Manage the packages sandboxed code may import (pandas, matplotlib, ...).\n\n"
    "They are installed with pip (uv if pip is missing) from the index your pip is configured "
    "for, into an environment of their own that the sandbox mounts read-only. Code in the "
    "sandbox never installs anything itself.\n\n"
    "Example: agentcode sandbox add pandas matplotlib numpy\n\n"
    "status and stop show and end the background helper that keeps `agentcode run` and "
    "`agentcode gen` ready for sandbox_keep_alive seconds (default 300; 0: off, also when CI "
    "is set unless configured).",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")


def _environment() -> SandboxEnvironment:
    from agentcode.config import load_settings
    from agentcode.sandbox.local.packages import SandboxEnvironment

    def installing(specs: list[str]) -> None:
        _progress(f"installing {' '.join(specs)} into the sandbox environment")

    return SandboxEnvironment(load_settings().sandbox_env, on_install=installing)


def _progress(message: str) -> None:
    sys.stderr.write(f"agentcode: {message}\n")
    sys.stderr.flush()


def _report(before: list[Package], after: list[Package]) -> None:
    old = {p.name.lower(): p.version for p in before}
    new = {p.name.lower(): p for p in after}
    added = [f"{p.name} {p.version}" for k, p in new.items() if old.get(k) != p.version]
    removed = [name for name in old if name not in new]
    parts = []
    if added:
        parts.append(f"installed {', '.join(added)}")
    if removed:
        parts.append(f"removed {', '.join(removed)}")
    _progress("; ".join(parts) if parts else "the sandbox environment is unchanged")


@sandbox_app.command("add")
def add(
    packages: Annotated[list[str], typer.Argument(
        help="Package names, optionally with versions (pandas, 'numpy>=2').", show_default=False
    )],
) -> None:
    """Install packages (and their dependencies) for sandboxed code."""
    env = _environment()
    before = env.packages()
    _report(before, env.add(packages))


@sandbox_app.command("remove")
def remove(
    packages: Annotated[list[str], typer.Argument(
        help="Names of packages added earlier.", show_default=False
    )],
) -> None:
    """Remove packages added earlier (the environment is rebuilt without them)."""
    env = _environment()
    before = env.packages()
    _report(before, env.remove(packages))


@sandbox_app.command("sync")
def sync() -> None:
    """Install exactly the config file's `[sandbox] packages = [...]` (for CI)."""
    from agentcode.config import config_path, load_settings

    settings = load_settings()
    if not settings.packages:
        raise UsageError(
            f"no packages to sync: list them in {config_path()} as "
            '[sandbox] packages = ["pandas"] (or AGENTCODE_PACKAGES=pandas,numpy)'
        )
    env = _environment()
    before = env.packages()
    _report(before, env.sync(settings.packages))


@sandbox_app.command("list")
def list_packages(json_output: JsonOption = False) -> None:
    """What sandboxed code can import besides the standard library, with versions."""
    env = _environment()
    found = env.packages()
    if json_output:
        rows = [{"name": p.name, "version": p.version, "requested": p.requested} for p in found]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not found:
        _progress("no packages: sandboxed code has the standard library only "
                  "(add some with `agentcode sandbox add pandas`)")
        return
    width = max(len(p.name) for p in found)
    for p in found:
        note = "" if p.requested else "  (dependency)"
        sys.stdout.write(f"{p.name:<{width}}  {p.version}{note}\n")


@sandbox_app.command("path")
def path() -> None:
    """Print the directory of the sandbox environment on this machine."""
    current = _environment().path
    if current is None:
        raise UsageError("no sandbox environment yet: add packages with `agentcode sandbox add`")
    sys.stdout.write(f"{current}\n")


@sandbox_app.command("status")
def status(json_output: JsonOption = False) -> None:
    """Show the helper that keeps `run` and `gen` warm: process, socket, idle time left."""
    from agentcode.config import load_settings
    from agentcode.sandbox.local import resident

    keep_alive = resident.keep_alive_seconds(load_settings())
    state = resident.running()
    if json_output:
        sys.stdout.write(json.dumps({"keep_alive": keep_alive, "running": state}, indent=2)
                         + "\n")
        return
    if state is None:
        setting = f"keep-alive {keep_alive:g} s" if keep_alive > 0 else "keep-alive off"
        sys.stdout.write(f"no run helper ({setting})\n")
        return
    sys.stdout.write(f"run helper: process {state.get('pid')} on {state.get('socket')}, idle "
                     f"{state.get('idle_seconds', 0):.0f} s, exits in "
                     f"{state.get('left_seconds', 0):.0f} s without a run\n")


@sandbox_app.command("stop")
def stop() -> None:
    """Stop the helper that keeps `run` and `gen` warm (the next one starts it again)."""
    from agentcode.sandbox.local import resident

    stopped = resident.stop()
    _progress("stopped the run helper" if stopped else "no run helper was running")
