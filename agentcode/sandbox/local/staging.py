"""The Python installation (and the sandbox packages) the jail binds, from neutral paths.

A bind's source shows in the jail's ``/proc/self/mountinfo`` (the "root" column is the source's
path within its file system), so binding ``/root/.pyenv/versions/3.11.7`` at
``/opt/agentcode/python`` told the code where the host keeps Python, and for which user. Bound
instead is a tree of hard links to the installation's files under a neutral directory on the
same file system (``/var/tmp/agentcode-python-UID/KEY``): the same inodes (no copy, no space),
its own site-packages left out (the jail shows that empty anyway). It is made once per
installation, in a temporary directory renamed into place, so processes that start sessions at
the same time agree; the key changes when the installation's top directories do (a reinstall),
and trees of an older key are removed after a day. Where no such tree can be made (the
installation is on another file system, linking is not permitted, the directory is not ours),
the installation itself is bound and its path shows, as docs/security.md says. The sandbox
package environment (`packages.py`: one directory per install, never changed after) is bound
the same way, from ``/var/tmp/agentcode-packages-UID/KEY``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import time
import zlib

STAGE_PARENT = "/var/tmp"


def _root(kind: str) -> str:
    return os.path.join(STAGE_PARENT, f"agentcode-{kind}-{os.geteuid()}")


def _key(base: str, skip: str | None) -> str:
    """Identifies this installation as it is now: its path, the interpreter's version and the
    inode and change time of its top directories (a reinstall changes them)."""
    parts = [base, sys.version]
    lib = [os.path.dirname(skip)] if skip else []
    for path in (base, *(os.path.join(base, name) for name in sorted(os.listdir(base))), *lib):
        with contextlib.suppress(OSError):
            info = os.lstat(path)
            parts.append(f"{path}:{info.st_ino}:{info.st_mtime_ns}")
    # Not a secret or an integrity check (the tree's owner and mode are checked): two cheap
    # checksums make 16 hex digits without hashlib, whose OpenSSL load cost `run` 3-11 ms.
    data = "\n".join(parts).encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def _own_dir(path: str) -> bool:
    """Whether ``path`` is a directory of ours that nobody else may write (not a link)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _link_tree(base: str, skip: str | None, target: str) -> None:
    """Hard links to every file under ``base`` (symlinks copied, ``skip`` left empty)."""
    for root, dirs, files in os.walk(base):
        into = os.path.join(target, os.path.relpath(root, base))
        if root != base:
            os.mkdir(into, stat.S_IMODE(os.stat(root).st_mode) | 0o700)
        if root == skip:
            dirs[:] = []
            continue
        for name in [*files, *(d for d in dirs if os.path.islink(os.path.join(root, d)))]:
            source = os.path.join(root, name)
            info = os.lstat(source)
            if stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(source), os.path.join(into, name))
            elif stat.S_ISREG(info.st_mode):
                os.link(source, os.path.join(into, name), follow_symlinks=False)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]


def _sweep(root: str, keep: str, older_than: float = 86400.0) -> None:
    """Remove trees of an installation as it was a day ago (a running agentcode that still binds
    one is given that long), and half-built ones."""
    now = time.time()
    for entry in os.scandir(root):
        with contextlib.suppress(OSError):
            if entry.name != keep and now - entry.stat(follow_symlinks=False).st_mtime > older_than:
                shutil.rmtree(entry.path, ignore_errors=True)


def staged_python(base: str, site_packages: str) -> str | None:
    """A neutral path to bind instead of the installation ``base`` (its ``site_packages`` left
    empty), made now if needed; None where none can be made."""
    return staged_tree(base, "python", site_packages)


def staged_tree(base: str, kind: str, skip: str | None = None) -> str | None:
    """A neutral path to bind instead of ``base`` (made now if needed), or None. ``kind``
    names the tree (``/var/tmp/agentcode-KIND-UID``); ``skip`` is a directory left empty."""
    root = _root(kind)
    try:
        if os.stat(STAGE_PARENT).st_dev != os.stat(base).st_dev:
            return None  # hard links cannot cross file systems
        with contextlib.suppress(FileExistsError):
            os.mkdir(root, 0o755)
        if not _own_dir(root):
            return None
        key = _key(base, skip)
        tree = os.path.join(root, key)
        if _own_dir(tree):
            return tree
        building = os.path.join(root, f".{key}.{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        os.mkdir(building, stat.S_IMODE(os.stat(base).st_mode) | 0o700)
        try:
            _link_tree(base, skip, building)
            os.rename(building, tree)
        except OSError:
            shutil.rmtree(building, ignore_errors=True)
            if not _own_dir(tree):  # another process may have won the race
                return None
        _sweep(root, keep=key)
        return tree
    except OSError:
        return None
