"""Limits that hold for the session as a whole, and nothing running between executions.

Against the real jail: threads and children the code leaves behind are stopped between
executions and their output never lands in the next result; tmpfs mounts run out of inodes;
core dumps are off and the hard CPU limit cannot be lifted by the code.
"""

from __future__ import annotations

import time

import pytest
from jail_helpers import small_settings

from agentcode.sandbox.local import cgroup, tmpfs
from agentcode.sandbox.local.session import LocalSandboxSession


def test_threads_left_behind_do_not_run_between_executions(jail: LocalSandboxSession) -> None:
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
