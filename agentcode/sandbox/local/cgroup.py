"""One cgroup per session, so memory and process limits hold for the session as a whole.

RLIMIT_AS and RLIMIT_NPROC are per process (three processes held 3.7 GiB under a "2 GiB"
limit) and tmpfs pages count against neither. A cgroup counts every process of the jail, their
kernel memory and the tmpfs pages they write: memory.max = ``limits.memory_mb`` (no swap) and
pids.max = ``limits.processes`` (plus bwrap's two), for the session.

cgroup v2 is used where our own cgroup delegates the memory and pids controllers to children
(systemd's Delegate=yes, or a container that gives us a cgroup of our own); otherwise the v1
memory and pids hierarchies when they are mounted and writable (root on a hybrid host). bwrap
is placed in the cgroup before it reads its arguments, so every process of the jail is inside.
Where neither is possible the per-process rlimits remain, and `agentcode doctor` warns.

The cgroup also freezes the session between executions, atomically (v2 ``cgroup.freeze``, v1
the ``freezer`` hierarchy when it is mounted and writable): see freeze.py. On cgroup v1 TCP
buffers are charged apart from memory.limit_in_bytes, so ``memory.kmem.tcp.limit_in_bytes``
bounds them too (on v2 they count in memory.max already).
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from agentcode.config import Limits

MIB = 1024 * 1024
_PREFIX = "agentcode-"
BWRAP_PROCESSES = 2


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """Where new session cgroups go: ``parent`` (our own cgroup) in one mounted hierarchy."""

    version: int
    parent: str
    controllers: tuple[str, ...]


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fstype, super options) of the cgroup filesystems."""
    found = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as handle:
            for line in handle:
                left, _, right = line.partition(" - ")
                fields, rest = left.split(), right.split()
                if len(fields) > 4 and len(rest) > 2 and rest[0] in ("cgroup", "cgroup2"):
                    found.append((fields[4], rest[0], rest[2]))
    except OSError:
        pass
    return found


