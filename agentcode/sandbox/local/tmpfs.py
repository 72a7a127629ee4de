"""The jail's tmpfs mounts with an inode limit, mounted on the host for one session (root only).

bwrap's ``--tmpfs`` takes a size but no ``nr_inodes``, and empty files cost nothing against the
size: 600k of them pin over half a GiB of kernel memory. As root we mount each tmpfs ourselves
with both limits in a private directory, bwrap binds it into the jail, and once the jail is up
we detach our side (the jail's mount keeps the filesystem alive; it goes away with the jail).
Elsewhere (no root, or mounting refused) bwrap's sized tmpfs is used and `agentcode doctor`
says the inode limit is missing.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import threading
from typing import Any

from agentcode.config import Limits
from agentcode.sandbox.base import WORKDIR

MIB = 1024 * 1024
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MNT_DETACH = 0x2


@functools.cache
def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _mount(target: str, options: str) -> None:
    import ctypes

    if _libc().mount(b"tmpfs", target.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                     options.encode()) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), target)


def _detach(target: str) -> None:
    _libc().umount2(target.encode(), _MNT_DETACH)


class HostTmpfs:
    """The three mounts of one jail: jail path -> host dir, until `detach`."""

    def __init__(self, limits: Limits) -> None:
        self.root = tempfile.mkdtemp(prefix="agentcode-jail-")
        self.mounts: dict[str, str] = {}
        sizes = {"/tmp": (limits.tmp_mb, "1777"), "/dev/shm": (limits.shm_mb, "1777"),
                 WORKDIR: (limits.workdir_mb, "0700")}
        try:
            for index, (path, (size_mb, mode)) in enumerate(sizes.items()):
                host = os.path.join(self.root, str(index))
                os.mkdir(host, 0o700)
                _mount(host, f"size={size_mb * MIB},nr_inodes={limits.files},mode={mode}")
                self.mounts[path] = host
        except BaseException:
            self.detach()
            raise

    def detach_soon(self) -> threading.Thread:
        """`detach` on another thread: each umount waits for an RCU grace period (~3 ms
        here), so once the jail is up that time overlaps the session's first execution.
        Join the thread before the process exits, or the mounts stay behind."""
        thread = threading.Thread(target=self.detach, name="agentcode-tmpfs-detach")
        thread.start()
        return thread

    def detach(self) -> None:
        """Remove our side of the mounts (the jail's side lives on with the jail)."""
        for host in self.mounts.values():
            _detach(host)
        self.mounts.clear()
        with contextlib.suppress(OSError):
            for name in os.listdir(self.root):
                os.rmdir(os.path.join(self.root, name))
            os.rmdir(self.root)


_refused: list[bool] = []  # set once mounting failed in this process: do not try again


def host_tmpfs(limits: Limits) -> HostTmpfs | None:
    """Inode-limited mounts for a new jail, or None where this host does not allow them."""
    if os.geteuid() != 0 or _refused:
        return None
    try:
        return HostTmpfs(limits)
    except OSError:
        _refused.append(True)
        return None


@functools.cache
def _allowed() -> bool:
    """Whether we may mount a tmpfs here (root in a container may still be refused)."""
    try:
        HostTmpfs(Limits(tmp_mb=1, shm_mb=1, workdir_mb=1, files=16)).detach()
    except OSError:
        return False
    return True


def inode_limits_available() -> bool:
    """For `agentcode doctor`: whether the jail's tmpfs mounts get an inode limit."""
    return os.geteuid() == 0 and _allowed()
