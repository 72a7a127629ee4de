"""The attack battery: hostile code against the real jail (bubblewrap, no mocks).

Each test asserts the attack failed, the host is unaffected, and the session is still usable
(with its variables) wherever the design says it survives.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from jail_helpers import small_settings

import agentcode
from agentcode.errors import ExecutionTimeoutError
from agentcode.sandbox.local.jail import UID_BASE
from agentcode.sandbox.local.session import LocalSandboxSession

PROJECT = Path(agentcode.__file__).resolve().parent.parent


def run(jail: LocalSandboxSession, code: str) -> str:
    """Run attack code that prints one verdict line; return it."""
    result = jail.execute(code)
    assert result.error is None, result.stderr
    return result.stdout.strip()


def survives(jail: LocalSandboxSession) -> None:
    assert jail.execute("canary").text == "'alive'"


@pytest.fixture
def armed(jail: LocalSandboxSession) -> LocalSandboxSession:
    jail.execute("canary = 'alive'")
    return jail


# -- network --------------------------------------------------------------------------------

def test_no_tcp_egress_not_even_to_the_hosts_loopback(armed: LocalSandboxSession) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        verdict = run(armed, (
            "import socket\n"
            "out = []\n"
            f"for addr in [('1.1.1.1', 80), ('127.0.0.1', {port})]:\n"
            "    try:\n"
            "        socket.create_connection(addr, timeout=2); out.append('connected')\n"
            "    except OSError as e:\n"
            "        out.append(type(e).__name__)\n"
            "print(out)"
        ))
    finally:
        listener.close()
    assert "connected" not in verdict
    survives(armed)


def test_no_udp_and_no_dns(armed: LocalSandboxSession) -> None:
    verdict = run(armed, (
        "import socket\n"
        "out = []\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n"
        "    s.sendto(b'x', ('8.8.8.8', 53)); out.append('sent')\n"
        "except OSError as e:\n"
        "    out.append('udp blocked')\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 443); out.append('resolved')\n"
        "except OSError:\n"
        "    out.append('dns blocked')\n"
        # Interfaces from /proc (if_nameindex needs netlink, which the jail refuses).
        "names = [l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]]\n"
        "print(out, names)"
    ))
    assert verdict == "['udp blocked', 'dns blocked'] ['lo']"
    survives(armed)


# -- host files -----------------------------------------------------------------------------

def _read_attempts(paths: list[str]) -> str:
    return (
        "out = []\n"
        f"for p in {paths!r}:\n"
        "    try:\n"
        "        out.append(open(p, 'rb').read()[:40])\n"
        "    except OSError as e:\n"
        "        out.append(type(e).__name__)\n"
        "print(out)"
    )


def test_cannot_read_shadow_home_or_project(armed: LocalSandboxSession, tmp_path: Path) -> None:
    home = tmp_path / "home" / "alice"
    home.mkdir(parents=True)
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text("SECRET-MARKER-123")
    targets = ["/etc/shadow", "/etc/passwd", str(home / ".aws" / "credentials"),
               str(PROJECT / "pyproject.toml"), str(PROJECT / "agentcode" / "__init__.py"),
               "/root/.bash_history"]
    verdict = run(armed, _read_attempts(targets))
    assert verdict == str(["FileNotFoundError"] * len(targets))
    listing = run(armed, f"import os\nprint(os.path.exists({str(PROJECT)!r}))")
    assert listing == "False"  # the venv's packages are at a neutral path; no sources
    survives(armed)


def test_cannot_write_outside_the_work_dir(armed: LocalSandboxSession) -> None:
    site = next(p for p in sys.path if p.endswith("site-packages"))
    targets = ["/usr/bin/evil", f"{site}/evil.pth", f"{sys.base_prefix}/evil",
               "/evil", "/proc/sys/kernel/hostname", "/etc/evil"]
    verdict = run(armed, (
        "out = []\n"
        f"for p in {targets!r}:\n"
        "    try:\n"
        "        open(p, 'w').write('x'); out.append('wrote ' + p)\n"
        "    except OSError as e:\n"
        "        out.append('denied')\n"
        "print(out)"
    ))
    assert verdict == str(["denied"] * len(targets))
    for path in targets[:3]:
        assert not os.path.exists(path)
    survives(armed)


def test_planted_symlink_never_copies_a_host_file_out(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    out_dir = tmp_path / "out"
    code = (
        "import os\n"
        f"os.symlink({str(secret)!r}, 'leak.txt')\n"
        "os.symlink('/etc/shadow', 'shadow')\n"
        f"os.makedirs('d'); os.symlink({str(tmp_path)!r}, 'd/hostdir')\n"
        "open('real.txt', 'w').write('fine')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "agentcode", "run", "--out", str(out_dir), "-"],
        input=code.encode(), capture_output=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    saved = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*"))
    assert saved == ["real.txt"]
    assert (out_dir / "real.txt").read_text() == "fine"
    for path in out_dir.rglob("*"):
        if path.is_file():
            assert b"TOP-SECRET" not in path.read_bytes()
    assert secret.read_text() == "TOP-SECRET-MARKER"


def test_read_file_refuses_links(armed: LocalSandboxSession) -> None:
    armed.execute("import os\nos.symlink('/etc/hostname', 'h')\nos.mkfifo('fifo')")
    assert armed.list_files() == []
    with pytest.raises(agentcode.SandboxError, match="link"):
        armed.read_file("h")
    with pytest.raises(agentcode.SandboxError, match="not a regular file"):
        armed.read_file("fifo")


# -- resources ------------------------------------------------------------------------------

def test_fork_bomb_hits_the_process_limit() -> None:
    with LocalSandboxSession(small_settings(processes=16)) as jail:
        jail.execute("canary = 'alive'")
        verdict = run(jail, (
            "import os, time\n"
            "children, error = [], None\n"
            "for _ in range(1000):\n"
            "    try:\n"
            "        pid = os.fork()\n"
            "    except OSError as e:\n"
            "        error = type(e).__name__; break\n"
            "    if pid == 0:\n"
            "        time.sleep(1); os._exit(0)\n"
            "    children.append(pid)\n"
            "for pid in children: os.waitpid(pid, 0)\n"
            "print(error, len(children) < 16)"
        ))
        assert verdict == "BlockingIOError True"
        survives(jail)
    assert os.getpid() > 0  # and the test process is still here to check


def test_huge_allocation_is_a_memory_error(armed: LocalSandboxSession) -> None:
    result = armed.execute("b = bytearray(10 * 1024 ** 3)")
    assert result.error is not None and result.error.name == "MemoryError"
    survives(armed)


@pytest.mark.parametrize("target", ["/tmp", "/dev/shm", "/sandbox"])
def test_filling_tmpfs_stops_at_its_size(armed: LocalSandboxSession, target: str) -> None:
    verdict = run(armed, (
        "import errno\n"
        "total = 0\n"
        f"f = open('{target}/fill', 'wb')\n"
        "try:\n"
        "    while total < 200 * 2**20:\n"
        "        f.write(b'x' * 2**20); f.flush(); total += 2**20\n"
        "except OSError as e:\n"
        "    print(errno.errorcode[e.errno], total <= 32 * 2**20)\n"
        "f.close()"
    ))
    assert verdict == "ENOSPC True"
    survives(armed)


def test_file_size_limit(armed: LocalSandboxSession) -> None:
    with LocalSandboxSession(small_settings(file_size_mb=1, workdir_mb=64)) as jail:
        result = jail.execute("open('big', 'wb').write(b'x' * 2 * 2**20)")
        assert result.error is not None and "File too large" in result.error.value
        assert jail.execute("1").text == "1"


def test_python_loop_is_interrupted_and_state_survives(armed: LocalSandboxSession) -> None:
    with pytest.raises(ExecutionTimeoutError) as info:
        armed.execute("print('started', flush=True)\nwhile True:\n    pass", timeout=1)
    assert info.value.state_lost is False and info.value.exit_code == 124
    assert info.value.execution is not None and info.value.execution.stdout == "started\n"
    assert "keeps its variables" in str(info.value)
    survives(armed)


def test_c_level_loop_is_killed_and_the_session_restarts_fresh() -> None:
    with LocalSandboxSession(small_settings(kill_grace_seconds=0.5)) as jail:
        jail.execute("canary = 'alive'")
        with pytest.raises(ExecutionTimeoutError) as info:
            jail.execute("sum(range(10**12))", timeout=1)
        assert info.value.state_lost is True
        assert "variables and files are gone" in str(info.value)
        assert jail.execute("'canary' in globals()").text == "False"
        assert jail.execute("2 + 2").text == "4"


# -- processes and secrets ------------------------------------------------------------------

def test_cannot_signal_or_trace_outside_processes(armed: LocalSandboxSession) -> None:
    verdict = run(armed, (
        "import ctypes, os, signal\n"
        "out = []\n"
        f"for pid in (1, {os.getpid()}):\n"
        "    try:\n"
        "        os.kill(pid, signal.SIGKILL); out.append('killed')\n"
        "    except OSError as e:\n"
        "        out.append(type(e).__name__)\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "out.append(libc.ptrace(16, 1, 0, 0) == -1 and ctypes.get_errno() == 1)\n"  # ATTACH
        "out.append(libc.unshare(0x10000000) == -1)\n"  # CLONE_NEWUSER
        "try:\n"
        "    open('/proc/1/environ').read(); out.append('read')\n"
        "except OSError as e:\n"
        "    out.append(type(e).__name__)\n"
        "print(out, sorted(p for p in os.listdir('/proc') if p.isdigit()))"
    ))
    assert verdict == (
        "['PermissionError', 'ProcessLookupError', True, True, 'PermissionError'] ['1', '2']"
    )
    survives(armed)


def test_runs_as_an_unprivileged_per_session_uid(armed: LocalSandboxSession) -> None:
    verdict = run(armed, (
        "import os\n"
        "try:\n"
        "    os.setuid(0); back = 'root again'\n"
        "except OSError:\n"
        "    back = 'denied'\n"
        "status = open('/proc/self/status').read()\n"
        "print(os.getuid(), back, status.count('CapEff:\\t0000000000000000'))"
    ))
    uid, back, no_caps = verdict.split()
    assert back == "denied" and no_caps == "1"
    if os.geteuid() == 0:
        assert int(uid) >= UID_BASE


def test_host_secrets_are_invisible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "AKIA-SECRET-MARKER")
    with LocalSandboxSession(small_settings()) as jail:
        verdict = run(jail, (
            "import os\n"
            "seen = [str(dict(os.environ))]\n"
            "for pid in ['self', *os.listdir('/proc')]:\n"
            "    if pid.isdigit() or pid == 'self':\n"  # the worker's own: unreadable, not dumpable
            "        try:\n"
            "            seen.append(open(f'/proc/{pid}/environ', 'rb').read().decode())\n"
            "        except OSError:\n"
            "            pass\n"
            "print('SECRET-MARKER' in ''.join(seen), 'AWS_SECRET_ACCESS_KEY' in os.environ)"
        ))
    assert verdict == "False False"
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "AKIA-SECRET-MARKER"
