"""The cgroup v2 freeze (``cgroup.freeze``), for real, on a host whose limits use cgroup v1.

``cgroup.freeze`` is a core file of every cgroup v2 group: it needs no controller. On a hybrid
host the unified hierarchy is mounted beside the v1 ones (else root can mount one), so a
session cgroup there freezes and thaws through the v2 code path of cgroup.py while memory and
pids stay on v1. Where no cgroup2 hierarchy exists and none can be mounted, these tests skip
and say why.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jail_helpers import UNSTOPPABLE, longest_gap, small_settings

from agentcode.sandbox.local import cgroup
from agentcode.sandbox.local.session import LocalSandboxSession


@pytest.fixture
def v2_parent() -> Iterator[cgroup.Hierarchy]:
    """A cgroup of our own in a cgroup2 hierarchy (mounted for the test when none is)."""
    if os.geteuid() != 0:
        pytest.skip("making cgroups in a cgroup2 hierarchy of a v1 host needs root")
    points = [point for point, fstype, _ in cgroup._mounts() if fstype == "cgroup2"]
    mounted = None
    if not points:
        mounted = tempfile.mkdtemp(prefix="agentcode-cgroup2-")
        done = subprocess.run(["mount", "-t", "cgroup2", "none", mounted],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            os.rmdir(mounted)
            pytest.skip(f"no cgroup2 hierarchy is mounted and mounting one failed: "
                        f"{done.stderr.strip()}")
        points = [mounted]
    own = cgroup._own_paths().get("", "/")
    parent = os.path.join(points[0], own.lstrip("/"), f"agentcode-v2test-{uuid.uuid4().hex[:8]}")
    try:
        os.mkdir(parent)
    except OSError as exc:
        pytest.skip(f"cannot make a cgroup in the cgroup2 hierarchy at {points[0]}: {exc}")
    try:
        if not os.path.exists(os.path.join(parent, "cgroup.freeze")):
            pytest.skip("this kernel's cgroup2 has no cgroup.freeze (before Linux 5.2)")
        yield cgroup.Hierarchy(2, parent, ())
    finally:
        for entry in os.scandir(parent):
            if entry.is_dir():
                with contextlib.suppress(OSError):
                    os.rmdir(entry.path)
        with contextlib.suppress(OSError):
            os.rmdir(parent)
        if mounted:
            subprocess.run(["umount", mounted], check=False)
            os.rmdir(mounted)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _events(group: cgroup.SessionCgroup) -> list[str]:
    return Path(group.dirs[0], "cgroup.events").read_text().splitlines()


def test_v2_freeze_stops_a_process_and_thaw_restarts_it(
        v2_parent: cgroup.Hierarchy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroup, "hierarchies", lambda: (v2_parent,))
    group = cgroup.SessionCgroup(small_settings().limits)
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        group.add(burner.pid)
        control = group._freeze_file()
        assert control is not None and control[0].endswith("/cgroup.freeze")
        time.sleep(0.3)
        assert group.freeze()
        assert _until(lambda: "frozen 1" in _events(group)), _events(group)
        before = _cpu_seconds(burner.pid)
        time.sleep(1.0)
        # Frozen: it sleeps in the kernel's freezer and gets no CPU.
        assert _state(burner.pid) != "R"
        assert _cpu_seconds(burner.pid) - before < 0.05
        group.thaw()
        assert _until(lambda: "frozen 0" in _events(group)), _events(group)
        before = _cpu_seconds(burner.pid)
        # Running again (slowly on a loaded machine).
        assert _until(lambda: _cpu_seconds(burner.pid) - before > 0.05), _state(burner.pid)
        # Frozen again and then killed: cgroup v2 delivers a SIGKILL to a frozen task.
        assert group.freeze()
        burner.kill()
        assert burner.wait(timeout=5) == -9
    finally:
        if burner.poll() is None:
            burner.kill()
            burner.wait()
        path = group.dirs[0]
        group.remove()
    assert not os.path.exists(path)


def test_a_session_frozen_through_v2_holds_against_sigcont_timers_and_fork_chains(
        v2_parent: cgroup.Hierarchy, monkeypatch: pytest.MonkeyPatch) -> None:
    """The jail's own freeze between executions, through cgroup.freeze: the attack that
    defeats SIGSTOP (issue 24) gets no time while the session is frozen, and the session's
    cgroups are gone after close. Memory and pids stay on this host's v1 hierarchies."""
    limits = tuple(h for h in cgroup.hierarchies() if h.controllers != ("freezer",))
    monkeypatch.setattr(cgroup, "hierarchies", lambda: (*limits, v2_parent))
    jail = LocalSandboxSession(small_settings())
    try:
        started = jail.execute(UNSTOPPABLE, timeout=10)
        assert started.ok, started.stderr
        session_group = jail._cgroup
        assert session_group is not None
        control = session_group._freeze_file()
        assert control is not None and control[0].endswith("/cgroup.freeze")
        v2_dir = next(d for d in session_group.dirs if d.startswith(v2_parent.parent))
        assert _until(lambda: "frozen 1" in Path(v2_dir, "cgroup.events").read_text().split("\n"))
        time.sleep(1.5)  # between executions: nothing of the session may run
        stamps = jail.execute("import time; time.sleep(0.3)\n"
                              "print(open('/tmp/timer').read()); print('--');"
                              "print(open('/tmp/chain').read())", timeout=10)
        timer, chain = stamps.stdout.split("--")
        assert longest_gap(timer) > 1.2 and longest_gap(chain) > 1.2
    finally:
        jail.close()
    assert not os.path.exists(v2_dir)
