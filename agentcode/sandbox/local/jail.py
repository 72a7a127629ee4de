"""How the worker is launched: the bubblewrap command line, its environment, the worker config.

The jail sees read-only /usr (and the /bin, /lib* links or dirs), /etc/ld.so.cache, the Python
installation agentcode runs on at a neutral path (the interpreter at /opt/agentcode/python, its
own site-packages shown empty; a venv as /opt/agentcode/venv with a generated pyvenv.cfg and no
packages: the code imports only the sandbox environment's), fresh /proc and /dev, sized tmpfs at
/tmp, /dev/shm and /sandbox (the work dir), and nothing else: no home, no project dir, no
/etc/passwd or /etc/shadow, no network. Files the jail gets as content (the fontconfig file,
the build configuration rewritten for the moved prefix) come from pipes, since a bind would
name its host source in the mount table; bwrap reads its own arguments from a pipe (``--args``),
so /proc/1/cmdline names no host path.

As root, bwrap runs without a user namespace and grants the worker CAP_SETUID/SETGID/CHOWN only
long enough to chown /sandbox and switch to a per-session uid (so RLIMIT_NPROC applies: uid 0
ignores it); leaving uid 0 clears those capabilities. As a normal user, bwrap puts the worker in
a user namespace under the user's own uid.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import re
import shutil
import sys
import sysconfig
from dataclasses import dataclass, field
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
# One result line (outputs, figures, the error) may not exceed this, plus two output caps (the
# last value's text and the error's): past it the worker drops images, then cuts texts, and a
# longer line (code that writes its own) stops the session. Every result the server holds at
# once is bounded by it, not by the pipe.
LINE_LIMIT = 8 * MIB


def line_limit(limits: Limits) -> int:
    return LINE_LIMIT + 2 * max(0, limits.output_bytes)
# Without root, the hard CPU limit is fixed for the session: this many per-execution budgets.
SESSION_CPU_BUDGETS = 10
# Where the jail sees the Python installation (a Python under /usr keeps its own path).
PYTHON_ROOT = "/opt/agentcode/python"
VENV_ROOT = "/opt/agentcode/venv"
# Thread pools of numeric libraries, sized by `thread_count`.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "NUMEXPR_MAX_THREADS", "VECLIB_MAXIMUM_THREADS")
# A minimal fontconfig file (system fonts, cache in /tmp), so fc-list (matplotlib runs it) has
# a config and prints no "Cannot load default config file" error.
FONTCONFIG_FILE = "/etc/fonts/fonts.conf"


@dataclass(frozen=True, slots=True)
class Fds:
    """The worker's ends of the protocol pipes, and the fds bwrap reads at start-up."""

    request: int
    response: int
    info: int | None = None
    seccomp: int | None = None
    venv_config: int | None = None  # pyvenv.cfg for the jail's venv (--ro-bind-data)
    empty: tuple[int, ...] = ()  # empty pipes, one per masked file: their content
    data: tuple[int, ...] = ()  # one pipe per PythonLayout.data file, with its content


@dataclass(frozen=True, slots=True)
class PythonLayout:
    """How the host's Python installation appears in the jail."""

    executable: str  # the interpreter, as the jail sees it
    binds: list[tuple[str, str]] = field(default_factory=list)  # (host, jail), read-only
    links: list[tuple[str, str]] = field(default_factory=list)  # (target, jail path)
    masked: list[str] = field(default_factory=list)  # jail paths shown as empty files
    venv_config: bytes | None = None
    # A shared libpython found through an absolute RUNPATH that names the host path.
    library_path: str | None = None
    # Files made in the jail from bytes (--ro-bind-data: a bind of one names its host source,
    # which these must not): the fontconfig file, the rewritten build configuration.
    data: list[tuple[str, bytes]] = field(default_factory=list)  # (jail path, content)
    hidden: list[str] = field(default_factory=list)  # jail dirs shown empty (host packages)


def find_bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailableError(INSTALL_HINT)
    return path


# The worker is one program run with ``python -I -B -c`` (nothing of agentcode is importable in
# the jail), kept in parts by concern; the parts are joined in this order, which is the order of
# their imports of each other, and those imports are dropped: in the jail they share one namespace.
WORKER_PARTS = ("worker_state.py", "worker_errors.py", "worker_outputs.py", "worker.py")
_PART_IMPORT = re.compile(
    r"^from agentcode\.sandbox\.local\.worker_\w+ import (?:\([^)]*\)|[^\n(]+)$", re.MULTILINE)


@functools.cache
def worker_source() -> str:
    here = Path(__file__).parent
    parts = (here.joinpath(name).read_text(encoding="utf-8") for name in WORKER_PARTS)
    return "\n\n".join(_PART_IMPORT.sub("", part) for part in parts)


