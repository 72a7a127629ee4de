"""The resident `agentcode run` helper (agentcode/cli/run_helper.py, run_serve.py, run_client.py)
with the real jail and the real CLI as processes: what a run through it prints and returns is
what the in-process run does, it serves each run once, and it leaves no process behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agentcode.cli import run_client, run_serve
from agentcode.sandbox.local import resident

KEEP_ALIVE = "60"


def agentcode(*args: str, stdin: bytes | str = b"", env: dict[str, str] | None = None,
              cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run([sys.executable, "-m", "agentcode", *args], input=data,
                          capture_output=True, env={**os.environ, **(env or {})}, cwd=cwd,
                          timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                       proc.stderr.decode())


def at_once(command: Callable[[int], subprocess.CompletedProcess[str]],
            count: int) -> dict[int, subprocess.CompletedProcess[str]]:
    """``command(n)`` for n in range(count), all at the same time; their results by n."""
    with ThreadPoolExecutor(count) as pool:
        return dict(enumerate(pool.map(command, range(count))))


def served_count() -> int:
    state = resident.running()
    return int(state["served"]) if state else -1


def served(expected: int) -> bool:
    """Whether the helper ran exactly ``expected`` requests (its count is written by the
    master a moment after a child took one)."""
    with contextlib.suppress(AssertionError):
        wait_until(lambda: served_count() >= expected, 10)
    return served_count() == expected


def descendants(pid: int) -> set[tuple[int, str]]:
    """``pid`` and every process under it, as (pid, start time) so a reused pid is not it."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        starts[int(entry.name)] = fields[19]
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current in starts:
            found.add((current, starts[current]))
        todo.extend(children.get(current, []))
    return found


