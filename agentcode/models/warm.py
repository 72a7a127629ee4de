"""The embedded model kept warm in a background process of the user's own (Ollama's keep-alive).

Loading the weights costs seconds on every `gen`. Instead, the first `gen` starts
``python -m agentcode.models.warm``: the same llama.cpp server `local_server` runs in process,
in a process of its own (a new session, so Ctrl-C in the terminal does not reach it). Later
`gen`s find it through a state file and send their requests to it; llama.cpp queues or batches
concurrent requests in its slots, each reply on its own connection.

- Only the user reaches it: it listens on 127.0.0.1 and answers only requests that carry its
  random key, which is kept in the state file, mode 0600, in a directory of the user's own
  (mode 0700: ``$XDG_RUNTIME_DIR/agentcode``, else ``/tmp/agentcode-UID``; under
  ``$AGENTCODE_HOME/run`` when that is set).
- One process per model file and server settings (``model-<key>.json``); a file lock makes
  two `gen`s that start at once start one process.
- It exits after ``keep_alive`` seconds with no request in flight and none started (the
  clients touch the state file as they start one), on ``agentcode model stop`` (SIGTERM),
  and when its state file is gone. It removes the state file first, so no new `gen` picks
  it as it goes.
- A state file whose process is gone, is not ours or does not answer /health in time is
  replaced by a fresh process; a failed start is reported, never waited on for ever.
- `agentcode serve` and `agentcode mcp` live long: they set ``local_keep_alive = 0`` and hold
  the model themselves, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcode import runtime
from agentcode.errors import ModelUnavailableError

if TYPE_CHECKING:
    from agentcode.config import Settings

KEEP_ALIVE_SECONDS = 300.0
MODULE = "agentcode.models.warm"
START_TIMEOUT_SECONDS = 300.0  # assembling and loading 1.1 GB on a slow disk
HEALTH_TIMEOUT_SECONDS = 2.0


def keep_alive_seconds(settings: Settings) -> float:
    """``local_keep_alive`` if configured (0: off), else 5 minutes, or off when ``CI`` is set."""
    return runtime.keep_alive(settings.local_keep_alive, KEEP_ALIVE_SECONDS)


def runtime_dir() -> Path:
    """The user's own directory for state files (created 0700; refused if anyone else's)."""
    try:
        return Path(runtime.runtime_dir())
    except runtime.NotPrivateError:
        raise ModelUnavailableError(
            f"{runtime.runtime_path()} is not a private directory of this user: cannot keep "
            "the model warm there (remove it, or set local_keep_alive = 0)") from None


@dataclass(frozen=True, slots=True)
class WarmServer:
    """A warm model's server as a client sees it (what `LocalLlamaModel` needs)."""

    model_path: Path
    base_url: str
    api_key: str
    pid: int
    state_file: Path
    load_seconds: float = 0.0  # 0 when an already warm process answered
    running: bool = True

    def touch(self) -> None:
        """Tell the process a request starts (its idle clock restarts)."""
        with contextlib.suppress(OSError):
            os.utime(self.state_file)


def _key(model_path: Path, n_ctx: int, n_threads: int, n_parallel: int) -> str:
    text = f"{model_path.resolve()}|{n_ctx}|{n_threads}|{n_parallel}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def is_ours(pid: int) -> bool:
    """Whether ``pid`` is a warm model process of this user (not a recycled pid)."""
    return runtime.runs_module(pid, MODULE)


