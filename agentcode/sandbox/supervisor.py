"""The host side of one worker process: start it, run one request at a time, stop it.

While the code runs the supervisor drains the worker's stdout and stderr (streaming chunks to
callbacks, keeping at most ``output_bytes`` per stream and counting the rest), waits for the
result line (capped at LINE_LIMIT), and enforces the wall-clock timeout: SIGINT first (the
worker raises KeyboardInterrupt in the code, state survives), SIGKILL after the grace period.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentcode.errors import SandboxError, SandboxUnavailableError
from agentcode.sandbox.jail import LINE_LIMIT

Callback = Callable[[str], None]
START_TIMEOUT = 20.0
_READ = select.POLLIN | select.POLLHUP | select.POLLERR


class Stream:
    """One output stream of one execution: a capped copy, a dropped count, live chunks."""

    def __init__(self, cap: int, callback: Callback | None) -> None:
        self.cap = cap
        self.kept = bytearray()
        self.dropped = 0
        self.callback = callback
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

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
    extra: dict[str, Any] = field(default_factory=dict)


class WorkerProcess:
    """A started worker (inside bwrap, or bare for the unsafe backend)."""

    def __init__(self, command: list[str], *, env: dict[str, str], pass_fds: tuple[int, ...],
                 request_w: int, response_r: int, info_r: int | None, cwd: str | None) -> None:
        self.proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=pass_fds, env=env, cwd=cwd, start_new_session=True,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.request_w = request_w
        self.response_r = response_r
        self.out_fd = self.proc.stdout.fileno()
        self.err_fd = self.proc.stderr.fileno()
        self.info_r = info_r
        self.jail_pid: int | None = None  # bwrap's pid 1 in the jail (as the host sees it)
        self.worker_pid = self.proc.pid
        self._pidfd: int | None = None
        self._buffer = bytearray()
        self.alive = True

    # -- start ------------------------------------------------------------------------------

    def wait_ready(self) -> None:
        outcome = Outcome(Stream(64 * 1024, None), Stream(64 * 1024, None))
        line = self._read_line(outcome, time.monotonic() + START_TIMEOUT)
        if line is None or json.loads(line).get("type") != "ready":
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
            self._pidfd = os.pidfd_open(self.worker_pid)

    # -- one request ------------------------------------------------------------------------

    def run(self, request: dict[str, Any], *, timeout: float, grace: float, cap: int,
            on_stdout: Callback | None, on_stderr: Callback | None) -> Outcome:
        outcome = Outcome(Stream(cap, on_stdout), Stream(cap, on_stderr))
        payload = json.dumps(request).encode() + b"\n"
        try:
            self._send(payload, outcome, time.monotonic() + timeout)
            line = self._read_line(outcome, time.monotonic() + timeout, grace=grace)
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
            outcome.result = _parse(line)
        self._drain(outcome, final=not self.alive)
        if not self.alive and not outcome.killed:
            outcome.exit_status = self.proc.wait()
        return outcome

    def _send(self, payload: bytes, outcome: Outcome, deadline: float) -> None:
        view = memoryview(payload)
        while view:
            # Drain output while writing, so a worker blocked on a full stdout pipe cannot
            # deadlock against a large request.
            ready = select.select([self.out_fd, self.err_fd], [self.request_w], [],
                                  max(0.0, deadline - time.monotonic()))
            if not any(ready):
                return  # the read loop will time the execution out
            for fd in ready[0]:
                self._read_stream(fd, outcome)
            if ready[1]:
                try:
                    written = os.write(self.request_w, view[:65536])
                except BrokenPipeError:
                    return
                view = view[written:]

    def _read_line(self, outcome: Outcome, deadline: float, *,
                   grace: float | None = None) -> bytes | None:
        poller = select.poll()
        for fd in (self.out_fd, self.err_fd, self.response_r):
            poller.register(fd, _READ)
        open_fds = 3
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return line
            if len(self._buffer) > LINE_LIMIT:
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
            for fd, _ in poller.poll(wait * 1000):
                if fd == self.response_r:
                    data = os.read(fd, 1 << 20)
                    if not data:
                        self.alive = False
                        return None
                    self._buffer += data
                elif not self._read_stream(fd, outcome):
                    poller.unregister(fd)
                    open_fds -= 1
            if open_fds == 0:
                return None

    def _read_stream(self, fd: int, outcome: Outcome) -> bool:
        data = os.read(fd, 65536)
        if not data:
            return False
        (outcome.stdout if fd == self.out_fd else outcome.stderr).feed(data)
        return True

    def _drain(self, outcome: Outcome, *, final: bool) -> None:
        """Collect what is already in the pipes (everything, once the worker is gone)."""
        fds = [self.out_fd, self.err_fd]
        deadline = time.monotonic() + (1.0 if final else 0.0)
        while fds:
            ready, _, _ = select.select(fds, [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            for fd in ready:
                if not self._read_stream(fd, outcome):
                    fds.remove(fd)
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
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def close(self) -> None:
        self.kill()
        for fd in (self.request_w, self.response_r, self._pidfd, self.info_r):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def _parse(line: bytes) -> dict[str, Any]:
    try:
        result = json.loads(line)
    except ValueError:
        raise SandboxError("the sandbox worker sent a malformed message") from None
    if not isinstance(result, dict) or result.get("type") != "result":
        raise SandboxError("the sandbox worker sent an unexpected message")
    return result


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