def still_there(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    left = set()
    for pid, start in processes:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[19] == start and fields[0] != "Z":
            left.add((pid, start))
    return left


def wait_until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {check}")


def idle_child(master: int) -> int | None:
    """The master's child that waits for the next run (the jail started under it)."""
    kids = [pid for pid, _ in descendants(master) if _ppid(pid) == master]
    return kids[0] if len(kids) == 1 else None


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


@pytest.fixture
def helper(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A helper started the way users get one: after a run in process."""
    monkeypatch.setenv("AGENTCODE_SANDBOX_KEEP_ALIVE", KEEP_ALIVE)
    monkeypatch.delenv("CI", raising=False)
    first = agentcode("run", "-", stdin="print('in process')", env={"MASTER_ONLY": "master"})
    assert (first.returncode, first.stdout) == (0, "in process\n")
    state = wait_until(resident.running)
    wait_until(lambda: idle_child(int(state["pid"])))
    try:
        yield state
    finally:
        processes = descendants(int(state["pid"]))
        resident.stop()
        wait_until(lambda: not still_there(processes), 10)


def test_a_closed_stdin_is_said_as_in_process_not_sent_as_a_stream(
        helper: dict[str, Any]) -> None:
    # `agentcode run - <&-`: fd 0 is closed, the first descriptor the client opens would be 0.
    proc = subprocess.run(["sh", "-c", f"exec {sys.executable} -m agentcode run - <&-"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == ("agentcode: error: no code on stdin: pipe something in or pass a "
                           "file path\n")


def test_output_and_exit_codes_are_the_in_process_ones(helper: dict[str, Any]) -> None:
    cases = [
        ("import sys\nprint('out')\nprint('err', file=sys.stderr)", 0, "out\n", "err\n"),
        ("import sys\nprint('bye')\nsys.exit(3)", 3, "bye\n", ""),
        ("raise ValueError('no')", 1, "", "ValueError: no"),
        ("print(1", 1, "", "SyntaxError"),
        ("x = 6 * 7\nx", 0, "42\n", ""),
    ]
    for number, (code, status, out, err) in enumerate(cases, start=1):
        done = agentcode("run", "-", stdin=code)
        assert (done.returncode, done.stdout) == (status, out), done
        assert err in done.stderr and "Traceback (most recent call last):\n  File \"/" \
            not in done.stderr
        assert served(number)  # through the helper, once each
    bad = agentcode("run", "--timeout", "-1", "-", stdin="print(1)")
    assert bad.returncode == 2 and bad.stderr.startswith("agentcode: error:")


@pytest.fixture(params=["", "1"], ids=["buffered", "unbuffered"])
def unbuffered(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """PYTHONUNBUFFERED for the client and, being listed before `helper`, the helper too."""
    monkeypatch.setenv("PYTHONUNBUFFERED", request.param)
    return str(request.param)


def test_a_full_disk_on_stdout_is_said_and_exits_as_in_process(
        unbuffered: str, helper: dict[str, Any]) -> None:
    # `> /dev/full`: the program's output cannot be written, buffered or not (-u): one line,
    # exit 1, in process and through the helper alike. The helper's child once died ("the
    # helper ended", exit 4), and buffered what -u does not.
    def full(keep_alive: str) -> tuple[int, str]:
        with open("/dev/full", "wb") as sink:
            proc = subprocess.run([sys.executable, "-m", "agentcode", "run", "-"],
                                  input=b"print('x')\n", stdout=sink, stderr=subprocess.PIPE,
                                  env={**os.environ, "AGENTCODE_SANDBOX_KEEP_ALIVE": keep_alive},
                                  timeout=30)
        return proc.returncode, proc.stderr.decode()

    said = "agentcode: error: cannot write the program's output to stdout: " \
           "No space left on device\n"
    assert full("0") == (1, said)
    assert full(KEEP_ALIVE) == (1, said)
    assert served(1)


def test_a_client_in_another_locale_is_run_in_process(helper: dict[str, Any],
                                                     tmp_path: Path) -> None:
    # A Latin-1 locale decodes the file name b"c\xe9.py" to "c\u00e9.py"; the helper's UTF-8
    # interpreter would encode it back as b"c\xc3\xa9.py": "no such file". Such a client
    # is declined (its locale is set up at Python's start, as PYTHON* variables are).
    locales = tmp_path / "locales"
    locales.mkdir()
    subprocess.run(["localedef", "-i", "en_US", "-f", "ISO-8859-1",
                    str(locales / "en_US.ISO-8859-1")], capture_output=True, timeout=60)
    assert (locales / "en_US.ISO-8859-1").is_dir()
    with open(os.path.join(os.fsencode(tmp_path), b"c\xe9.py"), "wb") as code:
        code.write(b"import sys; print(ascii(sys.argv))\n")
    latin1 = {"LOCPATH": str(locales), "LC_ALL": "en_US.ISO-8859-1"}

    def run(keep_alive: str) -> tuple[int, bytes, bytes]:
        proc = subprocess.run([sys.executable, "-m", "agentcode", "run", b"c\xe9.py", b"\xe9"],
                              cwd=tmp_path, capture_output=True, timeout=30,
                              env={**os.environ, **latin1,
                                   "AGENTCODE_SANDBOX_KEEP_ALIVE": keep_alive})
        return proc.returncode, proc.stdout, proc.stderr

    assert run("0") == (0, b"['c\\xe9.py', '\\xe9']\n", b"")
    assert run(KEEP_ALIVE) == run("0")
    assert served(0)


def test_files_stdin_out_and_relative_paths_are_the_clients(helper: dict[str, Any],
                                                           tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "prog.py").write_text(
        "import sys\nprint(open('data.txt').read().strip(), sys.stdin.read().strip(), "
        "sys.argv[1:])\nopen('made.txt', 'w').write('made')\n")
    (work / "data.txt").write_text("from --file")
    (work / "input.txt").write_text("from --stdin")
    done = agentcode("run", "--file", "data.txt", "--stdin", "input.txt", "--out", "out",
                     "prog.py", "--flag", cwd=work)
    assert done.returncode == 0, done
    assert done.stdout == "from --file from --stdin ['--flag']\n"
    assert (work / "out" / "made.txt").read_text() == "made"
    assert served(1)
    # The umask is the client's too: --out's files are made under it.
    old = os.umask(0o077)
    try:
        again = agentcode("run", "--file", "data.txt", "--out", "out2", "prog.py", stdin="x",
                          cwd=work)
    finally:
        os.umask(old)
    assert again.returncode == 0 and served(2)
    assert (work / "out2" / "made.txt").stat().st_mode & 0o077 == 0


def test_env_name_comes_from_the_clients_environment(helper: dict[str, Any]) -> None:
    code = "import os\nprint(os.environ.get('ONLY_HERE'), os.environ.get('MASTER_ONLY'))"
    done = agentcode("run", "--env", "ONLY_HERE", "-", stdin=code, env={"ONLY_HERE": "client"})
    assert (done.returncode, done.stdout) == (0, "client None\n")
    # The helper started from a process that had MASTER_ONLY set; this client has not.
    missing = agentcode("run", "--env", "MASTER_ONLY", "-", stdin=code)
    assert missing.returncode == 2 and "MASTER_ONLY is not set here" in missing.stderr
    assert served(2)


def test_four_clients_at_once_each_get_their_own_run(helper: dict[str, Any]) -> None:
    results = at_once(lambda n: agentcode(
        "run", "-", stdin=f"import time\ntime.sleep(0.2)\nprint({n} * 11)"), 4)
    assert {n: (r.returncode, r.stdout) for n, r in results.items()} == {
        n: (0, f"{n * 11}\n") for n in range(4)}
    assert served(4)


def test_a_config_edit_between_runs_is_honoured(helper: dict[str, Any], agentcode_home: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    code = "import resource\nprint(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    assert agentcode("run", "-", stdin=code).stdout == "256\n"
    (agentcode_home / "config.toml").write_text("[limits]\nopen_files = 100\n")
    assert agentcode("run", "-", stdin=code).stdout == "100\n"  # not the spare's 256
    (agentcode_home / "config.toml").write_text("sandbox_keep_alive = 0\n")
    monkeypatch.delenv("AGENTCODE_SANDBOX_KEEP_ALIVE")
    declined = agentcode("run", "-", stdin=code)
    assert (declined.returncode, declined.stdout) == (0, "256\n")
    assert served(2)  # the helper is off for that client: it ran in process


def run_until_ready(then: bytes = b"time.sleep(60)\n", *, stderr: int = subprocess.PIPE,
                    preexec_fn: Any = None) -> subprocess.Popen[bytes]:
    """`agentcode run -` on a program that prints "ready" and then runs ``then``; returned
    once "ready" is out (the run is in its jail)."""
    proc = subprocess.Popen([sys.executable, "-m", "agentcode", "run", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                            preexec_fn=preexec_fn)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"import time\nprint('ready', flush=True)\n" + then)
    proc.stdin.close()
    assert proc.stdout.readline() == b"ready\n"
    return proc


def test_ctrl_c_reaches_the_run_and_nothing_is_left(helper: dict[str, Any]) -> None:
    child = wait_until(lambda: idle_child(helper["pid"]))
    processes = descendants(child)
    proc = run_until_ready()
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert proc.wait(20) == 130
    assert err.decode().splitlines()[-1] == "agentcode: interrupted"  # as in process
    wait_until(lambda: not still_there(processes | descendants(child)))
    assert served(1)


def _fd_targets(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.add(os.readlink(fd))
        except OSError:
            continue
    return found


def test_nothing_of_the_master_reaches_the_jail(helper: dict[str, Any]) -> None:
    master = int(helper["pid"])
    child = wait_until(lambda: idle_child(master))
    ours = {target for target in _fd_targets(master)
            if target.startswith(("socket:", "pipe:")) or target.endswith(".lock")}
    assert any(target.startswith("socket:") for target in ours)  # the listening socket
    jail = wait_until(lambda: {pid for pid, _ in descendants(child)} - {child})
    for pid in jail:
        assert not _fd_targets(pid) & ours, pid
    assert not {t for t in _fd_targets(child) if t.endswith(".lock")}  # the lock is the master's


@pytest.mark.parametrize("nohup", [False, True], ids=["", "nohup"])
def test_a_client_killed_takes_its_run_and_jail_with_it(helper: dict[str, Any],
                                                        nohup: bool) -> None:
    # (Under nohup the child ignores SIGHUP as the client does: it still goes.)
    child = wait_until(lambda: idle_child(helper["pid"]))
    proc = run_until_ready(stderr=subprocess.DEVNULL, preexec_fn=lambda: signal.signal(
        signal.SIGHUP, signal.SIG_IGN if nohup else signal.SIG_DFL))
    processes = descendants(child)
    assert len(processes) >= 3  # the child, bwrap and the interpreter in the jail
    proc.kill()
    proc.wait()
    wait_until(lambda: not still_there(processes))


def test_sigterm_to_the_client_ends_the_run_as_it_would_in_process(
        helper: dict[str, Any]) -> None:
    proc = run_until_ready()
    proc.terminate()
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert proc.wait(20) == -signal.SIGTERM, err


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGINT, signal.SIGTERM],
                         ids=["SIGHUP", "SIGINT", "SIGTERM"])
def test_a_signal_the_client_ignores_is_not_passed_on(helper: dict[str, Any],
                                                     signum: int) -> None:
    # `nohup agentcode run ...`, or a background job's SIGINT: ignored in process, so the
    # run goes on to its end.
    proc = run_until_ready(b"time.sleep(1)\nprint('end')\n",
                           preexec_fn=lambda: signal.signal(signum, signal.SIG_IGN))
    assert proc.stdout is not None and proc.stderr is not None
    proc.send_signal(signum)
    assert (proc.stdout.read(), proc.stderr.read(), proc.wait(20)) == (b"end\n", b"", 0)
    assert served(1)


@pytest.mark.parametrize("ignored", [(), (signal.SIGHUP,), (signal.SIGINT, signal.SIGQUIT),
                                     (signal.SIGTERM, signal.SIGUSR1)],
                         ids=["none", "nohup", "background", "trap"])
def test_the_program_ignores_the_signals_it_would_in_process(helper: dict[str, Any],
                                                             ignored: tuple[int, ...]) -> None:
    # A program inherits the signals agentcode ignores (`nohup`, a background job, a shell's
    # `trap '' ...`) and no others; through the helper it inherited the master's SIGHUP.
    code = b"print([line for line in open('/proc/self/status') if line.startswith('SigIgn')])"

    def ignoring() -> None:
        for signum in ignored:
            signal.signal(signum, signal.SIG_IGN)

    def run(keep_alive: str) -> tuple[int, bytes]:
        proc = subprocess.run([sys.executable, "-m", "agentcode", "run", "-"], input=code,
                              capture_output=True, preexec_fn=ignoring, timeout=30,
                              env={**os.environ, "AGENTCODE_SANDBOX_KEEP_ALIVE": keep_alive})
        return proc.returncode, proc.stdout

    assert run(KEEP_ALIVE) == run("0")
    assert served(1)


def test_idle_exit_leaves_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCODE_SANDBOX_KEEP_ALIVE", "3")
    assert agentcode("run", "-", stdin="print(1)").returncode == 0
    state = wait_until(resident.running)
    master = int(state["pid"])
    # The master, its idle child and that child's jail (bwrap and the interpreter).
    processes = wait_until(lambda: len(found := descendants(master)) >= 3 and found)
    wait_until(lambda: not still_there(processes))
    base = resident.base_path()
    assert not base.with_suffix(".sock").exists() and not base.with_suffix(".json").exists()


def test_a_master_killed_takes_its_idle_child_and_the_next_run_replaces_it(
        helper: dict[str, Any]) -> None:
    processes = descendants(helper["pid"])
    os.kill(helper["pid"], signal.SIGKILL)
    wait_until(lambda: not still_there(processes))
    done = agentcode("run", "-", stdin="print('in process again')")  # its socket: refused
    assert (done.returncode, done.stdout, done.stderr) == (0, "in process again\n", "")
    state = wait_until(lambda: (s := resident.running()) and s["pid"] != helper["pid"] and s)
    helper["pid"] = state["pid"]  # for the fixture's clean-up
    assert agentcode("run", "-", stdin="print(2)").stdout == "2\n" and served(1)


def test_a_helper_whose_socket_file_is_removed_leaves(helper: dict[str, Any]) -> None:
    processes = descendants(int(helper["pid"]))
    Path(helper["socket"]).unlink()
    wait_until(lambda: not still_there(processes))
    assert not resident.base_path().with_suffix(".json").exists()


def test_sandbox_stop_and_status(helper: dict[str, Any]) -> None:
    status = agentcode("sandbox", "status", "--json")
    assert json.loads(status.stdout)["running"]["pid"] == helper["pid"]
    processes = descendants(helper["pid"])
    stopped = agentcode("sandbox", "stop")
    assert stopped.stderr == "agentcode: stopped the run helper\n"
    assert not still_there(processes)
    assert agentcode("sandbox", "status").stdout.startswith("no run helper")
    assert agentcode("sandbox", "stop").stderr == "agentcode: no run helper was running\n"
    doctor = agentcode("doctor")
    assert "run helper" in doctor.stdout and "none running" in doctor.stdout


def test_stale_code_falls_back_and_a_new_helper_starts(helper: dict[str, Any]) -> None:
    module = Path(run_serve.__file__).with_name("run_cmd.py")
    info = module.stat()
    old = descendants(helper["pid"])
    try:
        os.utime(module, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        done = agentcode("run", "-", stdin="print('still right')")
        assert (done.returncode, done.stdout, done.stderr) == (0, "still right\n", "")
        wait_until(lambda: not still_there(old))  # the stale helper went
        state = wait_until(lambda: (s := resident.running()) and s["pid"] != helper["pid"] and s)
        wait_until(lambda: idle_child(int(state["pid"])))
        again = agentcode("run", "-", stdin="print('new helper')")
        assert again.stdout == "new helper\n" and served(1)
    finally:
        os.utime(module, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_an_install_into_the_import_path_makes_the_helper_stale(helper: dict[str, Any]) -> None:
    # `pip install` of a plugin or an upgrade changes site-packages, not agentcode's files.
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    info = site.stat()
    old = descendants(helper["pid"])
    try:
        os.utime(site, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        done = agentcode("run", "-", stdin="print('in process again')")
        assert (done.returncode, done.stdout) == (0, "in process again\n")
        wait_until(lambda: not still_there(old))  # the stale helper went
        # ... and the run started a new one, which the fixture stops.
        wait_until(lambda: (s := resident.running()) and s["pid"] != helper["pid"])
    finally:
        os.utime(site, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_ci_starts_no_helper_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTCODE_SANDBOX_KEEP_ALIVE")
    monkeypatch.setattr(resident, "KEEP_ALIVE_SECONDS", 300.0)
    assert agentcode("run", "-", stdin="print(1)", env={"CI": "true"}).returncode == 0
    time.sleep(1.0)
    assert resident.running() is None
    assert not resident.base_path().with_suffix(".sock").exists()


def test_the_client_talks_only_to_a_socket_of_its_own_user(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    import _socket

    mine, theirs = (_socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM) for _ in range(2))
    assert run_client._connect(mine, path)
    real = os.getuid
    monkeypatch.setattr(os, "getuid", lambda: real() + 1)
    assert not run_client._connect(theirs, path)  # as if the listener were someone else's
    for sock in (mine, theirs, listener):
        sock.close()


def test_the_child_answers_only_a_peer_of_its_own_user(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(2)
    uids = iter([os.getuid() + 1, os.getuid()])  # a stranger first, then one of ours
    monkeypatch.setattr(run_serve, "_peer_uid", lambda conn: next(uids))
    stranger, ours = (socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(2))
    stranger.connect(path)
    ours.connect(path)
    child = run_serve.Child(listener, -1, {})
    conn = child.accept()
    stranger.settimeout(5)
    assert stranger.recv(1) == b""  # closed without a word
    conn.sendall(b"a")
    assert ours.recv(1) == b"a"
    for sock in (conn, stranger, ours, listener):
        sock.close()


def _fake_helper(monkeypatch: pytest.MonkeyPatch) -> socket.socket:
    """A listening socket where the client looks for its helper, which this test plays."""
    path = resident.base_path(run_client.runtime.runtime_dir()).with_suffix(".sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    address, dir_fd = run_client.runtime.socket_address(str(path))
    listener.bind(address)
    if dir_fd is not None:
        os.close(dir_fd)
    listener.listen(4)
    monkeypatch.delenv("AGENTCODE_SANDBOX_KEEP_ALIVE")
    return listener


def test_a_helper_that_never_answers_means_a_run_in_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    listener = _fake_helper(monkeypatch)  # listening, never accepting (hung, or stopped)
    monkeypatch.setattr(run_client, "READY_TIMEOUT", 0.3)
    try:
        assert run_client.run(["run", "-"]) is None  # nothing ran: the caller runs it
    finally:
        listener.close()


def test_a_helper_that_dies_after_go_is_one_line_and_exit_4(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    listener = _fake_helper(monkeypatch)
    got: list[bytes] = []

    def play() -> None:
        conn, _ = listener.accept()
        data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 4)
        for fd in fds:
            os.close(fd)
        got.append(data)
        conn.sendall(b"a")
        got.append(conn.recv(1))
        conn.close()  # dies before the status

    thread = threading.Thread(target=play)
    thread.start()
    try:
        assert run_client.run(["run", "-"]) == run_client.EXIT_LOST
    finally:
        thread.join(10)
        listener.close()
    assert got[1] == b"g" and b"argv" in got[0]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("agentcode: error: the run helper's process")