def _healthy(base_url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(base_url + "/health",  # noqa: S310 - our loopback URL
                                    timeout=HEALTH_TIMEOUT_SECONDS) as reply:
            return bool(json.loads(reply.read() or b"{}").get("status") == "ok")
    except (urllib.error.URLError, OSError, ValueError):
        return False


def stop(state_file: Path, state: dict[str, Any] | None = None, timeout: float = 5.0) -> bool:
    """End the process of ``state_file`` (SIGTERM, then SIGKILL) and remove the file.
    True if a process was running."""
    state = state if state is not None else read_state(state_file)
    pid = int(state.get("pid", 0)) if state else 0
    stopped = False
    if pid and is_ours(pid):
        stopped = True
        runtime.end_process(pid, MODULE, timeout)
    with contextlib.suppress(OSError):
        state_file.unlink()
    return stopped


def warm_server(model_path: Path, *, n_ctx: int, n_threads: int, n_parallel: int,
                keep_alive: float) -> WarmServer:
    """The warm process for this model and settings: the running one, or a new one."""
    import fcntl

    directory = runtime_dir()
    key = _key(model_path, n_ctx, n_threads, n_parallel)
    state_file = directory / f"model-{key}.json"
    with open(os.open(directory / f"model-{key}.lock", os.O_WRONLY | os.O_CREAT, 0o600),
              "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two gens starting at once start one process
        state = read_state(state_file)
        if state is not None:
            pid = int(state.get("pid", 0))
            if is_ours(pid) and _healthy(str(state.get("base_url", ""))):
                server = _from_state(state, state_file)
                server.touch()
                return server
            stop(state_file, state)  # gone, recycled pid or hung: replaced
        return _spawn(model_path, state_file, n_ctx=n_ctx, n_threads=n_threads,
                      n_parallel=n_parallel, keep_alive=keep_alive)


def _from_state(state: dict[str, Any], state_file: Path, load_seconds: float = 0.0) -> WarmServer:
    return WarmServer(model_path=Path(state["model_path"]), base_url=str(state["base_url"]),
                      api_key=str(state["api_key"]), pid=int(state["pid"]),
                      state_file=state_file, load_seconds=load_seconds)


def _spawn(model_path: Path, state_file: Path, **spec: Any) -> WarmServer:
    import select
    import subprocess

    ready_r, ready_w = os.pipe()
    log = state_file.with_suffix(".log")
    request = {"model_path": str(model_path), "state_file": str(state_file), **spec}
    started = time.perf_counter()
    try:
        with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", MODULE, json.dumps(request), str(ready_w)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                pass_fds=(ready_w,), start_new_session=True, cwd="/",
            )
    finally:
        os.close(ready_w)
    reply = b""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    try:
        while time.monotonic() < deadline:
            if select.select([ready_r], [], [], 1.0)[0]:
                chunk = os.read(ready_r, 4096)
                if not chunk:
                    break
                reply += chunk
    finally:
        os.close(ready_r)
    state = read_state(state_file) if reply.startswith(b"ok") else None
    if state is None:
        with contextlib.suppress(OSError):
            process.kill()
        process.wait()
        with contextlib.suppress(OSError):
            state_file.unlink()
        detail = reply.decode(errors="replace").removeprefix("error: ").strip() or _tail(log)
        raise ModelUnavailableError(f"the warm model process did not start: {detail}")
    # Reaped when it exits, should this process (a server, a REPL) outlive it.
    threading.Thread(target=process.wait, name="agentcode-warm-reaper", daemon=True).start()
    return _from_state(state, state_file, load_seconds=time.perf_counter() - started)


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no reason given"
    return lines[-1] if lines else f"it ended without a word (see {log})"


def running(directory: Path | None = None) -> list[dict[str, Any]]:
    """For `agentcode model status` and `doctor`: the warm processes of this user."""
    try:
        directory = directory or runtime_dir()
    except ModelUnavailableError:
        return []
    found = []
    for path in sorted(directory.glob("model-*.json")):
        state = read_state(path)
        if state is None or not is_ours(int(state.get("pid", 0))):
            continue
        idle = time.time() - path.stat().st_mtime
        found.append({**{k: v for k, v in state.items() if k != "api_key"},
                      "state_file": str(path), "idle_seconds": round(idle, 1)})
    return found


def stop_all(directory: Path | None = None) -> int:
    """`agentcode model stop`: end every warm process of this user; how many were running."""
    directory = directory or runtime_dir()
    return sum(stop(path) for path in sorted(directory.glob("model-*.json")))


# -- the background process -------------------------------------------------------------------


def _serve(request: dict[str, Any], ready_fd: int) -> int:
    from agentcode.models.local_server import LlamaServer

    state_file = Path(request["state_file"])
    keep_alive = float(request["keep_alive"])
    server = LlamaServer(model_path=Path(request["model_path"]), n_ctx=int(request["n_ctx"]),
                         n_threads=int(request["n_threads"]),
                         n_parallel=int(request["n_parallel"]))
    try:
        server.start()
    except ModelUnavailableError as exc:
        os.write(ready_fd, f"error: {exc}".encode())
        return 3
    state = {"pid": os.getpid(), "base_url": server.base_url, "api_key": server.api_key,
             "model_path": str(server.model_path), "n_ctx": server.n_ctx,
             "n_threads": server.n_threads, "n_parallel": server.n_parallel,
             "keep_alive": keep_alive, "started": time.time(),
             "load_seconds": round(server.load_seconds, 3)}
    partial = state_file.with_suffix(".tmp")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(state, handle)
    os.replace(partial, state_file)
    os.write(ready_fd, b"ok\n")
    os.close(ready_fd)
    _watch(server, state_file, keep_alive)
    return 0


def _watch(server: Any, state_file: Path, keep_alive: float) -> None:
    """Return once idle for ``keep_alive`` seconds, or when the state file is gone or not ours."""
    last_active = time.monotonic()
    decodes = -1.0
    while True:
        time.sleep(min(1.0, max(0.05, keep_alive / 4)))
        state = read_state(state_file)
        if state is None or state.get("pid") != os.getpid():
            return
        with contextlib.suppress(OSError):  # a client touched it as its request started
            last_active = max(last_active, time.monotonic() - (time.time()
                                                                - state_file.stat().st_mtime))
        metrics = server.metrics()
        if (metrics.get("requests_processing", 0) or metrics.get("requests_deferred", 0)
                or metrics.get("n_decode_total", 0) != decodes):
            last_active = time.monotonic()
        decodes = metrics.get("n_decode_total", 0)
        if time.monotonic() - last_active >= keep_alive:
            with contextlib.suppress(OSError):
                state_file.unlink()  # no new client picks us from here on
            # A request that came in at the last moment is answered before we go.
            while server.metrics().get("requests_processing", 0):
                time.sleep(0.1)
            return


def main(argv: list[str]) -> int:
    request = json.loads(argv[1])
    ready_fd = int(argv[2])
    state_file = Path(request["state_file"])

    def leave(signum: int, frame: Any) -> None:
        state = read_state(state_file)
        if state is not None and state.get("pid") == os.getpid():
            with contextlib.suppress(OSError):
                state_file.unlink()
        os._exit(0)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    status = _serve(request, ready_fd)
    # llama.cpp's threads and its HTTP loop go with the process; its destructors are not run.
    os._exit(status)


if __name__ == "__main__":
    main(sys.argv)