def _own_paths() -> dict[str, str]:
    """Controller (or "" for v2) -> our cgroup's path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    paths[name] = path
    except (OSError, ValueError):
        pass
    return paths


def _v2(mounts: list[tuple[str, str, str]], own: dict[str, str]) -> list[Hierarchy]:
    for point, fstype, _ in mounts:
        if fstype != "cgroup2" or "" not in own:
            continue
        parent = os.path.join(point, own[""].lstrip("/"))
        try:
            enabled = Path(parent, "cgroup.subtree_control").read_text().split()
            if not {"memory", "pids"} <= set(enabled):
                Path(parent, "cgroup.subtree_control").write_text("+memory +pids")
        except OSError:
            continue  # not delegated to us (or our cgroup holds processes: no internal nodes)
        if os.access(parent, os.W_OK):
            return [Hierarchy(2, parent, ("memory", "pids"))]
    return []


def _v1(mounts: list[tuple[str, str, str]], own: dict[str, str]) -> list[Hierarchy]:
    found = []
    for controller in ("memory", "pids", "freezer"):  # freezer: where there is one
        for point, fstype, options in mounts:
            if fstype == "cgroup" and controller in options.split(",") and controller in own:
                parent = os.path.join(point, own[controller].lstrip("/"))
                if os.access(parent, os.W_OK):
                    found.append(Hierarchy(1, parent, (controller,)))
                break
    required = [h for h in found if h.controllers[0] in ("memory", "pids")]
    return found if len(required) == 2 else []


@functools.cache
def hierarchies() -> tuple[Hierarchy, ...]:
    """Where this host lets us make session cgroups (empty: nowhere)."""
    mounts, own = _mounts(), _own_paths()
    return tuple(_v2(mounts, own) or _v1(mounts, own))


def can_freeze() -> bool:
    """Whether sessions here are frozen by a cgroup freezer (else SIGSTOP: see freeze.py)."""
    return any(h.version == 2 or h.controllers == ("freezer",) for h in hierarchies())


def describe() -> str:
    """For `agentcode doctor`: how session limits are enforced here ("" when not by cgroups)."""
    chosen = hierarchies()
    if not chosen:
        return ""
    return f"cgroup v{chosen[0].version} ({', '.join(c for h in chosen for c in h.controllers)})"


class SessionCgroup:
    """The cgroup(s) of one session: created with their limits, removed at the end."""

    def __init__(self, limits: Limits) -> None:
        self.dirs: list[str] = []
        name = _PREFIX + os.urandom(6).hex()  # not uuid: it imports platform (~1 ms)
        _sweep()
        memory = str(limits.memory_mb * MIB)
        try:
            for hierarchy in hierarchies():
                path = os.path.join(hierarchy.parent, name)
                os.mkdir(path)
                self.dirs.append(path)
                for key, value in _settings(hierarchy, memory, limits.processes):
                    target = Path(path, key)
                    if not target.exists():
                        continue
                    try:
                        target.write_text(value)
                    except OSError:
                        if key not in _OPTIONAL:
                            raise
        except OSError:
            self.remove()
            raise

    def add(self, pid: int) -> None:
        for path in self.dirs:
            Path(path, "cgroup.procs").write_text(str(pid))

    @property
    def can_freeze(self) -> bool:
        return self._freeze_file() is not None

    def _freeze_file(self) -> tuple[str, str, str, str] | None:
        """(file, frozen value, thawed value, where the state shows) of this session."""
        for hierarchy, path in zip(hierarchies(), self.dirs, strict=False):
            if hierarchy.version == 2:
                return (os.path.join(path, "cgroup.freeze"), "1", "0",
                        os.path.join(path, "cgroup.events"))
            if hierarchy.controllers == ("freezer",):
                state = os.path.join(path, "freezer.state")
                return state, "FROZEN", "THAWED", state
        return None

    def freeze(self) -> bool:
        """Stop every process of the session at once; True once the kernel was told to.

        Not waited for: the kernel finishes freezing what is left (a task in D state) on its
        own, what the jail writes meanwhile is discarded with the rest at the next thaw, and a
        thaw that comes first simply cancels it. Waiting cost every warm execution a poll of
        the state (and a sleep when it read FREEZING).
        """
        found = self._freeze_file()
        if found is None:
            return False
        control, frozen, _, state = found
        if control == state and not _THAWER.watch(control):  # v1: see _Thawer
            return False
        try:
            _write(control, frozen)
        except OSError:
            return False
        return True

    def thaw(self) -> None:
        found = self._freeze_file()
        if found is not None:
            with contextlib.suppress(OSError):
                _write(found[0], found[2])

    def remove(self) -> None:
        """Remove the (by now empty) cgroups; a moment's retry while the jail's exits settle."""
        for path in self.dirs:
            _THAWER.forget(os.path.join(path, "freezer.state"))
            for _ in range(20):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        self.dirs = []


def _write(path: str, text: str) -> None:
    """One write to a cgroup file (no buffering layer: it is on every execution's path)."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class _Thawer:
    """Thaws this process's frozen v1 session cgroups when it dies, however it dies.

    A task frozen by the v1 freezer does not act on SIGKILL until it is thawed, so a jail
    frozen between executions would outlive a SIGKILL'd agentcode (bwrap's --die-with-parent
    only sends a signal). One small shell per process, outside the jails and in a session of
    its own, is told each freezer file and reads on until its stdin (our end, never passed on)
    closes, which happens when we exit; it then thaws them all, and the pending SIGKILLs land.
    (cgroup v2 kills frozen tasks: none is needed there.)
    """

    _SCRIPT = ('files=""; while IFS= read -r f; do files="$files $f"; done; '
               'for f in $files; do echo THAWED > "$f"; done 2>/dev/null')

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._told: set[str] = set()

    def watch(self, state_file: str) -> bool:
        """Register ``state_file``; False when no watcher can run (then do not freeze)."""
        with self._lock:
            if state_file in self._told and self._proc is not None and self._proc.poll() is None:
                return True
            try:
                if self._proc is None or self._proc.poll() is not None:
                    self._told.clear()
                    self._proc = subprocess.Popen(
                        ["/bin/sh", "-c", self._SCRIPT], stdin=subprocess.PIPE,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        start_new_session=True, close_fds=True)
                assert self._proc.stdin is not None
                self._proc.stdin.write(state_file.encode() + b"\n")
                self._proc.stdin.flush()
            except (OSError, ValueError):
                return False
            self._told.add(state_file)
        return True

    def forget(self, state_file: str) -> None:
        with self._lock:
            self._told.discard(state_file)  # the shell may thaw it: gone by then, no harm


_THAWER = _Thawer()


class Primer:
    """Keeps the kernel's cgroup lock warm, on a thread, until `stop` (at most a few seconds).

    The first write to a cgroup.procs after a quiet moment waits for an RCU grace period (the
    kernel's cgroup_threadgroup_rwsem turning writer-side: 8-14 ms measured on cgroup v1 here),
    and writes within about one grace period of another take 0.1 ms. Writing our own pid into
    the cgroup we are in changes nothing but takes the same path: a session starts a Primer as
    it starts, and bwrap's move into the session's cgroup, after the pipes, mounts and fork,
    finds the lock warm. One write is not enough (it may end too early or too late under load:
    measured), so it writes every few ms until the move is done. (A pid no process has fails
    before the lock: no help.)
    """

    INTERVAL = 0.003
    LIMIT = 5.0  # seconds: a session that never reaches its move does not keep us writing

    def __init__(self) -> None:
        import threading

        self._done = threading.Event()
        chosen = hierarchies()
        if chosen:
            threading.Thread(target=self._run, args=(chosen[0],), name="agentcode-cgroup-prime",
                             daemon=True).start()

    def stop(self) -> None:
        self._done.set()

    def _run(self, hierarchy: Hierarchy) -> None:
        target = _own_procs(hierarchy)
        if target is None:
            return
        deadline = time.monotonic() + self.LIMIT
        pid = str(os.getpid())
        while not self._done.is_set() and time.monotonic() < deadline:
            try:
                Path(target).write_text(pid)
            except OSError:
                return
            self._done.wait(self.INTERVAL)


def prime() -> Primer:
    """A `Primer` for a session about to start (stop it once bwrap is in its cgroup)."""
    return Primer()


def _own_procs(hierarchy: Hierarchy) -> str | None:
    """The cgroup.procs of the cgroup we are in now (not at start-up), in ``hierarchy``."""
    key = "" if hierarchy.version == 2 else hierarchy.controllers[0]
    fstype = "cgroup2" if hierarchy.version == 2 else "cgroup"
    own = _own_paths().get(key)
    for point, kind, options in _mounts():
        if own is not None and kind == fstype and (key == "" or key in options.split(",")):
            return os.path.join(point, own.lstrip("/"), "cgroup.procs")
    return None


def _sweep(older_than: float = 60.0) -> None:
    """Remove session cgroups left behind (a jail whose exit outlasted `remove`'s patience)."""
    now = time.time()
    for hierarchy in hierarchies():
        with contextlib.suppress(OSError):
            for entry in os.scandir(hierarchy.parent):
                if entry.name.startswith(_PREFIX) and now - entry.stat().st_mtime > older_than:
                    with contextlib.suppress(OSError):
                        os.rmdir(entry.path)  # refused while processes are inside


# Settings a host may not offer (swap accounting off, no kmem accounting): not fatal.
_OPTIONAL = frozenset({"memory.swap.max", "memory.memsw.limit_in_bytes",
                       "memory.kmem.tcp.limit_in_bytes"})
# TCP buffers on cgroup v1: this share of the memory limit (at least 16 MiB). Only loopback
# exists in the jail; 608 MiB sat in sockets nobody read under a 256 MiB limit without it.
TCP_SHARE = 8


def _settings(hierarchy: Hierarchy, memory: str, processes: int) -> list[tuple[str, str]]:
    # bwrap's own two processes (outside and the jail's init) count here, not in RLIMIT_NPROC.
    pids = [("pids.max", str(processes + BWRAP_PROCESSES))] if processes > 0 else []
    if hierarchy.version == 2:
        return [("memory.max", memory), ("memory.swap.max", "0"), *pids]
    if "memory" in hierarchy.controllers:
        tcp = str(max(16 * MIB, int(memory) // TCP_SHARE))
        # memsw (memory + swap) can only be set at or above the memory limit: after it.
        return [("memory.limit_in_bytes", memory), ("memory.memsw.limit_in_bytes", memory),
                ("memory.kmem.tcp.limit_in_bytes", tcp)]
    if "pids" in hierarchy.controllers:
        return pids
    return []


def session_cgroup(limits: Limits) -> SessionCgroup | None:
    """A new session's cgroup, or None where this host gives us none."""
    if not hierarchies():
        return None
    with contextlib.suppress(OSError):
        return SessionCgroup(limits)
    return None
