"""Host-side access to a session's work dir that never follows links the code planted.

Everything goes through an fd of the work dir's root and opens one path component at a time
with O_NOFOLLOW, so a symlink to /etc/shadow (or to a dir outside) is refused, not read.
Only regular files are listed, read and written: a FIFO, link or device the code planted where
a file goes is replaced, never opened in a way that blocks (O_NONBLOCK, then fstat).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping

from agentcode.errors import SandboxError
from agentcode.sandbox.base import check_relative

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_ENTRIES = 10_000
MAX_DEPTH = 32


def _write_error(name: str, exc: OSError) -> SandboxError:
    return SandboxError(f"cannot write {name!r} in the sandbox: {exc.strerror}")


def _open_regular(leaf: str, parent: int) -> int:
    """An empty regular file at ``leaf``, opened for writing without ever blocking."""
    try:
        fd = os.open(leaf, _WRITE_FLAGS, 0o644, dir_fd=parent)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENXIO):  # a link, or a FIFO with no reader
            raise
        fd = -1
    if fd >= 0 and not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)  # a FIFO with a reader, or a device
        fd = -1
    if fd < 0:
        os.unlink(leaf, dir_fd=parent)
        fd = os.open(leaf, _WRITE_FLAGS | os.O_EXCL, 0o644, dir_fd=parent)
    os.set_blocking(fd, True)
    os.ftruncate(fd, 0)
    return fd


class WorkDir:
    """The work dir as an open directory fd. ``owner`` (uid, gid) is given to written files."""

    def __init__(self, fd: int, owner: tuple[int, int] | None = None) -> None:
        self.fd = fd
        self.owner = owner

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _open_dir(self, parts: list[str], *, create: bool) -> int:
        fd = os.dup(self.fd)
        try:
            for part in parts:
                if create:
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                        if self.owner:
                            os.chown(part, *self.owner, dir_fd=fd, follow_symlinks=False)
                    except FileExistsError:
                        pass
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
        except OSError:
            os.close(fd)
            raise
        return fd

    def write(self, files: Mapping[str, bytes]) -> None:
        for name, data in files.items():
            *dirs, leaf = check_relative(name).split("/")
            try:
                parent = self._open_dir(dirs, create=True)
            except OSError as exc:
                raise _write_error(name, exc) from None
            try:
                fd = _open_regular(leaf, parent)
                with os.fdopen(fd, "wb") as handle:
                    if self.owner:
                        os.fchown(handle.fileno(), *self.owner)
                    handle.write(data)
            except OSError as exc:
                raise _write_error(name, exc) from None
            finally:
                os.close(parent)

    def names(self) -> list[str]:
        found: list[str] = []
        self._walk(os.dup(self.fd), "", 0, found)
        return sorted(found)

    def _walk(self, fd: int, prefix: str, depth: int, found: list[str]) -> None:
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    if len(found) >= MAX_ENTRIES:
                        return
                    if entry.is_symlink():
                        continue
                    if entry.is_file(follow_symlinks=False):
                        found.append(prefix + entry.name)
                    elif entry.is_dir(follow_symlinks=False) and depth < MAX_DEPTH:
                        try:
                            child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                        except OSError:
                            continue
                        self._walk(child, f"{prefix}{entry.name}/", depth + 1, found)
        finally:
            os.close(fd)

    def size(self, name: str) -> int:
        """The apparent size of a regular file, as `read` would open it."""
        fd = self._open_file(name)
        try:
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def read(self, name: str) -> bytes:
        with os.fdopen(self._open_file(name), "rb") as handle:
            return handle.read()

    def _open_file(self, name: str) -> int:
        *dirs, leaf = check_relative(name).split("/")
        try:
            parent = self._open_dir(dirs, create=False)
            try:
                fd = os.open(leaf, _READ_FLAGS, dir_fd=parent)
            finally:
                os.close(parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise SandboxError(f"refusing to read {name!r}: it is a link, not a file") from None
            if exc.errno == errno.ENOENT:
                raise SandboxError(f"no file {name!r} in the sandbox") from None
            raise SandboxError(f"cannot read {name!r} in the sandbox: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise SandboxError(f"refusing to read {name!r}: not a regular file")
        return fd
