"""The user's private runtime directory: where the background processes of agentcode (the warm
model, the `run` helper) keep their state files and sockets.

It is ``$AGENTCODE_HOME/run`` when that is set, else ``$XDG_RUNTIME_DIR/agentcode``, else
``/tmp/agentcode-UID``; created mode 0700 and refused if anyone else owns it or may enter it.

This module imports ``os`` and ``zlib`` only: the `agentcode run` client computes its helper's
socket from it before anything else is loaded (agentcode/cli/run_client.py), and
`agentcode.config` alone costs ~7 ms (dataclasses, pathlib).
"""

from __future__ import annotations

import os
import sys
import zlib

# sockaddr_un's sun_path is 108 bytes; a longer path is reached through the directory's fd.
_SUN_PATH_MAX = 107


class NotPrivateError(PermissionError):
    """The runtime directory exists but is not this user's alone."""


def runtime_path() -> str:
    """The directory's path, without creating or checking it."""
    home = os.environ.get("AGENTCODE_HOME")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if home:
        return os.path.join(os.path.expanduser(home), "run")
    if xdg and os.path.isdir(xdg):
        return os.path.join(xdg, "agentcode")
    return f"/tmp/agentcode-{os.getuid()}"


def is_private(path: str) -> bool:
    """Whether ``path`` is a directory of this user's that nobody else may enter."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (info.st_uid == os.getuid() and not info.st_mode & 0o077
            and (info.st_mode & 0o170000) == 0o040000)


def runtime_dir() -> str:
    """The directory, created 0700 if missing; `NotPrivateError` if anyone else's."""
    path = runtime_path()
    try:  # noqa: SIM105 - contextlib is one more import on every run's path
        os.makedirs(path, mode=0o700)
    except FileExistsError:
        pass
    if not is_private(path):
        raise NotPrivateError(f"{path} is not a private directory of this user")
    return path


def installation_key() -> str:
    """Names what belongs to this installation (interpreter, agentcode's files, version), so
    two virtual environments never share a background process."""
    package = os.path.dirname(os.path.abspath(__file__))
    version = getattr(sys.modules.get("agentcode"), "__version__", "")
    text = f"{sys.executable}|{package}|{version}".encode()
    return f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}"


def socket_address(path: str) -> tuple[str, int | None]:
    """An address for ``path`` that fits sun_path, and the directory fd it uses (to close
    after the connect or bind), or None when ``path`` fits as it is."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        return path, None
    directory, name = os.path.split(path)
    fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{fd}/{name}", fd


def runs_module(pid: int, module: str) -> bool:
    """Whether ``pid`` is a process of this user running ``python -m MODULE`` (a background
    process of ours, not a recycled pid that now belongs to something else)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().split(b"\0")
        owner = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return False
    return owner == os.getuid() and module.encode() in cmdline


def end_process(pid: int, module: str, timeout: float = 5.0) -> bool:
    """SIGTERM our background process ``pid`` (`runs_module`), then SIGKILL if it is still
    there after ``timeout``; whether it had to be killed."""
    import signal
    import time

    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return False
    deadline = time.monotonic() + timeout
    while runs_module(pid, module) and time.monotonic() < deadline:
        time.sleep(0.02)
    if not runs_module(pid, module):
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return False
    return True


def keep_alive(configured: float, default: float) -> float:
    """Seconds a background process of ours waits for the next request: ``configured`` if set
    (>= 0; 0 is off), else ``default``, or off when ``CI`` is set (a CI job leaves nothing)."""
    if configured >= 0:
        return configured
    return 0.0 if os.environ.get("CI") else default


def why_off(configured: float, setting: str) -> str:
    """Why `keep_alive` is 0, for `agentcode doctor`."""
    return "CI is set" if os.environ.get("CI") and configured < 0 else f"{setting} = 0"
