"""The local sandbox: one persistent worker per session, inside bubblewrap.

``LocalSandboxSession(settings)`` starts the jail (see jail.py for what it can see and
supervisor.py for timeouts and output caps). ``isolated=False`` is the "unsafe" backend: the
same worker with no jail, announced on stderr every time it starts.

After a timeout that needed a kill, or if the code ends the worker (``os._exit``, a crash), the
session's variables and files are gone; the next ``execute`` starts a fresh worker rather than
failing forever. The error (or ``Execution.error``) says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from agentcode.config import Settings
from agentcode.errors import EXIT_TIMEOUT, ExecutionTimeoutError, SandboxError
from agentcode.sandbox.base import WORKDIR
from agentcode.sandbox.local import cgroup, jail, seccomp
from agentcode.sandbox.local.cgroup import SessionCgroup, session_cgroup
from agentcode.sandbox.local.packages import JAIL_PATH, SandboxEnvironment
from agentcode.sandbox.local.supervisor import Callback, Outcome, WorkerProcess
from agentcode.sandbox.local.tmpfs import HostTmpfs, host_tmpfs
from agentcode.sandbox.local.workdir import WorkDir
from agentcode.types import Execution, ExecutionError, Output

UNSAFE_WARNING = (
    "agentcode: WARNING: the 'unsafe' sandbox runs code WITHOUT ISOLATION: it can read and change "
    "your files, reach the network and see your processes. Use it only for code you trust.\n"
)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _pipe_with(data: bytes, child_fds: list[int]) -> int:
    """A pipe holding ``data`` for bwrap to read; its read end joins ``child_fds``."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    child_fds.append(read_end)
    try:
        if len(data) > 60_000:
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, len(data))
        os.write(write_end, data)
    finally:
        os.close(write_end)
    return read_end


