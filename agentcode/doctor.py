"""`agentcode doctor`: is this machine ready, and if not, what to do about it.

Each check is a function in `CHECKS` that takes a `DoctorContext` and yields `Check` lines; a new
concern (cgroup limits, sandbox packages, ...) is one more function appended there (or through
`register`). A check that crashes becomes a failing line naming the exception, never a traceback.

Offline by default: nothing here calls the network unless ``online`` is set (then one STS call).
The embedded model's 1.1 GB are not hashed again: the verified stamp written when the weights
were assembled (size, mtime, inode and sha256 of that exact file) is trusted, as at every start.

Status: ``ok``; ``warn`` (something optional is missing, e.g. AWS credentials when nothing
configured uses AWS); ``fail`` (the default offline path or something configured is broken: exit
1). Every line that is not ok says the fix.
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentcode.config import Settings


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, what was found, and the fix when not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail,
                "fix": self.fix}


@dataclass(slots=True)
class DoctorContext:
    """What every check may read: the settings, whether the network may be used."""

    settings: Settings
    online: bool = False

    def needed(self, *, model_prefix: str = "", sandbox: str = "") -> bool:
        """Whether the configured chain or sandbox uses this: its failure is then a failure."""
        if sandbox and self.settings.sandbox == sandbox:
            return True
        return bool(model_prefix) and any(
            name == model_prefix or name.startswith(model_prefix + ":")
            for name in self.settings.model
        )


CheckFn = Callable[[DoctorContext], Iterable[Check]]


def _failed_or_warned(needed: bool) -> Status:
    return Status.FAIL if needed else Status.WARN


# -- the local sandbox -------------------------------------------------------------------------


def check_bubblewrap(ctx: DoctorContext) -> Iterator[Check]:
    from agentcode.sandbox.local.jail import INSTALL_HINT

    needed = ctx.needed(sandbox="local")
    path = shutil.which("bwrap")
    if path is None:
        yield Check("bubblewrap", _failed_or_warned(needed), "not found on PATH", INSTALL_HINT)
        return
    version = _first_line([path, "--version"])
    yield Check("bubblewrap", Status.OK, f"{version or 'bwrap'} at {path}")
    yield _user_namespaces(path, needed)


def _user_namespaces(bwrap: str, needed: bool) -> Check:
    if os.geteuid() == 0:
        return Check("user namespaces", Status.OK,
                     "not needed: as root the jail switches to a per-session uid itself")
    probe = subprocess.run(
        [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
        capture_output=True, text=True, timeout=20, check=False,
    )
    if probe.returncode == 0:
        return Check("user namespaces", Status.OK, "unprivileged user namespaces work")
    said = " ".join(probe.stderr.split())[:200] or f"bwrap exited {probe.returncode}"
    return Check("user namespaces", _failed_or_warned(needed), f"bwrap cannot start: {said}",
                 _userns_fix())


def _userns_fix() -> str:
    apparmor = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
    if _read_int(apparmor) == 1:
        return ("AppArmor blocks unprivileged user namespaces (Ubuntu 23.10+): "
                "sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0, or install an "
                "AppArmor profile for bwrap")
    if _read_int(Path("/proc/sys/kernel/unprivileged_userns_clone")) == 0:
        return "enable them: sudo sysctl kernel.unprivileged_userns_clone=1"
    if _read_int(Path("/proc/sys/user/max_user_namespaces")) == 0:
        return "enable them: sudo sysctl user.max_user_namespaces=15000"
    return ("allow unprivileged user namespaces (in a container: run it with --privileged or a "
            "seccomp profile that permits unshare), or use --sandbox agentcore")


def check_sandbox_python(ctx: DoctorContext) -> Iterator[Check]:
    """Start the real jail once: its Python, and that no secret variable reaches it."""
    from agentcode.errors import AgentcodeError
    from agentcode.sandbox import open_sandbox
    from agentcode.secrets import is_secret_name

    if shutil.which("bwrap") is None:
        return  # said by the bubblewrap line
    needed = ctx.needed(sandbox="local")
    probe = "import os, sys\nprint(sys.version.split()[0])\nprint(' '.join(sorted(os.environ)))\n"
    started = time.monotonic()
    try:
        with open_sandbox("local", ctx.settings) as session:
            execution = session.execute(probe, timeout=20)
    except AgentcodeError as exc:
        yield Check("sandbox python", _failed_or_warned(needed), f"the jail did not start: {exc}",
                    "see the bubblewrap and user namespaces lines, or use --sandbox agentcore")
        return
    elapsed_ms = (time.monotonic() - started) * 1000
    lines = execution.stdout.splitlines()
    if not execution.ok or len(lines) < 2:
        yield Check("sandbox python", Status.FAIL,
                    f"the jail ran but Python failed: {execution.stderr.strip()[:200]}",
                    "reinstall agentcode in a venv of a system Python, then run doctor again")
        return
    leaked = [name for name in lines[1].split() if is_secret_name(name)]
    if leaked:
        yield Check("sandbox python", Status.FAIL,
                    f"secret variables reached the jail: {', '.join(leaked)}",
                    "this is a bug in agentcode: report it, and use --sandbox agentcore meanwhile")
        return
    yield Check("sandbox python", Status.OK,
                f"Python {lines[0]} in the jail, started and ran in {elapsed_ms:.0f} ms; "
                "no secret variables inside")


def check_sandbox_limits(ctx: DoctorContext) -> Iterator[Check]:
    """Whether memory and process limits hold per session, and the tmpfs mounts have inodes."""
    from agentcode.sandbox.local import cgroup, tmpfs

    if shutil.which("bwrap") is None:
        return
    how = cgroup.describe()
    if how:
        yield Check("session limits", Status.OK,
                    f"memory and processes limited per session by {how}")
    else:
        yield Check("session limits", Status.WARN,
                    "no writable cgroup: memory and process limits are per process (rlimits), "
                    "so several processes of one session can together use more",
                    "run agentcode with a delegated cgroup v2 (e.g. `systemd-run --user "
                    "--scope -p Delegate=yes agentcode ...`) or as root on a host with cgroups")
    if tmpfs.inode_limits_available():
        yield Check("tmpfs inodes", Status.OK,
                    f"/tmp, /dev/shm and /sandbox hold at most {ctx.settings.limits.files} "
                    "files each")
    else:
        yield Check("tmpfs inodes", Status.WARN,
                    "the jail's tmpfs mounts have a size but no file-count limit: empty files "
                    "cost host kernel memory",
                    "run agentcode as root (it mounts the tmpfs itself), or rely on a cgroup "
                    "memory limit, which counts that memory")


# -- the embedded model ------------------------------------------------------------------------


def check_embedded_model(ctx: DoctorContext) -> Iterator[Check]:
    needed = ctx.needed(model_prefix="local")
    level = _failed_or_warned(needed)
    try:
        from agentcode.models.local import local_model_status
    except ImportError as exc:
        yield Check("embedded model", level, f"cannot load its support code: {exc}",
                    "pip install 'agentcode[local]'")
        return
    rows = local_model_status(ctx.settings)
    chosen = next((row for row in rows if row.get("default")), None)
    if chosen is None:
        spec = ctx.settings.local_model or os.environ.get("AGENTCODE_LOCAL_MODEL", "")
        yield from _custom_gguf(spec, level)
        return
    name = chosen["name"]
    if not chosen.get("runtime"):
        yield Check("embedded model", level, "the llama.cpp runtime (xllamacpp) is not installed",
                    str(chosen.get("install", "pip install 'agentcode[local]'")))
        return
    if chosen.get("assembled"):
        yield Check("embedded model", Status.OK,
                    f"{name}: weights assembled and verified (sha256 stamp beside "
                    f"{chosen['path']}; a changed file is hashed again)")
    elif chosen.get("installed"):
        yield Check("embedded model", Status.OK,
                    f"{name}: weights installed; joined and verified on first use "
                    f"(~{chosen['size'] / 1e9:.1f} GB into {Path(chosen['path']).parent})")
    else:
        yield Check("embedded model", level, f"{name}: weights not installed",
                    str(chosen.get("install", "")))


def check_warm_model(ctx: DoctorContext) -> Iterator[Check]:
    """Whether the embedded model stays loaded between `gen`s, and what is loaded now."""
    from agentcode.models.warm import keep_alive_seconds, running

    keep_alive = keep_alive_seconds(ctx.settings)
    warm = running()
    for state in warm:
        yield Check("warm model", Status.OK,
                    f"{Path(str(state.get('model_path'))).name} loaded in process "
                    f"{state.get('pid')}, idle {state.get('idle_seconds', 0):.0f} s of "
                    f"{float(state.get('keep_alive', 0)):g} s (`agentcode model stop` ends it)")
    if warm:
        return
    if keep_alive > 0:
        yield Check("warm model", Status.OK,
                    f"none loaded; the next gen on the embedded model keeps it loaded for "
                    f"{keep_alive:g} s")
    else:
        why = "CI is set" if os.environ.get("CI") and ctx.settings.local_keep_alive < 0 else (
            "local_keep_alive = 0")
        yield Check("warm model", Status.OK,
                    f"off ({why}): every gen on the embedded model loads it again")


def _custom_gguf(spec: str, level: Status) -> Iterator[Check]:
    path = Path(spec).expanduser()
    if spec and path.is_file():
        yield Check("embedded model", Status.OK, f"GGUF file {path} ({path.stat().st_size} bytes)")
    else:
        yield Check("embedded model", level, f"the local model {spec!r} was not found",
                    "set AGENTCODE_LOCAL_MODEL / local_model to a .gguf path or a known name "
                    "(agentcode models lists them)")


# -- AWS ---------------------------------------------------------------------------------------


def check_aws(ctx: DoctorContext) -> Iterator[Check]:
    from agentcode.aws.session import aws_status

    needed = ctx.needed(model_prefix="bedrock", sandbox="agentcore")
    status = aws_status(ctx.settings)
    profile = f", profile {status.profile}" if status.profile else ""
    yield Check("aws region", Status.OK,
                f"{status.region.name} (from {status.region.source}){profile}; "
                "used by Bedrock and AgentCore")
    credentials = status.credentials
    bearer = os.environ.get("AWS_BEARER_TOKEN_BEDROCK")
    if credentials.found:
        yield Check("aws credentials", Status.OK, f"found: {credentials.source}")
    elif bearer:
        yield Check("aws credentials", Status.OK if not ctx.needed(sandbox="agentcore")
                    else Status.FAIL,
                    "only a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK): enough for Bedrock, "
                    "not for AgentCore",
                    "" if not ctx.needed(sandbox="agentcore")
                    else "configure AWS credentials for AgentCore (aws configure, aws sso login)")
    else:
        why = f" ({credentials.note})" if credentials.note else ""
        usage = ("needed: the configuration uses Bedrock or AgentCore" if needed
                 else "optional: only -m bedrock and --sandbox agentcore need them")
        yield Check("aws credentials", _failed_or_warned(needed), f"none found{why}; {usage}",
                    "aws configure, aws sso login, AWS_PROFILE / --profile, or "
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if ctx.online and credentials.found:
        yield _caller_identity(ctx, needed)


def _caller_identity(ctx: DoctorContext, needed: bool) -> Check:
    from agentcode.aws.errors import describe
    from agentcode.aws.session import caller_identity

    try:
        return Check("aws identity", Status.OK, f"STS says: {caller_identity(ctx.settings)}")
    except Exception as exc:  # noqa: BLE001 - any failure is the report
        return Check("aws identity", _failed_or_warned(needed),
                     f"STS GetCallerIdentity failed: {describe(exc)}",
                     "refresh the credentials (aws sso login, new keys) or check the network")


# -- history -----------------------------------------------------------------------------------


def check_history(ctx: DoctorContext) -> Iterator[Check]:
    import sqlite3

    from agentcode.store import resolve_path

    if not ctx.settings.history:
        yield Check("history", Status.OK, "switched off (history = false)")
        return
    path = resolve_path(settings=ctx.settings)
    if not path.exists():
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and os.access(parent, os.W_OK):
            yield Check("history", Status.OK, f"{path}: created on the first gen or run")
        else:
            yield Check("history", Status.FAIL, f"{path}: its directory is not writable",
                        "set db = \"/a/writable/path.db\" in config.toml or AGENTCODE_DB")
        return
    try:
        # Read-only: the doctor changes nothing, and a locked or broken file is reported.
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            count = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        yield Check("history", Status.FAIL, f"{path}: cannot read it ({exc})", _history_fix(path))
        return
    if verdict != "ok":
        yield Check("history", Status.FAIL, f"{path}: integrity check failed: {verdict}",
                    _history_fix(path))
        return
    writable = os.access(path, os.W_OK)
    yield Check("history", Status.OK if writable else Status.FAIL,
                f"{path}: {count} entries, integrity ok" + ("" if writable else ", read-only"),
                "" if writable else f"make {path} writable (chmod u+w)")


def _history_fix(path: Path) -> str:
    return (f"move {path} aside (agentcode starts a new one), or recover it with "
            f"sqlite3 {path} .recover")


# -- running them ------------------------------------------------------------------------------

# The checks, in report order. Add one by appending (or `register`): a function of the context
# yielding Check lines.
CHECKS: list[CheckFn] = [
    check_bubblewrap,
    check_sandbox_python,
    check_sandbox_limits,
    check_embedded_model,
    check_warm_model,
    check_aws,
    check_history,
]


def register(check: CheckFn) -> CheckFn:
    """Add a check at the end of the report (usable as a decorator)."""
    CHECKS.append(check)
    return check


def run_checks(settings: Settings, *, online: bool = False,
               checks: Iterable[CheckFn] | None = None) -> list[Check]:
    ctx = DoctorContext(settings, online=online)
    lines: list[Check] = []
    for check in CHECKS if checks is None else checks:
        try:
            lines.extend(check(ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check is one failing line
            name = getattr(check, "__name__", "check").removeprefix("check_").replace("_", " ")
            lines.append(Check(name, Status.FAIL, f"the check itself failed: "
                               f"{type(exc).__name__}: {exc}", "run agentcode doctor --debug"))
    return lines


def healthy(lines: Iterable[Check]) -> bool:
    return all(line.status is not Status.FAIL for line in lines)


def report(lines: list[Check]) -> dict[str, Any]:
    return {"ok": healthy(lines), "checks": [line.to_dict() for line in lines]}


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout.strip().splitlines() or [""])[0]


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