# The jail's ``python -c`` program: run the worker's code, compiled here (`worker_code`), from
# the fd after the request fd. Its frames are "<string>" like the program's own.
WORKER_BOOT = ("exec(__import__('marshal').loads("
               "open(int(__import__('sys').argv[2]), 'rb').read()))")


@functools.cache
def worker_code() -> bytes:
    """The worker's code, compiled and marshalled for the jail's interpreter (ours).

    Compiling its source took every session's start ~10 ms in the jail. The result is kept in
    this package's __pycache__, as Python keeps a module's bytecode, with the source it came
    from (used only while that is still the source); not written when bytecode is not
    (``PYTHONDONTWRITEBYTECODE``, a read-only install): then it is compiled once per process.
    """
    import marshal

    source = worker_source()
    cache = Path(__file__).with_name("__pycache__") / f"worker.{sys.implementation.cache_tag}.bin"
    try:
        kept_source, code = marshal.loads(cache.read_bytes())
        if kept_source == source and isinstance(code, bytes):
            return code
    except (OSError, ValueError, EOFError, TypeError):
        pass
    code = marshal.dumps(compile(source, "<string>", "exec"))
    if not sys.dont_write_bytecode:
        _write_cache(cache, marshal.dumps((source, code)))
    return code


def _write_cache(path: Path, data: bytes) -> None:
    """Replace ``path`` at once (a reader sees the old file or the new one), or leave it."""
    import tempfile

    try:
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temporary)


def session_uid() -> int | None:
    """A fresh uid for a root-run jail; None when we are not root (bwrap maps our own uid)."""
    if os.geteuid() != 0:
        return None
    return UID_BASE + random.randrange(UID_SPAN)


def worker_config(limits: Limits, fds: Fds, *, workdir: str, uid: int | None,
                  packages: str | None = None) -> bytes:
    """The worker's first line on its request pipe (not on its command line).

    ``packages``: the sandbox environment's directory as the worker sees it (put on sys.path).

    The hard CPU limit: as root the supervisor moves it before each request (usage so far plus
    one budget); otherwise nothing can raise it again, so it is a total for the session,
    SESSION_CPU_BUDGETS times the per-execution budget.
    """
    cpu = limits.cpu_seconds
    cpu_hard = (cpu + 2 if uid is not None else SESSION_CPU_BUDGETS * cpu) if cpu > 0 else None
    return json.dumps({
        "workdir": workdir,
        "packages": packages,
        "uid": uid,
        "gid": uid,
        "request_fd": fds.request,
        "response_fd": fds.response,
        "line_limit": line_limit(limits),
        "limits": {
            "memory_mb": limits.memory_mb,
            "file_size_mb": limits.file_size_mb,
            "open_files": limits.open_files,
            "processes": limits.processes,
            "cpu_seconds": limits.cpu_seconds,
            "output_bytes": limits.output_bytes,
            "cpu_hard_seconds": cpu_hard,
        },
    }).encode() + b"\n"


def worker_command(executable: str, request_fd: int, code_fd: int) -> list[str]:
    """``code_fd``: a pipe holding `worker_code`.
    -I: ignore PYTHON* variables and the user site; -B: no .pyc files in the work dir."""
    return [executable, "-I", "-B", "-c", WORKER_BOOT, str(request_fd), str(code_fd)]


