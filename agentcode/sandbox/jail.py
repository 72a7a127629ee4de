"""How the worker is launched: the bubblewrap command line, its environment, the worker config.

The jail sees read-only /usr (and the /bin, /lib* links or dirs), /etc/ld.so.cache, the Python
installation agentcode runs on (base prefix and venv, read-only, so numpy & co. work when
installed), fresh /proc and /dev, sized tmpfs at /tmp, /dev/shm and /sandbox (the work dir), and
nothing else: no home, no project dir, no /etc/passwd or /etc/shadow, no network.

As root, bwrap runs without a user namespace and grants the worker CAP_SETUID/SETGID/CHOWN only
long enough to chown /sandbox and switch to a per-session uid (so RLIMIT_NPROC applies: uid 0
ignores it); leaving uid 0 clears those capabilities. As a normal user, bwrap puts the worker in
a user namespace under the user's own uid.
"""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from agentcode.config import Limits
from agentcode.errors import SandboxUnavailableError
from agentcode.sandbox.base import WORKDIR

INSTALL_HINT = (
    "bubblewrap (bwrap) is not installed: install it with `apt-get install bubblewrap` "
    "(Debian/Ubuntu), `dnf install bubblewrap` (Fedora) or `pacman -S bubblewrap` (Arch), "
    "or choose another sandbox with --sandbox agentcore"
)
# Per-session uids come from a range no distribution allocates to real users.
UID_BASE = 1_600_000_000
UID_SPAN = 1 << 24
MIB = 1024 * 1024
# One protocol line (a result with its outputs) may not exceed this.
LINE_LIMIT = 64 * MIB


@dataclass(frozen=True, slots=True)
class Fds:
    """The worker's ends of the protocol pipes, and bwrap's info and seccomp fds."""

    request: int
    response: int
    info: int | None = None
    seccomp: int | None = None


def find_bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailableError(INSTALL_HINT)
    return path


@functools.cache
def worker_source() -> str:
    return Path(__file__).with_name("worker.py").read_text(encoding="utf-8")


def session_uid() -> int | None:
    """A fresh uid for a root-run jail; None when we are not root (bwrap maps our own uid)."""
    if os.geteuid() != 0:
        return None
    return UID_BASE + random.randrange(UID_SPAN)


def worker_config(limits: Limits, fds: Fds, *, workdir: str, uid: int | None) -> str:
    return json.dumps({
        "workdir": workdir,
        "uid": uid,
        "gid": uid,
        "request_fd": fds.request,
        "response_fd": fds.response,
        "line_limit": LINE_LIMIT,
        "limits": {
            "memory_mb": limits.memory_mb,
            "file_size_mb": limits.file_size_mb,
            "open_files": limits.open_files,
            "processes": limits.processes,
            "cpu_seconds": limits.cpu_seconds,
            "output_bytes": limits.output_bytes,
        },
    })


def worker_command(config: str) -> list[str]:
    # -I: ignore PYTHON* variables and the user site; -B: no .pyc files in the work dir.
    return [sys.executable, "-I", "-B", "-c", worker_source(), config]


def environment(home: str) -> dict[str, str]:
    """The only variables the code sees: no credentials or tokens from the host."""
    path = os.pathsep.join(dict.fromkeys(
        [os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
    ))
    return {
        "PATH": path,
        "HOME": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "XDG_CACHE_HOME": "/tmp/.cache",
        "XDG_CONFIG_HOME": "/tmp/.config",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _python_paths() -> list[str]:
    """The Python installation to expose read-only, without nesting or duplicates."""
    candidates = {sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix}
    real_exe = os.path.realpath(sys.executable)
    if not any(real_exe.startswith(p.rstrip("/") + "/") for p in candidates):
        candidates.add(os.path.dirname(real_exe))
    chosen: list[str] = []
    for path in sorted((os.path.abspath(p) for p in candidates), key=len):
        covered = path == "/usr" or path.startswith("/usr/") or any(
            path == c or path.startswith(c.rstrip("/") + "/") for c in chosen
        )
        if not covered and os.path.isdir(path):
            chosen.append(path)
    return chosen


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    if os.path.isfile("/etc/ld.so.cache"):
        # Only the linker cache from /etc (no passwd, shadow, hosts, credentials).
        args += ["--perms", "0755", "--dir", "/etc",
                 "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


def bwrap_command(bwrap: str, limits: Limits, fds: Fds, *, uid: int | None) -> list[str]:
    """The full command line: bwrap's options, then the worker."""
    args = [bwrap]
    if uid is not None:
        # Root: no user namespace (uid N must be a real uid for RLIMIT_NPROC to count).
        args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                 "--unshare-cgroup-try"]
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN"):
            args += ["--cap-add", cap]
    else:
        args += ["--unshare-all"]
    args += ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv"]
    for key, value in environment(WORKDIR).items():
        args += ["--setenv", key, value]
    args += _system_binds()
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(limits.tmp_mb * MIB), "--perms", "1777", "--tmpfs", "/tmp"]
    args += ["--size", str(limits.shm_mb * MIB), "--perms", "1777", "--tmpfs", "/dev/shm"]
    args += ["--size", str(limits.workdir_mb * MIB), "--perms", "0700", "--tmpfs", WORKDIR]
    # Python after the tmpfs mounts: a venv under /tmp (a CI checkout) must not be hidden by them.
    python_paths = _python_paths()
    # Parents the bind needs are created like their host dirs (/root is 0700): open them up,
    # or the session uid could not reach the Python inside. They are empty in the jail.
    mounts = {"/", "/tmp", "/dev", "/dev/shm", "/proc", WORKDIR}
    parents = sorted({str(p) for path in python_paths for p in Path(path).parents} - mounts)
    for parent in parents:
        args += ["--perms", "0755", "--dir", parent]
    for path in python_paths:
        args += ["--ro-bind", path, path]
    args += ["--chdir", WORKDIR]
    if fds.info is not None:
        args += ["--info-fd", str(fds.info)]
    if fds.seccomp is not None:
        args += ["--seccomp", str(fds.seccomp)]
    config = worker_config(limits, fds, workdir=WORKDIR, uid=uid)
    return args + ["--", *worker_command(config)]
