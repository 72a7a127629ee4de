"""`agentcode doctor`'s checks of the local sandbox (the ``local`` backend's ``doctor``).

bubblewrap and user namespaces, the jail's own Python started once (and that no secret variable
reaches it), and how the per-session limits hold on this host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from agentcode import runtime
from agentcode.registry.checks import Check, DoctorContext, Status, failed_or_warned


def check_local_sandbox(ctx: DoctorContext) -> Iterator[Check]:
    yield from check_bubblewrap(ctx)
    yield from check_sandbox_python(ctx)
    yield from check_sandbox_limits(ctx)
    yield from check_run_helper(ctx)


def check_bubblewrap(ctx: DoctorContext) -> Iterator[Check]:
    from agentcode.sandbox.local.jail import INSTALL_HINT

    needed = ctx.needed(sandbox="local")
    path = shutil.which("bwrap")
    if path is None:
        yield Check("bubblewrap", failed_or_warned(needed), "not found on PATH", INSTALL_HINT)
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
    return Check("user namespaces", failed_or_warned(needed), f"bwrap cannot start: {said}",
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
    from agentcode.sandbox.local.session import LocalSandboxSession
    from agentcode.secrets import is_secret_name

    if shutil.which("bwrap") is None:
        return  # said by the bubblewrap line
    needed = ctx.needed(sandbox="local")
    probe = "import os, sys\nprint(sys.version.split()[0])\nprint(' '.join(sorted(os.environ)))\n"
    started = time.monotonic()
    try:
        with LocalSandboxSession(ctx.settings) as session:
            execution = session.execute(probe, timeout=20)
    except AgentcodeError as exc:
        yield Check("sandbox python", failed_or_warned(needed), f"the jail did not start: {exc}",
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
    if cgroup.can_freeze():
        yield Check("freeze between executions", Status.OK,
                    "each session's cgroup is frozen between executions")
    else:
        yield Check("freeze between executions", Status.WARN,
                    "no cgroup freezer: between executions the jail's processes are stopped "
                    "with SIGSTOP, which a SIGCONT timer or a fork-and-exit chain can outrun",
                    "run agentcode with a delegated cgroup v2, or as root where the v1 freezer "
                    "hierarchy is mounted")
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


def check_run_helper(ctx: DoctorContext) -> Iterator[Check]:
    """Whether a resident helper keeps `agentcode run` and `gen` warm, and whether one runs
    now."""
    from agentcode.sandbox.local import resident

    state = resident.running()
    if state is not None:
        yield Check("run helper", Status.OK,
                    f"process {state.get('pid')} keeps run's and gen's modules and a jail "
                    f"ready, idle {state.get('idle_seconds', 0):.0f} s of "
                    f"{float(state.get('keep_alive', 0)):g} s (`agentcode sandbox stop` ends it)")
        return
    keep_alive = resident.keep_alive_seconds(ctx.settings)
    if keep_alive > 0:
        yield Check("run helper", Status.OK,
                    f"none running; the next `agentcode run` or `gen` starts one, kept "
                    f"{keep_alive:g} s")
    else:
        why = runtime.why_off(ctx.settings.sandbox_keep_alive, "sandbox_keep_alive")
        yield Check("run helper", Status.OK,
                    f"off ({why}): every `agentcode run` and `gen` starts Python, its modules "
                    "and a jail")