def thread_count(limits: Limits) -> int:
    """Threads a numeric library may start: the CPUs this process may use, and few enough that
    OpenBLAS & co. (a thread per core by default) stay well inside the process limit."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, limits.processes // 8))


def environment(home: str, limits: Limits,
                executable: str = sys.executable) -> dict[str, str]:
    """The only variables the code sees: no credentials or tokens from the host."""
    path = os.pathsep.join(dict.fromkeys(
        [os.path.dirname(executable), "/usr/local/bin", "/usr/bin", "/bin"]
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
        "FONTCONFIG_FILE": FONTCONFIG_FILE,
        **dict.fromkeys(THREAD_VARIABLES, str(thread_count(limits))),
    }


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _moved(path: str, host_root: str, jail_root: str) -> str:
    return jail_root + path[len(host_root.rstrip("/")):] if path != host_root else jail_root


def _names_host_path(entry: os.DirEntry[str]) -> bool:
    """Package files that record where the host keeps things (installers write them)."""
    name = entry.name
    if name.startswith("__editable__") or name.endswith(".egg-link"):
        return True
    if name.endswith(".pth") and entry.is_file():
        try:
            text = Path(entry.path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return True
        return any(line.strip().startswith("/") for line in text.splitlines())
    return False


def _masked_files(site_dir: str) -> list[str]:
    found: list[str] = []
    entries: list[os.DirEntry[str]] = []
    try:
        entries += os.scandir(site_dir)
        # Compiled editable finders keep the host path too.
        entries += [e for e in os.scandir(os.path.join(site_dir, "__pycache__"))
                    if e.name.startswith("__editable__")]
    except OSError:
        pass
    for entry in entries:
        if _names_host_path(entry):
            found.append(entry.path)
        elif entry.name.endswith(".dist-info"):
            direct_url = os.path.join(entry.path, "direct_url.json")
            if os.path.isfile(direct_url):
                found.append(direct_url)
    return found


@functools.cache
def python_layout() -> PythonLayout:
    """The interpreter at /opt/agentcode/python, a venv's packages at /opt/agentcode/venv."""
    base = os.path.realpath(sys.base_prefix)
    real_exe = os.path.realpath(sys.executable)
    binds: list[tuple[str, str]] = []
    if _under(base, "/usr") or os.path.realpath(sys.base_exec_prefix) != base:
        jail_base = base  # a system Python (already in /usr) or an unusual split layout
        if not _under(base, "/usr"):
            binds.append((base, base))
    else:
        jail_base = PYTHON_ROOT
        binds.append((base, PYTHON_ROOT))
    if _under(real_exe, base):
        executable = _moved(real_exe, base, jail_base)
    else:
        binds.append((os.path.dirname(real_exe), PYTHON_ROOT + "-bin"))
        executable = f"{PYTHON_ROOT}-bin/{os.path.basename(real_exe)}"
    links: list[tuple[str, str]] = []
    venv_config = None
    prefix = os.path.realpath(sys.prefix)
    if prefix != base:
        version = sys.version.split()[0]  # as the platform module says, without its import
        minor = ".".join(version.split(".")[:2])
        for name in ("python", "python3", f"python{minor}"):
            links.append((executable, f"{VENV_ROOT}/bin/{name}"))
        venv_config = (
            f"home = {os.path.dirname(executable)}\n"
            f"include-system-site-packages = {_includes_system_site(prefix)}\n"
            f"version = {version}\n"
        ).encode()
        executable = f"{VENV_ROOT}/bin/python3"
    # The venv's packages are not bound at all (the code imports only the sandbox environment's,
    # and the host's 88 distributions told what the host runs); the base installation's own
    # site-packages is shown empty.
    base_site = os.path.join(base, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}",
                             "site-packages")
    hidden = [jail_site] if os.path.isdir(base_site) and (
        jail_site := _in_jail(base_site, binds)) is not None else []
    masked = [jail_path for path in _masked_files(base_site)
              if (jail_path := _in_jail(path, binds)) is not None
              and not any(_under(jail_path, h) for h in hidden)]
    data = [(FONTCONFIG_FILE, Path(__file__).with_name("fonts.conf").read_bytes())]
    library_path = _library_path(binds)
    if jail_base != base:
        data += _neutral_sysconfig(base, jail_base, binds)
        # The bind's source names a host path in the jail's mount table: a neutral one instead.
        from agentcode.sandbox.local.staging import staged_python

        staged = staged_python(base, base_site)
        if staged is not None:
            binds = [(staged if pair == (base, PYTHON_ROOT) else pair[0], pair[1])
                     for pair in binds]
    return PythonLayout(executable, binds, links, masked, venv_config, library_path,
                        data, hidden)


