"""The host side of one worker process: start it, run one request at a time, stop it.

While the code runs the supervisor drains the worker's stdout and stderr (streaming chunks to
callbacks, keeping at most ``output_bytes`` per stream and counting the rest), waits for the
result line (capped at jail.line_limit), and enforces the wall-clock timeout: SIGINT first (the
worker raises KeyboardInterrupt in the code, state survives), SIGKILL after the grace period.

The worker shares its process with the code, so nothing it does may hang or confuse us: every
wait and every drain has a deadline and a byte budget (a request returns within its timeout
plus the grace period plus DRAIN_SECONDS), a worker that closes its result pipe but stays
alive is killed, and results are checked (protocol.py). Between executions every process of
the jail is stopped (freeze.py); what they wrote after the result is discarded, and counted.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import resource
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from agentcode.errors import SandboxError, SandboxUnavailableError
from agentcode.sandbox.local import freeze
from agentcode.sandbox.local.jail import LINE_LIMIT
from agentcode.sandbox.local.protocol import parse_ready, parse_result

Callback = Callable[[str], None]
START_TIMEOUT = 20.0
# After a result or the worker's end: how long, and how many bytes, we keep reading its output.
DRAIN_SECONDS = 0.5
DRAIN_BYTES = 16 * 1024 * 1024
# A worker that closed its result pipe gets this long to exit before it is killed.
EXIT_SECONDS = 0.5
# One wait at most this long (the loops check their deadline again): poll() and select() refuse
# a timeout past a C int of milliseconds, and a huge --timeout must not crash the wait.
_MAX_WAIT = 3600.0
_READ = select.POLLIN | select.POLLHUP | select.POLLERR
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Stream:
    """One output stream of one execution: a capped copy, a dropped count, live chunks."""

    def __init__(self, cap: int, callback: Callback | None, errors: str = "replace") -> None:
        self.cap = cap
        self.kept = bytearray()
        self.dropped = 0
        self.callback = callback
        # The live chunks only: "surrogateescape" keeps bytes that are not UTF-8 (PEP 383), so
        # `agentcode run > out.bin` is byte-exact; what is kept (`text`) is always clean text.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors)

    def feed(self, data: bytes) -> None:
        room = max(0, self.cap - len(self.kept))
        if len(data) > room:
            self.dropped += len(data) - room
            data = data[:room]
        if data:
            self.kept += data
            if self.callback is not None:
                text = self._decoder.decode(data)
                if text:
                    self.callback(text)

    def finish(self) -> None:
        if self.callback is not None:
            tail = self._decoder.decode(b"", final=True)
            if tail:
                self.callback(tail)

    def text(self) -> str:
        return self.kept.decode("utf-8", "replace")


@dataclass
class Outcome:
    """What one request produced. ``result`` is None when the worker died or was killed."""

    stdout: Stream
    stderr: Stream
    result: dict[str, Any] | None = None
    interrupted: bool = False  # we sent SIGINT (timeout or Ctrl-C)
    killed: bool = False  # we killed the worker after the grace period
    exit_status: int | None = None  # the worker's exit status if it ended by itself
    discarded: int = 0  # bytes written outside any execution (after a result), not kept
    extra: dict[str, Any] = field(default_factory=dict)


_Job = TypeVar("_Job")


class _DaemonQueue(Generic[_Job]):
    """One daemon thread, started on first use and alive as long as the process, that hands each
    job to ``handle`` in order (a list and a Condition, not concurrent.futures or queue: those
    imports cost `agentcode run` ~10 ms)."""

    def __init__(self, name: str, handle: Callable[[_Job], None]) -> None:
        self._name, self._handle = name, handle
        self._wake = threading.Condition()
        self._jobs: list[_Job] = []
        self._thread: threading.Thread | None = None

    def submit(self, job: _Job) -> None:
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._jobs.append(job)
            self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._jobs:
                    self._wake.wait()
                job = self._jobs.pop(0)
            self._handle(job)


@dataclass
class _SpawnJob:
    start: Callable[[], subprocess.Popen[bytes]]
    proc: subprocess.Popen[bytes] | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _spawn_job(job: _SpawnJob) -> None:
    try:
        job.proc = job.start()
    except BaseException as exc:  # raised again on the caller's thread
        job.error = exc
    finally:
        job.done.set()


# The thread that starts every worker. bwrap's ``--die-with-parent`` (PR_SET_PDEATHSIG) fires
# when the *thread* that forked it exits, not the process: a session started on a pooled thread
# (anyio.to_thread, a ThreadPoolExecutor, a server's request thread) lost its jail, and its
# variables, as soon as that thread was retired. Forking from this daemon thread ties the jail
# to the process.
_SPAWNER: _DaemonQueue[_SpawnJob] = _DaemonQueue("agentcode-spawner", _spawn_job)


def _spawn(command: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` from the spawner thread (see `_Spawner`)."""
    job = _SpawnJob(lambda: subprocess.Popen(command, **options))
    _SPAWNER.submit(job)
    job.done.wait()
    if job.error is not None:
        raise job.error
    assert job.proc is not None
    return job.proc