class LocalSandboxSession:
    """A stateful local sandbox. Variables and files survive between `execute` calls."""

    def __init__(self, settings: Settings, *, isolated: bool = True,
                 launched: threading.Event | None = None) -> None:
        """``launched``: set once bwrap is forked (what is left is mostly waiting), or on
        failure; `agentcode run`'s early jail lets its imports wait for that (spare.py)."""
        self.id = os.urandom(16).hex()  # not uuid: it imports platform (~1 ms)
        self.backend = "local" if isolated else "unsafe"
        self.settings = settings
        self.isolated = isolated
        self._worker: WorkerProcess | None = None
        self._workdir: WorkDir | None = None
        self._cgroup: SessionCgroup | None = None
        self._tempdir: str | None = None
        self._detaching: threading.Thread | None = None  # our side of the tmpfs mounts
        self._primer: cgroup.Primer | None = None
        self._launched = launched
        try:
            self._bwrap = jail.find_bwrap() if isolated else ""
            # The sandbox environment's directory, read once: a later `agentcode sandbox add`
            # switches to a new one, which the next session mounts.
            self._packages = SandboxEnvironment(settings.sandbox_env).mount_source()
            self._start()
        finally:
            self._announce_launch()

    def _announce_launch(self) -> None:
        if self._launched is not None:
            self._launched.set()
            self._launched = None

    # -- lifecycle --------------------------------------------------------------------------

    def _start(self) -> None:
        try:
            self._launch()
        finally:
            self._stop_priming()

    def _stop_priming(self) -> None:
        if self._primer is not None:
            self._primer.stop()
            self._primer = None

    def _launch(self) -> None:
        limits = self.settings.limits
        request_r, request_w = os.pipe2(os.O_CLOEXEC)
        response_r, response_w = os.pipe2(os.O_CLOEXEC)
        child_fds = [request_r, response_w]
        info_r = args_w = None
        uid: int | None = None
        mounts: HostTmpfs | None = None
        arguments: bytes = b""
        try:
            code_r = _pipe_with(jail.worker_code(), child_fds)  # the worker's compiled code
            if self.isolated:
                self._cgroup = session_cgroup(limits)
                if self._cgroup is not None:
                    # The lock's slow first write overlaps the set-up below (cgroup.Primer);
                    # after the mkdir, which would otherwise wait for it.
                    self._primer = cgroup.prime()
                uid = jail.session_uid()
                info_r, info_w = os.pipe2(os.O_CLOEXEC)
                child_fds.append(info_w)
                seccomp_r = venv_r = None
                if seccomp.supported():
                    seccomp_r = _pipe_with(seccomp.filter_program(), child_fds)
                layout = jail.python_layout()
                if layout.venv_config is not None:
                    venv_r = _pipe_with(layout.venv_config, child_fds)
                empty = tuple(_pipe_with(b"", child_fds) for _ in layout.masked)
                data = tuple(_pipe_with(content, child_fds) for _, content in layout.data)
                mounts = host_tmpfs(limits)
                fds = jail.Fds(request_r, response_w, info_w, seccomp_r, venv_r, empty, data)
                bwrap_args = jail.bwrap_arguments(
                    limits, fds, uid=uid, tmpfs=mounts.mounts if mounts else None,
                    packages=self._packages)
                # bwrap reads its arguments from a pipe: its /proc/1/cmdline in the jail
                # then names no host path. Written once bwrap is in the session's cgroup.
                args_r, args_w = os.pipe2(os.O_CLOEXEC)
                child_fds.append(args_r)
                arguments = b"".join(a.encode() + b"\0" for a in bwrap_args)
                command = [self._bwrap, "--args", str(args_r), "--",
                           *jail.worker_command(layout.executable, request_r, code_r)]
                env, cwd = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, None
                config = jail.worker_config(
                    limits, fds, workdir=WORKDIR, uid=uid,
                    packages=JAIL_PATH if self._packages else None,
                )
            else:
                sys.stderr.write(UNSAFE_WARNING)
                sys.stderr.flush()
                self._tempdir = tempfile.mkdtemp(prefix="agentcode-unsafe-")
                config = jail.worker_config(
                    limits, jail.Fds(request_r, response_w), workdir=self._tempdir, uid=None,
                    packages=self._packages,
                )
                command = jail.worker_command(sys.executable, request_r, code_r)
                env, cwd = jail.environment(self._tempdir, limits), self._tempdir
            os.write(request_w, config)  # the first line the worker reads
            worker = WorkerProcess(
                command, env=env, pass_fds=tuple(child_fds), request_w=request_w,
                response_r=response_r, info_r=info_r, cwd=cwd,
                manage_cpu=uid is not None, cpu_seconds=limits.cpu_seconds,
                line_limit=jail.line_limit(limits),
            )
        except BaseException:
            for fd in (request_w, response_r, info_r, args_w):
                if fd is not None:
                    os.close(fd)
            self._undo_launch(mounts)
            raise
        finally:
            for fd in child_fds:
                os.close(fd)
        self._announce_launch()
        try:
            if args_w is not None:
                self._confine(worker)
                _write_all(args_w, arguments)
                os.close(args_w)
                args_w = None
            worker.wait_ready()
            root = (f"/proc/{worker.jail_pid}/root{WORKDIR}" if worker.jail_pid is not None
                    else self._tempdir)
            assert root is not None
            owner = (uid, uid) if uid is not None else None
            self._workdir = WorkDir(os.open(root, os.O_RDONLY | os.O_DIRECTORY), owner)
        except BaseException:
            worker.close()
            self._undo_launch(mounts)
            raise
        finally:
            if args_w is not None:
                os.close(args_w)
        if mounts is not None:
            self._detaching = mounts.detach_soon()  # joined by _stop
        self._worker = worker

    def _confine(self, worker: WorkerProcess) -> None:
        """Put bwrap (still waiting for its arguments) in the session's cgroup, if we have one;
        the worker then freezes the session through it between executions, where it can."""
        if self._cgroup is None:
            return
        try:
            self._cgroup.add(worker.proc.pid)
        except OSError:
            self._remove_cgroup()  # the per-process rlimits still hold
            return
        finally:
            self._stop_priming()
        if self._cgroup.can_freeze:
            worker.group = self._cgroup

    def _remove_cgroup(self) -> None:
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None

    def _ensure_started(self) -> WorkerProcess:
        if self._worker is None or not self._worker.alive:
            self._stop()
            self._start()
        assert self._worker is not None
        return self._worker

    def _stop(self) -> None:
        if self._detaching is not None:
            self._detaching.join()
            self._detaching = None
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        self._remove_cgroup()
        if self._workdir is not None:
            self._workdir.close()
            self._workdir = None
        self._remove_tempdir()

    def _undo_launch(self, mounts: HostTmpfs | None) -> None:
        """What a launch that failed had set up on the host, undone (its worker already gone)."""
        if mounts is not None:
            mounts.detach()
        self._remove_cgroup()
        self._remove_tempdir()

    def _remove_tempdir(self) -> None:
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def close(self) -> None:
        self._stop()

    def interrupt(self) -> None:
        """Interrupt the running code from another thread, as Ctrl-C would: it gets
        KeyboardInterrupt and the session keeps its variables (between runs it is ignored)."""
        worker = self._worker
        if worker is not None and worker.alive:
            worker.interrupt()

    def kill(self) -> None:
        """Stop the running code now, from another thread (a server that stops).

        Only signals: the worker dies, the executing thread sees it end and returns (its
        variables and files are lost, as after a crash) and closes the pipes itself.
        """
        worker = self._worker
        if worker is not None:
            worker.kill()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._stop()

    # -- execution --------------------------------------------------------------------------

    def execute(self, code: str, *, timeout: float | None = None, stdin: bytes | None = None,
                argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
                on_stdout: Callback | None = None, on_stderr: Callback | None = None,
                output_errors: str = "replace") -> Execution:
        """Run ``code`` in the session; ``on_stdout``/``on_stderr`` get output as it happens
        (decoded with ``output_errors``: see `SandboxSession.execute`)."""
        worker = self._ensure_started()
        limits = self.settings.limits
        timeout = self.settings.timeout if timeout is None else timeout
        request: dict[str, Any] = {"type": "exec", "code": code}
        if argv:
            request["argv"] = list(argv)
        if env:
            request["env"] = dict(env)
        if stdin:
            import base64

            request["stdin"] = base64.b64encode(stdin).decode("ascii")
        started = time.perf_counter()
        outcome = worker.run(request, timeout=timeout, grace=limits.kill_grace_seconds,
                             cap=limits.output_bytes, on_stdout=on_stdout, on_stderr=on_stderr,
                             output_errors=output_errors)
        execution = self._execution(outcome, (time.perf_counter() - started) * 1000)
        if outcome.killed or outcome.interrupted:
            _as_timeout(execution, timeout)
        if outcome.killed:
            self._stop()
            raise ExecutionTimeoutError(
                f"the code ran past the {timeout:g} s timeout and did not stop when interrupted, "
                "so the session was killed: its variables and files are gone (the next execute "
                "starts a fresh sandbox)",
                state_lost=True, execution=execution,
            )
        if outcome.interrupted:
            raise ExecutionTimeoutError(
                f"the code ran past the {timeout:g} s timeout and was interrupted; "
                "the session keeps its variables",
                state_lost=False, execution=execution,
            )
        return execution

    def _execution(self, outcome: Outcome, duration_ms: float) -> Execution:
        result = outcome.result or {}
        execution = Execution(
            stdout=outcome.stdout.text(), stderr=outcome.stderr.text(),
            stdout_dropped=outcome.stdout.dropped, stderr_dropped=outcome.stderr.dropped,
            outputs=[Output.from_dict(o) for o in result.get("outputs") or []],
            exit_code=int(result.get("exit_code", 0)), duration_ms=duration_ms,
            backend=self.backend,
        )
        if result.get("error"):
            execution.error = ExecutionError.from_dict(result["error"])
        if result.get("status") == "interrupted" and not outcome.interrupted and execution.error:
            # The code raised KeyboardInterrupt itself: like `python script.py`, show it.
            execution.stderr += execution.error.traceback
            if outcome.stderr.callback is not None:
                outcome.stderr.callback(execution.error.traceback)
        if outcome.result is None and not outcome.killed and not outcome.interrupted:
            self._stop()
            status = outcome.exit_status if outcome.exit_status is not None else -1
            execution.exit_code = status if status >= 0 else 128 - status
            execution.error = ExecutionError(
                name="SandboxExited",
                value=f"the sandbox process ended (status {execution.exit_code}): the session's "
                "variables and files are gone; the next execute starts a fresh sandbox",
            )
        return execution

    # -- files ------------------------------------------------------------------------------

    def _files(self) -> WorkDir:
        self._ensure_started()
        if self._workdir is None:
            raise SandboxError("the sandbox work dir is not available")
        return self._workdir

    def write_files(self, files: Mapping[str, bytes]) -> None:
        self._files().write(files)

    def list_files(self) -> list[str]:
        return self._files().names()

    def read_file(self, path: str) -> bytes:
        return self._files().read(path)

    def file_size(self, path: str) -> int:
        """Apparent size of a regular file (a sparse file's too), without reading it."""
        return self._files().size(path)


def _as_timeout(execution: Execution, timeout: float) -> None:
    """A run stopped at its timeout reads like one: exit 124 and a TimeoutError whose traceback
    shows where the code was (the worker's interrupt that stopped it is not the code's)."""
    message = f"the code ran past the {timeout:g} s timeout"
    where = execution.error.traceback if execution.error is not None else ""
    if where.rstrip().endswith("KeyboardInterrupt"):
        where = where.rstrip()[: -len("KeyboardInterrupt")]
    else:
        where = ""
    execution.exit_code = EXIT_TIMEOUT
    execution.error = ExecutionError("TimeoutError", message, f"{where}TimeoutError: {message}\n")
