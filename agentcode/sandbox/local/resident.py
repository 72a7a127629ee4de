"""Where the resident `agentcode run` helper lives, and starting, showing and stopping it.

The helper (agentcode/cli/run_helper.py, `python -m agentcode.cli.run_helper`) keeps `run`'s
and `gen`'s modules loaded and one jail started, so a `run` costs its client little more than
Python's own start, and a `gen` none of its imports. This module is what everything else needs
of it, without loading it:

- its files, in the user's private runtime directory (agentcode/runtime.py), named by the
  installation (two virtual environments never share a helper): ``run-KEY.sock`` (mode 0600),
  ``run-KEY.json`` (pid, keep-alive; its mtime is the last request), ``run-KEY.lock`` (held
  by the running helper: one per installation) and ``run-KEY.log`` (its stderr);
- ``sandbox_keep_alive``: seconds it waits for the next request (0: off; -1, the default:
  300, or off when ``CI`` is set), like the warm model's ``local_keep_alive``;
- `start` (after an in-process `run` or `gen`, detached), `running` (`agentcode sandbox status`,
  `doctor`) and `stop` (`agentcode sandbox stop`: SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcode import runtime

if TYPE_CHECKING:
    from agentcode.config import Settings

KEEP_ALIVE_SECONDS = 300.0
MODULE = "agentcode.cli.run_helper"


def keep_alive_seconds(settings: Settings) -> float:
    """``sandbox_keep_alive`` if configured (0: off), else 5 minutes, or off when ``CI`` is set."""
    return runtime.keep_alive(settings.sandbox_keep_alive, KEEP_ALIVE_SECONDS)


def base_path(directory: str | None = None) -> Path:
    """The helper's files without their suffix (``.sock``, ``.json``, ``.lock``, ``.log``)."""
    directory = directory if directory is not None else runtime.runtime_path()
    return Path(directory) / f"run-{runtime.installation_key()}"


def is_ours(pid: int) -> bool:
    """Whether ``pid`` is a run helper of this user (not a recycled pid)."""
    return runtime.runs_module(pid, MODULE)


def held(lock: Path) -> bool:
    """Whether a helper holds ``lock`` (is running, or starting)."""
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def start(settings: Settings) -> bool:
    """Start the helper in the background unless it is off or already running; whether it
    was started. Never raises: without a helper, `run` works in process as ever."""
    keep_alive = keep_alive_seconds(settings)
    if keep_alive <= 0 or settings.sandbox != "local" or not sys.platform.startswith("linux"):
        return False
    try:
        base = base_path(runtime.runtime_dir())
        if held(base.with_suffix(".lock")):
            return False
        import subprocess

        with open(os.open(base.with_suffix(".log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                          | os.O_CLOEXEC, 0o600), "wb") as log:
            subprocess.Popen(
                [sys.executable, "-m", MODULE, str(base), repr(keep_alive)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                cwd="/", close_fds=True)
    except OSError:
        return False
    return True


def read_state(base: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def running(directory: str | None = None) -> dict[str, Any] | None:
    """For `agentcode sandbox status` and `doctor`: this installation's helper, if running."""
    base = base_path(directory)
    state = read_state(base)
    if state is None or not is_ours(int(state.get("pid", 0))):
        return None
    with contextlib.suppress(OSError):
        idle = time.time() - base.with_suffix(".json").stat().st_mtime
        state["idle_seconds"] = round(idle, 1)
        state["left_seconds"] = round(max(0.0, float(state.get("keep_alive", 0)) - idle), 1)
    return state


def stop(directory: str | None = None, timeout: float = 5.0) -> bool:
    """End this installation's helper (SIGTERM, then SIGKILL); whether one was running. Its
    idle jail goes with it; a `run` it is serving finishes first."""
    base = base_path(directory)
    state = read_state(base)
    pid = int(state.get("pid", 0)) if state else 0
    if not pid or not is_ours(pid):
        return False
    if runtime.end_process(pid, MODULE, timeout):  # killed: it could not clean up after itself
        for suffix in (".sock", ".json"):
            with contextlib.suppress(OSError):
                base.with_suffix(suffix).unlink()
    return True
