"""Limits that hold for the session as a whole, and nothing running between executions.

Against the real jail: threads and children the code leaves behind are stopped between
executions and their output never lands in the next result; tmpfs mounts run out of inodes;
core dumps are off and the hard CPU limit cannot be lifted by the code.
"""

from __future__ import annotations

import time

import pytest
from jail_helpers import UNSTOPPABLE, longest_gap, small_settings

from agentcode.sandbox.local import cgroup, tmpfs
from agentcode.sandbox.local.session import LocalSandboxSession


@pytest.mark.parametrize("freezer", [True, False], ids=["cgroup-freezer", "sigstop-fallback"])
def test_threads_left_behind_do_not_run_between_executions(
        freezer: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not freezer:  # a host without a cgroup freezer: SIGSTOP and SIGCONT
        monkeypatch.setattr(cgroup.SessionCgroup, "can_freeze", property(lambda self: False))
    with LocalSandboxSession(small_settings()) as jail:
        _threads_stay_stopped(jail)


def _threads_stay_stopped(jail: LocalSandboxSession) -> None:
    first = jail.execute(
        "import threading, time\n"
        "ticks = []\n"
        "def tick():\n"
        "    while True:\n"
        "        ticks.append(time.monotonic()); time.sleep(0.01)\n"
        "threading.Thread(target=tick, daemon=True).start()\n"
        "time.sleep(0.1)\n"
        "ended = time.monotonic()"
    )
    assert first.error is None
    time.sleep(1.0)
    gap = jail.execute(
        "began = time.monotonic()\n"
        "[t for t in ticks if ended + 0.2 < t < began - 0.2]"
    )
    assert gap.text == "[]"
    assert jail.execute("len(ticks) > 5").text == "True"  # it did run during executions


def test_output_from_outside_an_execution_is_not_the_next_ones(
        jail: LocalSandboxSession) -> None:
    jail.execute(
        "import subprocess\n"
        "child = subprocess.Popen(['python3', '-c', 'import time\\nwhile True:\\n"
        "    print(\"tick\", flush=True); time.sleep(0.02)'])\n"
        "import time; time.sleep(0.2)"
    )
    time.sleep(1.0)  # ~50 ticks if the child kept running
    later = jail.execute("print('mine')")
    assert "mine\n" in later.stdout
    assert later.stdout.count("tick") < 10


def test_a_background_cpu_burner_gets_no_cpu_between_executions(
        jail: LocalSandboxSession) -> None:
    jail.execute(
        "import os, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    while True: pass\n"
        "def cpu(pid):\n"
        "    fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()\n"
        "    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')\n"
        "time.sleep(0.1); before = cpu(pid)"
    )
    time.sleep(1.5)
    used = float(jail.execute("cpu(pid) - before").text or "nan")
    assert used < 0.5  # it would have had 1.5 s of a core


@pytest.mark.skipif(not tmpfs.inode_limits_available(),
                    reason="inode limits need root and a host that allows mounting a tmpfs")
@pytest.mark.parametrize("target", ["/tmp", "/dev/shm", "/sandbox"])
def test_empty_files_run_out_of_inodes(target: str) -> None:
    with LocalSandboxSession(small_settings(files=500)) as jail:
        result = jail.execute(
            "import errno, os\n"
            "made = 0\n"
            "try:\n"
            "    for i in range(100_000):\n"
            f"        open(f'{target}/f{{i}}', 'w').close(); made += 1\n"
            "except OSError as e:\n"
            "    print(errno.errorcode[e.errno], made < 500)"
        )
        assert result.stdout == "ENOSPC True\n"
        assert jail.execute("1").text == "1"


def test_core_dumps_are_off_and_stay_off(jail: LocalSandboxSession) -> None:
    result = jail.execute(
        "import resource\n"
        "before = resource.getrlimit(resource.RLIMIT_CORE)\n"
        "try:\n"
        "    resource.setrlimit(resource.RLIMIT_CORE, (1 << 30, 1 << 30)); raised = 'raised'\n"
        "except (ValueError, OSError):\n"
        "    raised = 'refused'\n"
        "print(before, raised)"
    )
    assert result.stdout == "(0, 0) refused\n"


def test_the_hard_cpu_limit_cannot_be_lifted() -> None:
    with LocalSandboxSession(small_settings(cpu_seconds=2)) as jail:
        result = jail.execute(
            "import resource\n"
            "soft, hard = resource.getrlimit(resource.RLIMIT_CPU)\n"
            "try:\n"
            "    resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY,) * 2)\n"
            "    lifted = 'lifted'\n"
            "except (ValueError, OSError):\n"
            "    lifted = 'refused'\n"
            "print(hard != resource.RLIM_INFINITY, lifted)"
        )
        assert result.stdout == "True refused\n"
        # Catching the CPU-limit signal and spinning on is killed at the hard limit (a few CPU
        # seconds), long before the wall-clock timeout.
        spun = jail.execute(
            "import signal, resource\n"
            "signal.signal(signal.SIGXCPU, lambda *a: resource.setrlimit(\n"
            "    resource.RLIMIT_CPU, (resource.getrlimit(resource.RLIMIT_CPU)[1],) * 2))\n"
            "while True: pass",
            timeout=120,
        )
        assert spun.error is not None and spun.error.name == "SandboxExited"
        assert spun.exit_code == 137  # SIGKILL from the kernel at the hard limit


@pytest.mark.skipif(not cgroup.hierarchies(),
                    reason="session-wide limits need a writable cgroup (v2 delegated, or v1)")
def test_memory_is_limited_for_the_session_not_per_process() -> None:
    # Each process stays far below its own address-space limit; together they cannot pass
    # the session's memory, so the kernel stops some of them, and the session goes on.
    with LocalSandboxSession(small_settings(memory_mb=400)) as jail:
        jail.execute("canary = 'alive'")
        result = jail.execute(
            "import os, time\n"
            "pids = []\n"
            "for _ in range(3):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        block = bytearray(os.urandom(1) * (150 * 2**20))\n"
            "        time.sleep(2)\n"
            "        os._exit(0)\n"
            "    pids.append(pid)\n"
            "print(sorted(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids))",
            timeout=60,
        )
        statuses = eval(result.stdout)  # noqa: S307 - our own repr
        assert -9 in statuses  # killed at the session's limit
        assert jail.execute("canary").text == "'alive'"


@pytest.mark.skipif(not cgroup.can_freeze(),
                    reason="no cgroup freezer on this host: the jail falls back to SIGSTOP, which "
                           "this attack defeats by design (docs/security.md); the fallback has "
                           "its own test")
def test_the_freeze_holds_against_sigcont_timers_and_fork_chains() -> None:
    """Issue 24: a SIGCONT timer restarted stopped processes within 20 ms, and a fork-and-exit
    chain escaped the SIGSTOP search; the cgroup freezer stops the whole session at once."""
    with LocalSandboxSession(small_settings()) as jail:
        started = jail.execute(UNSTOPPABLE, timeout=10)
        assert started.ok, started.stderr
        time.sleep(1.5)  # between executions: nothing of the session may run
        stamps = jail.execute("import time; time.sleep(0.3)\n"  # running again: stamps resume
                              "print(open('/tmp/timer').read()); print('--');"
                              "print(open('/tmp/chain').read())", timeout=10)
        timer, chain = stamps.stdout.split("--")
        assert longest_gap(timer) > 1.2 and longest_gap(chain) > 1.2


def test_tcp_buffers_are_bounded_for_the_session() -> None:
    """On cgroup v1, 608 MiB sat in loopback sockets nobody read, outside a 256 MiB limit."""
    if not any(h.controllers == ("memory",) for h in cgroup.hierarchies()):
        pytest.skip("cgroup v2 host: socket memory is charged to memory.max there, so there is "
                    "no separate TCP bound to test (this covers v1's kmem.tcp limit)")
    settings = small_settings(memory_mb=256, open_files=1024)
    with LocalSandboxSession(settings) as jail:
        queued = jail.execute(
            "import socket\n"
            "server = socket.create_server(('127.0.0.1', 0), backlog=200)\n"
            "held, total = [], 0\n"
            "for _ in range(150):\n"
            "    c = socket.create_connection(server.getsockname()); s, _ = server.accept()\n"
            "    c.setblocking(False); held += [c, s]\n"
            "    try:\n"
            "        while True: total += c.send(b'x' * 65536)\n"
            "    except (BlockingIOError, OSError):\n"
            "        pass\n"
            "total // 2**20", timeout=60)
        assert queued.ok, queued.stderr
        assert int(queued.text or "0") < 256, queued.text


def test_a_frozen_jail_dies_with_its_killed_owner() -> None:
    """A task frozen by the v1 freezer ignores SIGKILL until thawed: a jail frozen between
    executions must still die when the process that owns it is SIGKILL'd."""
    import os
    import signal
    import subprocess
    import sys

    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "sys.path[:0] = ['tests/sandbox']\n"
         "from jail_helpers import small_settings\n"
         "from agentcode.sandbox.local.session import LocalSandboxSession\n"
         "jail = LocalSandboxSession(small_settings())\n"
         "jail.execute('x = 1')\n"
         "worker = jail._worker\n"
         "deadline = time.monotonic() + 10\n"  # frozen by the freezer thread, after the result
         "while not (worker._group_frozen or worker._stopped) and time.monotonic() < deadline:\n"
         "    time.sleep(0.01)\n"
         "print(worker.proc.pid, worker.worker_pid, flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    pids = [int(p) for p in owner.stdout.readline().split()]
    assert len(pids) == 2
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait(10)

    def alive(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not [pid for pid in pids if alive(pid)]


@pytest.mark.skipif(not cgroup.can_freeze(),
                    reason="no cgroup freezer on this host: the SIGSTOP fallback is tested by "
                           "test_threads_left_behind_do_not_run_between_executions")
def test_the_freezer_thread_freezes_the_jail_after_its_result() -> None:
    """execute returns before the freeze (supervisor._FREEZER); the jail is frozen soon after,
    and the next execution thaws it."""
    from pathlib import Path

    with LocalSandboxSession(small_settings()) as jail:
        assert jail.execute("x = 1").ok
        worker, group = jail._worker, jail._cgroup
        assert worker is not None and group is not None
        deadline = time.monotonic() + 10
        while not worker._group_frozen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker._group_frozen
        # cgroup v1 shows it in freezer.state (v2 in cgroup.events).
        for state in (Path(d, "freezer.state") for d in group.dirs):
            if state.exists():
                assert state.read_text().strip() in ("FREEZING", "FROZEN")
        assert jail.execute("x + 1").text == "2"
        assert not worker._group_frozen
