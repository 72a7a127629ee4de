"""Copying the code's files out to a host directory (``run --out DIR``, `Session.download`).

The names and contents come from untrusted code, and DIR is the user's own (a git checkout, a
project with a venv). So:

- every write resolves beneath DIR one component at a time with ``O_NOFOLLOW`` from a
  directory fd: a symlink already in DIR (``.venv/bin/python3``, ``data -> /mnt``) is never
  followed, and the file is skipped;
- existing files are not overwritten unless asked (``--overwrite``), and then only regular
  files (never a FIFO or a device);
- nothing that a tool on the host runs by itself is saved: no hidden name (``.git``,
  ``.envrc``, ``.vscode/tasks.json``, ``.npmrc``, shell start-up files), no ``HEAD`` (a directory
  with ``HEAD``, ``objects/`` and ``refs/`` is a git repository: ``git status`` there runs its
  ``config``'s fsmonitor), the few plain names other tools act on when a directory is entered
  (`TOOL_NAMES`), and nothing into a directory that already holds a ``HEAD`` (DIR included);
- names with control characters are refused;
- the whole copy has a byte, file-count and time budget; a sparse file counts by its apparent
  size, since that is what lands on the host disk;
- a file that cannot be written is skipped with its reason and the rest are still saved.
"""

from __future__ import annotations

import errno
import os
import stat
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from agentcode.config import Limits
from agentcode.errors import AgentcodeError, UsageError
from agentcode.sandbox.base import SandboxSession

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Budget:
    """How much one copy-out may write (Limits.copy_out_mb, _files, _seconds)."""

    max_bytes: int = 256 * MIB
    max_files: int = 1000
    max_seconds: float = 10.0

    @classmethod
    def from_limits(cls, limits: Limits) -> Budget:
        return cls(limits.copy_out_mb * MIB, limits.copy_out_files, limits.copy_out_seconds)


@dataclass(slots=True)
class CopyOut:
    """What was saved (host paths) and what was not (``name: reason``)."""

    saved: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class Skipped(Exception):
    """One file that is not copied out, and why (a short phrase)."""


def visible(name: str) -> str:
    """A name with its control characters escaped, safe to print on a terminal."""
    return "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode()
        for ch in name
    )


# Plain (not hidden) names that tools act on by themselves when a directory is entered or
# looked at, compared case-insensitively (macOS and Windows file systems fold case): git's
# repository marker, darcs' and fossil's checkouts, mise's config (its hooks run on `cd`).
TOOL_NAMES = frozenset({"head", "_darcs", "_fossil_", "mise", "mise.toml", "mise.local.toml"})


def _check_name(name: str) -> list[str]:
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise Skipped("its name leaves the directory")
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        raise Skipped("its name has control characters")
    if any(part.lower() == ".git" for part in parts):
        raise Skipped("nothing is written into a .git directory")
    # Hidden names are where tools look for what to run: VCS metadata (.git, .hg), direnv and
    # autoenv (.envrc, .env), editors' tasks (.vscode, .idea), package managers' configs
    # (.npmrc, .yarnrc.yml, .cargo), shell start-up files. None is saved, whatever its name.
    if any(part.startswith(".") for part in parts):
        raise Skipped("hidden names are not saved (tools on the host run some of them)")
    if any(part.lower() in TOOL_NAMES for part in parts):
        raise Skipped("tools on the host act on this name by themselves (a HEAD makes its "
                      "directory a git repository)")
    return parts


_IN_A_REPOSITORY = "a directory on its path holds a HEAD: git may take it for a repository"


def _holds_head(dir_fd: int) -> bool:
    """Whether a directory holds a HEAD entry: git may treat it as a repository."""
    try:
        os.stat("HEAD", dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: treat it as one
    return True


class OutDir:
    """A host directory opened once; every write lands beneath it or not at all."""

    def __init__(self, path: str | Path, *, overwrite: bool = False) -> None:
        self.path = Path(path)
        if any(part.lower() == ".git" for part in self.path.resolve().parts):
            raise UsageError(f"refusing to write into a .git directory ({self.path})")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            # The user chose this path: links in it are theirs. Below it, none is followed.
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise UsageError(f"cannot write to {self.path}: {exc.strerror}") from None
        self.overwrite = overwrite

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> OutDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _parent(self, dirs: list[str]) -> int:
        fd = os.dup(self.fd)
        part = "."
        try:
            for part in dirs:
                if _holds_head(fd):
                    raise Skipped(_IN_A_REPOSITORY)
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
            if _holds_head(fd):
                raise Skipped(_IN_A_REPOSITORY)
        except Skipped:
            os.close(fd)
            raise
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EEXIST):
                raise Skipped(f"a link or a file is in the way at {part!r}") from None
            raise Skipped(exc.strerror or "cannot create its directory") from None
        return fd

    def write(self, name: str, data: bytes) -> Path:
        """Write one file (``name`` relative, '/'-separated); raises `Skipped`."""
        *dirs, leaf = _check_name(name)
        parent = self._parent(dirs)
        try:
            flags = _FILE_FLAGS if self.overwrite else _FILE_FLAGS | os.O_EXCL
            try:
                fd = os.open(leaf, flags, 0o644, dir_fd=parent)
            except FileExistsError:
                raise Skipped("it exists (use --overwrite to replace it)") from None
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
                    raise Skipped("a link, FIFO or directory is in its place") from None
                raise Skipped(exc.strerror or "cannot open it") from None
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise Skipped("something other than a regular file is in its place")
                os.set_blocking(fd, True)
                os.ftruncate(fd, 0)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            except OSError as exc:
                raise Skipped(exc.strerror or "cannot write it") from None
            finally:
                os.close(fd)
        finally:
            os.close(parent)
        return self.path / name


@runtime_checkable
class KnowsSizes(Protocol):
    """A backend that can say a file's apparent size without reading it (the local one)."""

    def file_size(self, path: str) -> int: ...


def copy_out(sandbox: SandboxSession, out: OutDir, *, unchanged: Callable[[str, bytes], bool],
             budget: Budget | None = None) -> CopyOut:
    """Copy the work dir's regular files (except ``unchanged`` ones) into ``out``."""
    budget = budget or Budget()
    result = CopyOut()
    deadline = time.monotonic() + budget.max_seconds
    written = 0
    names = sandbox.list_files()
    for index, name in enumerate(names):
        if time.monotonic() > deadline:
            result.skipped += [f"{visible(n)}: the copy-out time budget ran out"
                               for n in names[index:]]
            break
        try:
            if isinstance(sandbox, KnowsSizes) and (
                    written + sandbox.file_size(name) > budget.max_bytes):
                raise Skipped(f"over the copy-out budget of {budget.max_bytes // MIB} MiB")
            data = sandbox.read_file(name)
            if unchanged(name, data):
                continue
            if written + len(data) > budget.max_bytes:
                raise Skipped(f"over the copy-out budget of {budget.max_bytes // MIB} MiB")
            if len(result.saved) >= budget.max_files:
                raise Skipped(f"over the copy-out budget of {budget.max_files} files")
            result.saved.append(out.write(name, data))
            written += len(data)
        except Skipped as why:
            result.skipped.append(f"{visible(name)}: {why}")
        except (AgentcodeError, OSError, ValueError) as exc:  # vanished, a link, unreadable
            result.skipped.append(f"{visible(name)}: {visible(str(exc))}")
    return result
