"""The resident `agentcode run` (and `gen`) helper: a master process that forks ready children
(Mercurial's chg command server, nailgun), started by `agentcode.sandbox.local.resident.start`.

Python's start, the imports of Typer, the CLI, the config, the local sandbox and the history
spool, and the jail's start are most of a `run`; the imports of strands and httpx are a third
of a `gen` on the warm embedded model (its verification run then takes the spare jail). The
master (`python -m agentcode.cli.run_helper BASE KEEP_ALIVE`) imports all that once, listens on
``BASE.sock`` (mode 0600, in the user's private runtime directory) and keeps exactly one idle
child forked. The child starts a spare jail at once (`spare.keep_once`, as `agentcode run` does
in process) and waits in accept(). On a connection (agentcode/cli/run_client.py has the
exchange) it:

- refuses a peer of another uid; tells the master, which forks the next idle child;
- declines (the client then runs in process) when agentcode's module files or a directory of
  the import path changed since the master loaded them (an upgrade, an edit, a `pip install`:
  the master then exits and a new one starts) or when
  the helper is off for the client's settings;
- takes the client's descriptors for its stdin, stdout, stderr and working directory, its
  umask and its environment (so ``--env NAME`` and the config are the client's), and runs the
  CLI's own `main` for the client's argv: every option, message and exit code is the
  in-process one; the spare jail is used only if it suits the client's settings (`spare.take`);
- raises the signals the client forwards on itself (Ctrl-C: 130 and the same clean-up), and
  dies if the client goes away (its jail dies with it, bwrap's --die-with-parent);
- sends the exit status once everything the user can see is done, then exits: a jail is
  never reused, and serves one request.

The master is single-threaded (it forks). It exits after KEEP_ALIVE seconds without a
request, on SIGTERM (`agentcode sandbox stop`), or when its socket file is removed or replaced;
it removes its socket first and ends its idle child (and that child's jail).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from importlib import import_module
from pathlib import Path
from typing import Any

from agentcode import runtime
from agentcode.cli.run_serve import Child, stamps

# `run`'s and `gen`'s paths, loaded once by the master (what `python -X importtime -m
# agentcode run -` and `... gen PROMPT` show). Imports only: nothing here may start a thread
# (the master forks; `serve` checks) or read the environment at import (the child's is the
# client's). local_model is strands and httpx, ~0.3 s of every gen on the embedded model.
_PRELOAD = (
    "agentcode.cli.app", "agentcode.cli.run_cmd", "agentcode.config",
    "agentcode.sandbox.registry", "agentcode.sandbox.local.spare",
    "agentcode.sandbox.local.session", "agentcode.sandbox.local.resident",
    "agentcode.api.execution", "agentcode.api.session", "agentcode.store.spool",
    "agentcode.cli.gen_cmd", "agentcode.cli.gen_display", "agentcode.api.generation",
    "agentcode.generation.options", "agentcode.models.registry", "agentcode.models.local",
    "agentcode.models.local_model", "agentcode.store.recording",
)
_LOCK_WAIT = 5.0  # a helper that is stopping (stale code) still holds the lock this long at most
_RESPAWN_DELAY = 1.0  # between idle children that die young (a jail that cannot start)
# After a child takes a run, the next one is forked when that run ends (its jail's start would
# take turns with the run on a 2-core machine: 24 -> 36 ms measured), a client that comes
# meanwhile, or this long at most.
_REFILL_DELAY = 0.3


class _Stop(Exception):
    """SIGTERM: the master leaves its loop."""


def _preload() -> None:
    for name in _PRELOAD:
        import_module(name)
    from agentcode.cli.app import main

    # Builds the Typer command and run's and gen's parameters, as a real command would.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        main(["run", "--help"])
        main(["gen", "--help"])


def serve(base: Path, keep_alive: float) -> int:
    lock = os.open(base.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + _LOCK_WAIT
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                return 0  # another helper runs: one per installation
            time.sleep(0.05)
    _preload()
    if threading.active_count() != 1:  # a fork would copy a lock some thread holds
        sys.stderr.write(f"agentcode: the run helper's imports started threads "
                         f"({', '.join(t.name for t in threading.enumerate())}): not forking\n")
        return 1
    loaded = stamps()
    listener, identity = _listen(base.with_suffix(".sock"))
    state = base.with_suffix(".json")
    info: dict[str, Any] = {"pid": os.getpid(), "socket": str(base.with_suffix(".sock")),
                            "keep_alive": keep_alive, "started": time.time(), "served": 0}
    _write_state(state, info)
    taken_r, taken_w = os.pipe()
    # Its write end is ours alone: an idle child that sees it close (we died, even of SIGKILL)
    # leaves rather than wait in accept() for ever.
    life_r, life_w = os.pipe()
    idle = 0

    def stop(signum: int, frame: Any) -> None:
        raise _Stop

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    last_request = time.monotonic()
    next_fork = 0.0
    try:
        while True:
            if not idle and time.monotonic() >= next_fork:
                idle = _fork_child(listener, (taken_w, life_r), (lock, taken_r, life_w), loaded)
                next_fork = time.monotonic() + _RESPAWN_DELAY
            left = keep_alive - (time.monotonic() - last_request)
            if left <= 0 or _moved(base.with_suffix(".sock"), identity):
                break
            wait = min(1.0, left, max(0.0, next_fork - time.monotonic()) if not idle else 1.0)
            # With no idle child, a pending connection means a client waits: fork at once.
            watched: list[Any] = [taken_r] if idle else [taken_r, listener]
            readable = select.select(watched, [], [], wait)[0]
            if listener in readable:
                next_fork = 0.0
            if taken_r in readable:
                message = os.read(taken_r, 1)
                if message == b"x":
                    break  # stale code: the client runs in process and starts a new helper
                if message == b"f" and not idle:
                    next_fork = 0.0  # a run ended: its CPU is free for the next child's jail
                if message == b"d":
                    idle, next_fork = 0, 0.0  # declined (the client runs in process)
                if message == b"t":
                    # Taken: the next child's jail starts a moment later, not on the CPU
                    # this request needs (a client that comes meanwhile cuts the wait short).
                    idle, next_fork = 0, time.monotonic() + _REFILL_DELAY
                    last_request = time.monotonic()
                    info["served"] += 1  # (its mtime: the last request, for `status`)
                    with contextlib.suppress(OSError):
                        _write_state(state, info)
            idle = _reap(idle)
    except _Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Only what is still ours: a new helper may have replaced the socket already.
        if not _moved(base.with_suffix(".sock"), identity):
            with contextlib.suppress(OSError):
                base.with_suffix(".sock").unlink()
        with contextlib.suppress(OSError, ValueError):
            if json.loads(state.read_text()).get("pid") == os.getpid():
                state.unlink()
        listener.close()
        os.set_blocking(taken_r, False)
        with contextlib.suppress(OSError):
            if set(os.read(taken_r, 64)) & set(b"td"):
                idle = 0  # it took a request just now: it finishes it
        if idle:
            _end_child(idle)
        # Free for a new helper now, not after the interpreter's teardown (a heavier master,
        # e.g. one that preloads more, is still tearing down when the run that found it stale
        # ends and starts the next helper: that one would see the lock held and not start).
        os.close(lock)
    return 0


def _listen(path: Path) -> tuple[socket.socket, tuple[int, int]]:
    partial = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        partial.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    address, dir_fd = runtime.socket_address(str(partial))
    old = os.umask(0o177)  # 0600 from the start: no moment when others may connect
    try:
        listener.bind(address)
    finally:
        os.umask(old)
        if dir_fd is not None:
            os.close(dir_fd)
    listener.listen(64)
    os.replace(partial, path)  # a stale socket of a dead helper is replaced at once
    info = path.lstat()
    return listener, (info.st_dev, info.st_ino)


def _moved(path: Path, identity: tuple[int, int]) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return True
    return (info.st_dev, info.st_ino) != identity


def _write_state(path: Path, state: dict[str, Any]) -> None:
    partial = path.with_suffix(".tmp")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(state, handle)
    os.replace(partial, path)


def _reap(idle: int) -> int:
    """Reap ended children; 0 if the idle one was among them."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return idle
        if not pid:
            return idle
        if pid == idle:
            idle = 0


def _end_child(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)  # idle: it closes its jail; serving: it goes on
    with contextlib.suppress(ChildProcessError):
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _fork_child(listener: socket.socket, pipes: tuple[int, int], masters: tuple[int, ...],
                stamps: dict[str, tuple[int, int]]) -> int:
    """Fork an idle child with the listening socket and its ends of the pipes; ``masters``
    (the lock, the master's pipe ends) are closed in it: a child that outlives the master
    does not keep the next helper from starting."""
    taken_w, life_r = pipes
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        for fd in masters:
            os.close(fd)
        status = Child(listener, taken_w, stamps, life_r).serve()
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - a child never returns into the master's loop
        with contextlib.suppress(Exception):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            _flush_all()
        os._exit(status)
    return 0  # not reached


def _flush_all() -> None:
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def main(argv: list[str]) -> int:
    return serve(Path(argv[1]), float(argv[2]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
