"""The sandbox environment: third-party packages for user code, apart from agentcode's own.

Packages are installed on the host with pip (uv where pip is missing), from the index the
user's pip is configured for, into a fresh directory under the user data dir, for the Python the
jail runs; only then does the ``current`` link switch to it, so a failed install leaves the
environment as it was. The jail mounts the current directory read-only at `JAIL_PATH`, a path
that names nothing on the host; user code never installs anything itself (it has no network).

Wheels only (``--only-binary :all:``): building an sdist would run the package's own code on the
host, and needs a compiler the user may not have. pip still builds a local archive or directory
it is given, whatever that option says, so only names from the index are accepted (never a file,
a directory or a URL), and the installer runs in an empty directory of its own with ``-P``: a
file named like the spec, or a ``pip/`` package in the user's directory, is never picked up.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agentcode.errors import (
    PackageInstallError,
    SandboxError,
    SandboxUnavailableError,
    UsageError,
)

if TYPE_CHECKING:
    from agentcode.config import Settings

# Where the environment appears inside the jail (on sys.path of the code).
JAIL_PATH = "/opt/agentcode/packages"
# What AgentCore Code Interpreter has preinstalled, as far as a prompt needs it (the data and
# ML libraries code is written against; not their dependencies). Source: the Bedrock AgentCore
# developer guide, "Pre-installed libraries" (code-interpreter-preinstalled-libraries), read
# 2026-12-01.
AGENTCORE_PREINSTALLED = (
    "pandas", "polars", "numpy", "scipy", "matplotlib", "seaborn", "plotly", "bokeh",
    "statsmodels", "sympy", "pyarrow", "scikit-learn", "scikit-image", "torch", "xgboost",
    "nltk", "spacy", "textblob", "openai",
)
# What pip takes for a local file rather than a name (pip's archive and wheel extensions).
_FILE_SUFFIXES = (".whl", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz",
                  ".txz", ".tlz", ".tar.lz", ".tar.lzma")
_META = "agentcode-env.json"
_LOG = "last-install.log"
_CURRENT = "current"


def python_tag() -> str:
    """The Python the jail runs (the one agentcode runs on): packages must be built for it."""
    return f"{sys.implementation.cache_tag}-{sys.platform}"


@dataclass(frozen=True, slots=True)
class Package:
    """One distribution the code can import from: ``requested`` if the user added it by name."""

    name: str
    version: str
    requested: bool


def _requirement_name(spec: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        requirement = Requirement(spec)
    except InvalidRequirement:
        raise UsageError(
            f"invalid package {spec!r}: give a name, optionally with a version (pandas, numpy>=2)"
        ) from None
    if requirement.url:
        raise UsageError(f"invalid package {spec!r}: give a name from the package index, not a URL")
    if requirement.name.lower().endswith(_FILE_SUFFIXES):
        # A valid name to packaging, but pip takes it for a local archive and builds it.
        raise UsageError(f"invalid package {spec!r}: give a name from the package index, not a "
                         "file")
    return canonicalize_name(requirement.name)


class SandboxEnvironment:
    """The packages user code may import. ``root`` defaults to ``<data dir>/sandbox-env``."""

    def __init__(self, root: str | Path | None = None, *,
                 on_install: Callable[[list[str]], None] | None = None) -> None:
        if root is None:
            from agentcode.config import data_dir

            root = data_dir() / "sandbox-env"
        self.root = Path(root)
        self.on_install = on_install  # told what is about to be installed (it can take minutes)

    # -- reading --------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The current environment's directory, or None before the first install."""
        link = self.root / _CURRENT
        if not link.is_symlink():
            return None
        target = self.root / os.readlink(link)
        return target if target.is_dir() else None

    def _meta(self) -> dict[str, object]:
        path = self.path
        if path is None:
            return {}
        try:
            data = json.loads((path / _META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def requested(self) -> list[str]:
        """The packages the user asked for (with any version given), in the order given."""
        specs = self._meta().get("requested")
        return [str(s) for s in specs] if isinstance(specs, list) else []

    def requested_names(self) -> list[str]:
        """The requested packages' names as the user wrote them, without versions."""
        return [_display_name(spec) for spec in self.requested()]

    def packages(self) -> list[Package]:
        """Every distribution in the environment, requested ones marked, sorted by name."""
        path = self.path
        if path is None:
            return []
        from importlib.metadata import distributions

        from packaging.utils import canonicalize_name

        wanted = {_requirement_name(spec) for spec in self.requested()}
        found: dict[str, Package] = {}
        for dist in distributions(path=[str(path)]):
            name = dist.metadata["Name"]
            if not name:
                continue
            key = canonicalize_name(name)
            found[key] = Package(name, dist.version, key in wanted)
        return sorted(found.values(), key=lambda p: p.name.lower())

    def mount_source(self) -> str | None:
        """The directory to mount at `JAIL_PATH`, or None when there are no packages.

        Refuses an environment built for another Python: its compiled modules would not load.
        """
        path = self.path
        if path is None:
            return None
        built_for = self._meta().get("python")
        if built_for != python_tag():
            raise SandboxUnavailableError(
                f"the sandbox environment was built for {built_for}, but agentcode now runs "
                f"{python_tag()}: rebuild it with `agentcode sandbox sync` or "
                "`agentcode sandbox add` with your packages"
            )
        return str(path)

    # -- changing -------------------------------------------------------------------------

    def add(self, specs: Sequence[str]) -> list[Package]:
        """Install ``specs`` alongside what is requested already (a new spec for a name wins)."""
        if not specs:
            raise UsageError("name a package to add, e.g. `agentcode sandbox add pandas`")
        new = {_requirement_name(spec): spec for spec in specs}
        kept = [s for s in self.requested() if _requirement_name(s) not in new]
        return self.sync([*kept, *new.values()])

    def remove(self, names: Sequence[str]) -> list[Package]:
        """Rebuild the environment without ``names`` (and without what only they needed)."""
        if not names:
            raise UsageError("name at least one package to remove")
        requested = self.requested()
        have = {_requirement_name(s): s for s in requested}
        for name in names:
            key = _requirement_name(name)
            if key in have:
                continue
            installed = {_requirement_name(p.name) for p in self.packages()}
            if key in installed:
                raise UsageError(
                    f"{name} was installed as a dependency of another package: remove that one "
                    f"(added: {', '.join(requested)})"
                )
            listing = ", ".join(requested) if requested else "nothing yet"
            raise UsageError(f"{name} is not in the sandbox environment (added: {listing})")
        gone = {_requirement_name(n) for n in names}
        return self.sync([s for s in requested if _requirement_name(s) not in gone])

    def sync(self, specs: Sequence[str]) -> list[Package]:
        """Make the environment hold exactly ``specs`` and their dependencies."""
        specs = list(dict.fromkeys(s.strip() for s in specs if s.strip()))
        for spec in specs:
            _requirement_name(spec)
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock():
            target = self.root / f"env-{time.time_ns():x}"
            target.mkdir()
            try:
                if specs:
                    self._install(target, specs)
                shutil.rmtree(target / "bin", ignore_errors=True)  # scripts name host paths
                meta = {"requested": specs, "python": python_tag(),
                        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                (target / _META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
                for path in target.rglob("*"):  # read-only in the jail; keep it so on the host
                    if path.is_dir() and not path.is_symlink():
                        path.chmod(0o755)
                self._switch(target)
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
            self._remove_old(keep=target)
        return self.packages()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.root / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(
                    "another `agentcode sandbox` command is changing the environment: "
                    "wait for it to finish"
                ) from None
            yield

    def _switch(self, target: Path) -> None:
        temporary = self.root / f".{_CURRENT}-{target.name}"
        os.symlink(target.name, temporary)
        os.replace(temporary, self.root / _CURRENT)

    def _remove_old(self, keep: Path) -> None:
        for entry in self.root.glob("env-*"):
            if entry != keep:
                shutil.rmtree(entry, ignore_errors=True)

    def _install(self, target: Path, specs: list[str]) -> None:
        command = installer_command(target.absolute(), specs)  # it runs elsewhere
        if self.on_install is not None:
            self.on_install(specs)
        log = self.root / _LOG
        # An empty directory of its own as the cwd: nothing in the user's directory (a file
        # named like a spec, a pip/ package) is ever seen by the installer.
        with tempfile.TemporaryDirectory(prefix=".cwd-", dir=self.root) as cwd:
            try:
                result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                                        text=True, check=False, cwd=cwd)
            except OSError as exc:
                raise SandboxError(f"cannot run the installer {command[0]}: "
                                   f"{exc.strerror}") from None
        log.write_text(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}", encoding="utf-8")
        if result.returncode != 0:
            raise install_error(result.stdout + result.stderr, log)


def installer_command(target: Path, specs: list[str]) -> list[str]:
    """pip of the Python the jail runs (it reads the user's pip config), else uv."""
    options = ["--target", str(target), "--only-binary", ":all:"]
    if importlib.util.find_spec("pip") is not None:
        # -P: the cwd is not put on sys.path (`-m` would put it first).
        return [sys.executable, "-P", "-m", "pip", "install", "--no-input",
                "--disable-pip-version-check", "--no-warn-script-location", *options, *specs]
    uv = shutil.which("uv")
    if uv is not None:
        return [uv, "pip", "install", "--python", sys.executable, *options, *specs]
    raise SandboxUnavailableError(
        f"neither pip nor uv is available to install packages: install pip for {sys.executable} "
        "(python -m ensurepip) or uv"
    )


def install_error(output: str, log: Path) -> PackageInstallError:
    """One line for a failed install, from the installer's own last error line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR: ").removeprefix("error: ") for line in lines
              if line.startswith(("ERROR:", "error:"))]
    reason = errors[-1] if errors else (lines[-1] if lines else "the installer failed")
    unchanged = f"the sandbox environment is unchanged (installer output: {log})"
    lowered = output.lower()
    if "no matching distribution" in lowered or "could not find a version" in lowered:
        return PackageInstallError(
            f"cannot install packages: {reason} (check the name, the network or your "
            f"pip index; only prebuilt wheels for {python_tag()} are used); {unchanged}",
            not_found=True,
        )
    return PackageInstallError(f"cannot install packages: {reason}; {unchanged}")


def importable_packages(backend: str, settings: Settings) -> list[str]:
    """The third-party packages code run by ``backend`` can import, by the names people use.

    The local jail (and "unsafe") has the sandbox environment's requested packages (their
    dependencies come along but are not listed); AgentCore has its preinstalled set and the
    configured packages. Other backends: none known.
    """
    if backend in ("local", "unsafe"):
        try:
            return SandboxEnvironment(settings.sandbox_env).requested_names()
        except (OSError, UsageError):
            return []
    if backend == "agentcore":
        return list(dict.fromkeys([*AGENTCORE_PREINSTALLED, *map(_display_name,
                                                                 settings.packages)]))
    return []


def packages_rule(names: Sequence[str]) -> str:
    """The prompt's line about imports when the sandbox has ``names`` installed."""
    return (f"- you may import the standard library and these installed packages: "
            f"{', '.join(names)}; no others are installed")


def _display_name(spec: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(spec).name
    except InvalidRequirement:
        return spec