class WorkerProcess:
    """A started worker (inside bwrap, or bare for the unsafe backend)."""

    def __init__(self, command: list[str], *, env: dict[str, str], pass_fds: tuple[int, ...],
                 request_w: int, response_r: int, info_r: int | None, cwd: str | None,
                 manage_cpu: bool = False, cpu_seconds: int = 0,
                 line_limit: int = LINE_LIMIT) -> None:
        self.proc = _spawn(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=pass_fds, env=env, cwd=cwd, start_new_session=True,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._proc_pidfd: int | None = None  # bwrap's (our child's): `_wait_proc` blocks on it
        with contextlib.suppress(OSError, AttributeError):
            self._proc_pidfd = os.pidfd_open(self.proc.pid)
        self.request_w = request_w
        os.set_blocking(request_w, False)  # a write never waits on a worker that stopped reading
        self.response_r = response_r
        self.out_fd = self.proc.stdout.fileno()
        self.err_fd = self.proc.stderr.fileno()
        self.info_r = info_r
        self.jail_pid: int | None = None  # bwrap's pid 1 in the jail (as the host sees it)
        self.worker_pid = self.proc.pid
        self._pidfd: int | None = None
        self._jail_pidfd: int | None = None  # readable once the jail's init has exited
        self._buffer = bytearray()
        self.alive = True
        self._requests = 0
        self.response_closed = False
        self._stopped: list[int] = []  # the jail's processes, stopped between executions
        # Freezing happens on the freezer thread after a result (`_freeze_soon`); the lock
        # orders it with the next thaw and with kill.
        self._freeze_lock = threading.Lock()
        self._freeze_pending = False
        # The session's cgroup, when it can freeze (set once the jail is in it): see freeze.py.
        self.group: freeze.Freezable | None = None
        self._group_frozen = False
        # As root we move the worker's hard CPU limit before each request (the code cannot).
        self._manage_cpu = manage_cpu
        self._cpu_seconds = cpu_seconds
        self._line_limit = line_limit

    # -- start ------------------------------------------------------------------------------

    def wait_ready(self) -> None:
        outcome = Outcome(Stream(64 * 1024, None), Stream(64 * 1024, None))
        line = self._read_line(outcome, time.monotonic() + START_TIMEOUT)
        if line is None or not _is_ready(line):
            self.kill()
            self._drain(outcome, final=True)
            detail = (outcome.stderr.text() or outcome.stdout.text()).strip()
            raise SandboxUnavailableError(
                "the sandbox failed to start"
                + (f": {detail.splitlines()[-1]}" if detail else "")
                + " (bubblewrap needs user namespaces: check kernel.unprivileged_userns_clone"
                " and, on Ubuntu, kernel.apparmor_restrict_unprivileged_userns)"
            )
        if self.info_r is not None:
            info = json.loads(os.read(self.info_r, 65536) or b"{}")
            os.close(self.info_r)
            self.info_r = None
            self.jail_pid = int(info["child-pid"])
            self.worker_pid = _only_child(self.jail_pid)
            with contextlib.suppress(OSError, AttributeError):
                self._jail_pidfd = os.pidfd_open(self.jail_pid)
        with contextlib.suppress(OSError, AttributeError):
            self._pidfd = os.pidfd_open(self.worker_pid)

    # -- one request ------------------------------------------------------------------------

    def run(self, request: dict[str, Any], *, timeout: float, grace: float, cap: int,
            on_stdout: Callback | None, on_stderr: Callback | None,
            output_errors: str = "replace") -> Outcome:
        outcome = Outcome(Stream(cap, on_stdout, output_errors),
                          Stream(cap, on_stderr, output_errors))
        self._requests += 1
        # Random, not a count: code cannot name a later request's id without reading it from
        # the worker's memory (which it shares: see docs/security.md, trust model).
        request_id = os.urandom(16).hex()  # as secrets.token_hex, without its hmac/OpenSSL
        payload = json.dumps({**request, "id": request_id}).encode() + b"\n"
        deadline = time.monotonic() + timeout
        payload = self._thaw(outcome, payload)
        try:
            self._send(payload, outcome, deadline)
            line = self._read_line(outcome, deadline, grace=grace)
        except KeyboardInterrupt:
            # Ctrl-C on the host: interrupt the code too, give it the grace period, re-raise.
            try:
                if not outcome.interrupted:
                    self.interrupt()
                    outcome.interrupted = True
                line = self._read_line(outcome, time.monotonic() + grace)
                if line is None:
                    self.kill()
            except KeyboardInterrupt:
                self.kill()
            self._drain(outcome, final=not self.alive)
            raise
        if line is not None:
            try:
                outcome.result = parse_result(line, request_id)
            except SandboxError:
                self.kill()
                raise
        if line is None and self.response_closed and not outcome.killed:
            self._await_exit()
        self._drain(outcome, final=not self.alive)
        if self.alive:
            self._freeze_soon()
        elif not outcome.killed:
            outcome.exit_status = self.proc.poll()
            if outcome.exit_status is None:
                self.kill()
                outcome.exit_status = self.proc.returncode
        return outcome

    def _await_exit(self) -> None:
        """The result pipe closed: the worker is ending, or the code closed it. Kill if need be."""
        self._wait_proc(EXIT_SECONDS)
        self.alive = False
        if self.proc.returncode is None:
            self.kill()

    # -- between executions -----------------------------------------------------------------

    def _freeze_soon(self) -> None:
        """Have the freezer thread stop the jail's processes, once the caller has its result
        (the freeze's writes are not on its path). A next request that comes first cancels it:
        the jail runs on into that execution, and what it wrote meanwhile is discarded then."""
        with self._freeze_lock:
            self._freeze_pending = True
        _FREEZER.submit(self)

    def freeze_now(self) -> None:
        """Stop the jail's processes (on the freezer thread), unless cancelled or ended."""
        with self._freeze_lock:
            if not self._freeze_pending or not self.alive:
                return
            self._freeze_pending = False
            if self.group is not None and self.group.freeze():
                self._group_frozen = True
            elif self.jail_pid is not None:
                self._stopped = freeze.stop_jail(self.jail_pid)

    def _thaw(self, outcome: Outcome, payload: bytes) -> bytes:
        """Start the jail again with the request already in its pipe (as much as fits), so the
        worker wakes once, to a request, not once to thaw and again when it arrives. Returns
        what is left to send."""
        with self._freeze_lock:
            self._freeze_pending = False
        outcome.discarded += self._discard()
        self._buffer.clear()
        if self._manage_cpu:
            self._move_cpu_limit()
        # What does not fit now, `_send` writes (or finds the worker gone) while draining.
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            payload = payload[os.write(self.request_w, payload):]
        self._unfreeze()
        return payload

    def _unfreeze(self) -> None:
        with self._freeze_lock:
            self._freeze_pending = False
            if self._group_frozen and self.group is not None:
                self.group.thaw()
                self._group_frozen = False
            freeze.resume(self._stopped)
            self._stopped = []

    def _discard(self) -> int:
        """Read and drop what is waiting in the output and result pipes (bounded)."""
        dropped = 0
        poller = select.poll()
        for fd in (self.out_fd, self.err_fd, self.response_r):
            poller.register(fd, select.POLLIN)
        while dropped < DRAIN_BYTES:
            ready = [fd for fd, events in poller.poll(0) if events & select.POLLIN]
            if not ready:
                break
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    poller.unregister(fd)
                dropped += len(data)
        return dropped

    def _move_cpu_limit(self) -> None:
        """Hard RLIMIT_CPU = what the worker used so far + this request's budget (+ 2 s)."""
        try:
            fd = os.open(f"/proc/{self.worker_pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
            try:
                fields = os.read(fd, 4096).rsplit(b")", 1)[1].split()
            finally:
                os.close(fd)
            used = (int(fields[11]) + int(fields[12])) // _CLOCK_TICKS
            hard = used + self._cpu_seconds + 2
            resource.prlimit(self.worker_pid, resource.RLIMIT_CPU, (hard, hard))
        except (OSError, IndexError, ValueError):
            return  # gone, or not ours to change: the worker's own limits still hold

    def _send(self, payload: bytes, outcome: Outcome, deadline: float) -> None:
        view = memoryview(payload)
        while view:
            # Drain output while writing, so a worker blocked on a full stdout pipe cannot
            # deadlock against a large request.
            ready = select.select([self.out_fd, self.err_fd], [self.request_w], [],
                                  min(_MAX_WAIT, max(0.0, deadline - time.monotonic())))
            if not any(ready):
                return  # the read loop will time the execution out
            for fd in ready[0]:
                self._read_stream(fd, outcome)
            if ready[1]:
                try:
                    written = os.write(self.request_w, view[:65536])
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    return
                view = view[written:]

    def _read_line(self, outcome: Outcome, deadline: float, *,
                   grace: float | None = None) -> bytes | None:
        poller = select.poll()
        for fd in (self.out_fd, self.err_fd, self.response_r):
            poller.register(fd, _READ)
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return line
            if len(self._buffer) > self._line_limit:
                self.kill()
                raise SandboxError("the sandbox worker sent an oversized message; it was stopped")
            wait = deadline - time.monotonic()
            if wait <= 0:
                if grace is not None and not outcome.interrupted:
                    self.interrupt()
                    outcome.interrupted = True
                    deadline = time.monotonic() + grace
                    continue
                if grace is not None:
                    self.kill()
                    outcome.killed = True
                return None
            for fd, _ in poller.poll(min(wait, _MAX_WAIT) * 1000):  # the loop re-checks
                if fd == self.response_r:
                    data = os.read(fd, 1 << 20)
                    if not data:
                        self.response_closed = True
                        return None
                    self._buffer += data
                elif not self._read_stream(fd, outcome):
                    poller.unregister(fd)  # the code may close its stdout: keep waiting

    def _read_stream(self, fd: int, outcome: Outcome) -> int:
        """Bytes read from one output pipe into its stream (0: the pipe is closed)."""
        try:
            data = os.read(fd, 65536)
        except OSError:
            return 0
        if data:
            (outcome.stdout if fd == self.out_fd else outcome.stderr).feed(data)
        return len(data)

    def _drain(self, outcome: Outcome, *, final: bool) -> None:
        """Collect what is already in the pipes (up to DRAIN_SECONDS more, once the worker is
        gone), never more than DRAIN_BYTES: a flood after the result cannot keep us here."""
        fds = [self.out_fd, self.err_fd]
        deadline = time.monotonic() + (DRAIN_SECONDS if final else DRAIN_SECONDS / 10)
        budget = DRAIN_BYTES
        while fds and budget > 0 and time.monotonic() < deadline:
            wait = max(0.0, deadline - time.monotonic()) if final else 0.0
            ready, _, _ = select.select(fds, [], [], wait)
            if not ready:
                break
            for fd in ready:
                got = self._read_stream(fd, outcome)
                if not got:
                    fds.remove(fd)
                budget -= got
        outcome.stdout.finish()
        outcome.stderr.finish()

    # -- signals and shutdown ---------------------------------------------------------------

    def interrupt(self) -> None:
        self._signal(signal.SIGINT)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, signum)
            else:
                os.kill(self.worker_pid, signum)

    def kill(self) -> None:
        if not self.alive and self.proc.returncode is not None:
            return
        self.alive = False
        self._signal(signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.jail_pid is not None:
                os.kill(self.jail_pid, signal.SIGKILL)
            os.killpg(self.proc.pid, signal.SIGKILL)  # unsafe backend: its whole group
        self.proc.kill()
        self._unfreeze()  # a task frozen by the v1 freezer dies only once thawed
        self._wait_proc(5.0)

    def _wait_proc(self, timeout: float) -> None:
        """Reap bwrap if it exits within ``timeout``: a block on its pidfd (Popen.wait with a
        timeout polls, sleeping between tries)."""
        if self.proc.returncode is not None:
            return
        if self._proc_pidfd is not None:
            with contextlib.suppress(OSError, ValueError):
                if select.select([self._proc_pidfd], [], [], timeout)[0]:
                    self.proc.wait()
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)

    def _await_jail_exit(self, timeout: float = EXIT_SECONDS * 4) -> None:
        """Block until the jail's init has exited: the kernel lets a pid namespace's init end
        only once every other process in it is gone, so the session's cgroup is empty then and
        can be removed at once (not after a sleep and a retry)."""
        if self._jail_pidfd is None:
            return
        with contextlib.suppress(OSError, ValueError):
            select.select([self._jail_pidfd], [], [], timeout)

    def close(self) -> None:
        self.kill()
        self._await_jail_exit()
        for fd in (self.request_w, self.response_r, self._pidfd, self._jail_pidfd,
                   self._proc_pidfd, self.info_r):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def _freeze_job(worker: WorkerProcess) -> None:
    with contextlib.suppress(Exception):  # a jail gone meanwhile: nothing to freeze
        worker.freeze_now()


# Freezes jails whose execution has just returned (`_freeze_soon`): the caller has its result
# without waiting for the freeze, and the next execution need not thaw a jail it comes back to
# at once.
_FREEZER: _DaemonQueue[WorkerProcess] = _DaemonQueue("agentcode-freezer", _freeze_job)


def _is_ready(line: bytes) -> bool:
    try:
        return parse_ready(line)
    except SandboxError:
        return False


def _only_child(pid: int) -> int:
    """The worker: the one child of bwrap's init process in the jail."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            children = handle.read().split()
        if children:
            return int(children[0])
    except OSError:
        pass
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == pid:
                        return int(entry)
            except (OSError, IndexError, ValueError):
                continue
    raise SandboxError("cannot find the sandbox worker process")
