"""Stopping every process of a jail between executions, and starting them again.

Threads and children the code started keep running after its result unless something stops
them: they would burn CPU, and their output would land in the next execution's result. The
supervisor freezes a jail on its freezer thread right after handing back the result (the
caller does not wait for it), and a next request that comes first cancels the freeze.

The session's cgroup freezer does it where there is one (cgroup v2 ``cgroup.freeze``, or the
v1 ``freezer`` hierarchy: `Freezable`, see cgroup.py): the kernel stops the whole session at
once, a process forked meanwhile included, and nothing in it can wake itself (a SIGCONT, from a
handler or a POSIX timer, does not thaw a frozen task).

The fallback, where the host gives us no freezer: SIGSTOP to every process in the jail (the
descendants of bwrap's init, found through /proc/PID/task/TID/children), repeating until no new
process shows up, and SIGCONT to the same processes when the next request comes. It is weaker:
SIGCONT (a timer's, or another process's not yet stopped) restarts a stopped process, and a
chain of processes that fork and exit can stay ahead of the search.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Protocol


class Freezable(Protocol):
    """The session's cgroup, frozen and thawed as one (`cgroup.SessionCgroup`)."""

    def freeze(self) -> bool: ...

    def thaw(self) -> None: ...


# A fork bomb is already capped by RLIMIT_NPROC; this bounds the rounds of the search anyway.
_MAX_ROUNDS = 64


def _children(pid: int, *, single_threaded: bool = False) -> list[int]:
    found: list[int] = []
    try:
        tids = [str(pid)] if single_threaded else os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                found += [int(child) for child in handle.read().split()]
        except (OSError, ValueError):
            continue
    return found


def _send(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def stop_jail(init_pid: int) -> list[int]:
    """SIGSTOP every process under ``init_pid`` (not init itself); return the pids stopped."""
    stopped: list[int] = []
    seen: set[int] = set()
    frontier = _children(init_pid, single_threaded=True)  # bwrap's init has one thread
    for _ in range(_MAX_ROUNDS):
        fresh = [pid for pid in frontier if pid not in seen]
        if not fresh:
            # Nothing new: one more look at init's children catches an orphan re-parented to
            # it mid-search (children of a stopped process were read after it stopped).
            fresh = [pid for pid in _children(init_pid, single_threaded=True) if pid not in seen]
            if not fresh:
                break
        for pid in fresh:
            _send(pid, signal.SIGSTOP)
            seen.add(pid)
            stopped.append(pid)
        frontier = [child for pid in fresh for child in _children(pid)]
    return stopped


def resume(pids: list[int]) -> None:
    for pid in pids:
        _send(pid, signal.SIGCONT)
