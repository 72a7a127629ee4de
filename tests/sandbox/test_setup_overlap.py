"""The jail's set-up moved off a session's start keeps every limit and leaves nothing behind.

A session primes the cgroup lock by writing our own pid where we already are (it must not move
us), and detaches our side of its tmpfs mounts on a thread once the jail is up (closed
sessions leave no mount on the host).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from jail_helpers import small_settings

from agentcode.sandbox.local import cgroup, tmpfs
from agentcode.sandbox.local import session as session_module
from agentcode.sandbox.local.session import LocalSandboxSession


def _mounts_under(root: str) -> list[str]:
    text = Path("/proc/self/mountinfo").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if f" {root}/" in line]


def test_priming_leaves_this_process_in_its_own_cgroups() -> None:
    before = Path("/proc/self/cgroup").read_text(encoding="utf-8")
    primer = cgroup.prime()
    time.sleep(0.05)  # a dozen writes
    primer.stop()
    for thread in threading.enumerate():
        if thread.name == "agentcode-cgroup-prime":
            thread.join(5)
            assert not thread.is_alive()
    assert Path("/proc/self/cgroup").read_text(encoding="utf-8") == before


@pytest.mark.skipif(os.geteuid() != 0 or not tmpfs.inode_limits_available(),
                    reason="the host-side tmpfs with an inode limit is only mounted when agentcode "
                           "runs as root; otherwise bwrap's own tmpfs is used and nothing is left "
                           "on the host to check")
def test_a_closed_session_leaves_no_tmpfs_mount_and_keeps_the_inode_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tmpfs.HostTmpfs] = []

    def recorded(limits: object) -> tmpfs.HostTmpfs | None:
        mounts = tmpfs.host_tmpfs(limits)  # type: ignore[arg-type]
        if mounts is not None:
            made.append(mounts)
        return mounts

    monkeypatch.setattr(session_module, "host_tmpfs", recorded)
    settings = small_settings()
    session = LocalSandboxSession(settings)
    try:
        done = session.execute("import os; print(os.statvfs('/sandbox').f_files)")
        assert int(done.stdout) == settings.limits.files
    finally:
        session.close()
    assert len(made) == 1
    assert _mounts_under(made[0].root) == []
    assert not os.path.exists(made[0].root)


@pytest.mark.skipif(not cgroup.hierarchies(),
                    reason="no cgroup hierarchy is delegated to us here, so sessions run without "
                           "a cgroup (doctor reports it) and there is none to be in")
def test_the_jail_is_in_its_cgroup_from_the_start() -> None:
    with LocalSandboxSession(small_settings()) as session:
        assert session._cgroup is not None
        procs = [Path(d, "cgroup.procs").read_text().split() for d in session._cgroup.dirs]
        worker = session._worker
        assert worker is not None
        assert all(str(worker.worker_pid) in found for found in procs)