def _neutral_sysconfig(base: str, jail_base: str,
                       binds: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    """The build configuration (``sysconfig``'s variables) with the moved prefix, not the host's.

    Its ~50 variables (prefix, LIBDIR, CONFINCLUDEPY, ...) named where the host keeps Python.
    """
    import importlib

    try:
        name = sysconfig._get_sysconfigdata_name()  # type: ignore[attr-defined]
        source = importlib.import_module(name).__file__
        if source is None or not source.endswith(".py"):
            return []
        text = Path(source).read_bytes()
    except (AttributeError, ImportError, OSError):
        return []
    jail_path = _in_jail(os.path.realpath(source), binds)
    if jail_path is None:
        return []
    for host in sorted({base, sys.base_prefix, sys.base_exec_prefix}, key=len, reverse=True):
        text = text.replace(host.encode(), jail_base.encode())
    return [(jail_path, text)]


def _library_path(binds: list[tuple[str, str]]) -> str | None:
    """Where the jail finds libpython when the interpreter links it from a moved prefix.

    Without it the dynamic linker would pick another libpython (the system's, through
    ld.so.cache) under this installation's standard library.
    """
    libdir = sysconfig.get_config_var("LIBDIR")
    if not sysconfig.get_config_var("Py_ENABLE_SHARED") or not isinstance(libdir, str):
        return None
    moved = _in_jail(os.path.realpath(libdir), binds)
    return moved if moved is not None and moved != os.path.realpath(libdir) else None


def _in_jail(path: str, binds: list[tuple[str, str]]) -> str | None:
    """Where a host path under one of the binds (or under /usr) appears in the jail."""
    for host, jail in sorted(binds, key=lambda pair: len(pair[0]), reverse=True):
        if _under(path, host):
            return _moved(path, host, jail)
    return path if _under(path, "/usr") else None


def _includes_system_site(prefix: str) -> str:
    try:
        text = Path(prefix, "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return "false"
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "include-system-site-packages":
            return "true" if value.strip().lower() == "true" else "false"
    return "false"


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
    # The fontconfig file itself comes from a pipe (PythonLayout.data): a bind of the package's
    # copy would show the project checkout in the mount table.
    args += ["--perms", "0755", "--dir", "/etc/fonts"]
    return args


def _python_binds(layout: PythonLayout, fds: Fds) -> list[str]:
    args: list[str] = []
    jail_paths = [jail for _, jail in layout.binds] + [path for _, path in layout.links]
    # Parents are created 0755 and empty (a host parent such as /root is 0700: the session uid
    # could not reach the Python inside).
    mounts = {"/", "/tmp", "/dev", "/dev/shm", "/proc", "/usr", WORKDIR}
    parents = sorted({str(p) for path in jail_paths for p in Path(path).parents} - mounts)
    for parent in parents:
        args += ["--perms", "0755", "--dir", parent]
    for host, jail in layout.binds:
        args += ["--ro-bind", host, jail]
    for target, path in layout.links:
        args += ["--symlink", target, path]
    if layout.venv_config is not None and fds.venv_config is not None:
        args += ["--perms", "0644", "--ro-bind-data", str(fds.venv_config),
                 f"{VENV_ROOT}/pyvenv.cfg"]
    # bwrap closes a data fd once read: one empty pipe per masked file.
    for fd, path in zip(fds.empty, layout.masked, strict=True):
        args += ["--perms", "0644", "--ro-bind-data", str(fd), path]
    for path in layout.hidden:
        args += ["--perms", "0755", "--tmpfs", path, "--remount-ro", path]
    for fd, (path, _) in zip(fds.data, layout.data, strict=True):
        args += ["--perms", "0644", "--ro-bind-data", str(fd), path]
    return args


def bwrap_arguments(limits: Limits, fds: Fds, *, uid: int | None,
                    tmpfs: dict[str, str] | None = None,
                    packages: str | None = None) -> list[str]:
    """bwrap's options (given to bwrap on a pipe with --args; the command follows `--`).

    ``tmpfs``: jail path -> a host dir where a tmpfs with an inode limit is already mounted,
    bound instead of bwrap's own --tmpfs (which cannot limit inodes). ``packages``: the
    sandbox environment's host directory, mounted read-only at `packages.JAIL_PATH`.
    """
    layout = python_layout()
    args: list[str] = []
    if uid is not None:
        # Root: no user namespace (uid N must be a real uid for RLIMIT_NPROC to count).
        args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                 "--unshare-cgroup-try"]
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN"):
            args += ["--cap-add", cap]
    else:
        args += ["--unshare-all"]
    args += ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv"]
    for key, value in environment(WORKDIR, limits, layout.executable).items():
        args += ["--setenv", key, value]
    if layout.library_path is not None:
        args += ["--setenv", "LD_LIBRARY_PATH", layout.library_path]
    args += _system_binds()
    args += ["--proc", "/proc", "--dev", "/dev"]
    sizes = {"/tmp": (limits.tmp_mb, "1777"), "/dev/shm": (limits.shm_mb, "1777"),
             WORKDIR: (limits.workdir_mb, "0700")}
    for path, (size_mb, mode) in sizes.items():
        if tmpfs and path in tmpfs:
            args += ["--bind", tmpfs[path], path]
        else:
            args += ["--size", str(size_mb * MIB), "--perms", mode, "--tmpfs", path]
    args += _python_binds(layout, fds)
    if packages is not None:
        from agentcode.sandbox.local.packages import JAIL_PATH
        from agentcode.sandbox.local.staging import staged_tree

        # Bound from hard links at a neutral path: the mount table shows a bind's source.
        source = staged_tree(packages, "packages") or packages
        args += ["--perms", "0755", "--dir", os.path.dirname(JAIL_PATH),
                 "--ro-bind", source, JAIL_PATH]
    args += ["--chdir", WORKDIR]
    if fds.info is not None:
        args += ["--info-fd", str(fds.info)]
    if fds.seccomp is not None:
        args += ["--seccomp", str(fds.seccomp)]
    return args
