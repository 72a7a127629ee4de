"""llama.cpp's OpenAI-compatible server, run in-process by xllamacpp on 127.0.0.1.

One server per (GGUF file, context size, threads) per process, shared by every model object that
asks for it, so two `LocalLlamaModel`s never load the same 1 GB twice. The port is chosen by the
server (port 0); a random API key per server keeps other local users off it (only /health is
public). Servers are stopped at interpreter exit. xllamacpp is imported only when a server starts.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcode.config.install import install_hint
from agentcode.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 60.0


def default_threads() -> int:
    """CPUs this process may run on (the affinity mask respects taskset and cgroup cpusets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def xllamacpp_installed() -> bool:
    """Whether the runtime is importable, checked without importing it (it loads a 34 MB .so)."""
    import importlib.util

    return importlib.util.find_spec("xllamacpp") is not None


@dataclass(slots=True)
class LlamaServer:
    """A running llama.cpp server: where it listens, its key, how long the model took to load."""

    model_path: Path
    n_ctx: int
    n_threads: int
    n_parallel: int = 1
    base_url: str = ""
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    load_seconds: float = 0.0
    _server: Any = None

    def start(self, health_timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
        try:
            import xllamacpp as xlc
        except ImportError:
            raise ModelUnavailableError(
                f"the local model runtime (xllamacpp) is not installed: run {install_hint('local')}"
            ) from None
        params = xlc.CommonParams()
        params.model.path = str(self.model_path)
        params.n_ctx = self.n_ctx
        # Slots decode several sequences as one batch (`LocalLlamaModel.draw_many`); one
        # unified KV cache lets each use the whole context and share a prompt's cells.
        params.n_parallel = self.n_parallel
        params.kv_unified = self.n_parallel > 1  # one slot: exactly the configuration measured
        params.cpuparams.n_threads = self.n_threads
        params.cpuparams_batch.n_threads = self.n_threads
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # the server binds a free port and reports it in listening_address
        params.api_keys = [self.api_key]
        params.ui = False
        params.verbosity = 0  # llama.cpp's load and per-request logs would flood stderr
        params.endpoint_metrics = True  # `metrics` (the HTTP endpoint needs the key too)
        started = time.perf_counter()
        try:
            self._server = xlc.Server(params)  # blocks until the weights are loaded
        except RuntimeError as exc:
            raise ModelUnavailableError(
                f"llama.cpp could not load {self.model_path} ({exc}); is it a GGUF model "
                f"llama.cpp supports, and is there enough memory?"
            ) from None
        self.base_url = str(self._server.listening_address).rstrip("/")
        _wait_healthy(self.base_url, health_timeout)
        self.load_seconds = time.perf_counter() - started
        logger.info("llama.cpp loaded %s in %.2f s at %s", self.model_path, self.load_seconds,
                    self.base_url)

    def metrics(self) -> dict[str, float]:
        """llama.cpp's counters (``requests_processing``, ``n_decode_total``, ...), read in
        process: the warm model's process watches them to know when it is idle."""
        values: dict[str, float] = {}
        if self._server is None:
            return values
        for line in str(self._server.handle_metrics()).splitlines():
            name, _, value = line.partition(" ")
            if name.startswith("llamacpp:"):
                with contextlib.suppress(ValueError):
                    values[name[len("llamacpp:"):]] = float(value)
        return values

    def stop(self) -> None:
        # Dropping the last reference runs the C++ destructor, which stops the HTTP loop.
        self._server = None
        self.base_url = ""

    @property
    def running(self) -> bool:
        return self._server is not None


def _wait_healthy(base_url: str, timeout: float) -> None:
    """Poll /health until it says ok (503 while loading), for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=2) as reply:  # noqa: S310
                if json.loads(reply.read() or b"{}").get("status") == "ok":
                    return
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last_error = str(exc)
        time.sleep(0.05)
    raise ModelUnavailableError(
        f"the local llama.cpp server at {base_url} was not ready after {timeout:.0f} s "
        f"({last_error})"
    )


_servers: dict[tuple[str, int, int, int], LlamaServer] = {}
_servers_lock = threading.Lock()


def shared_server(
    model_path: Path, *, n_ctx: int, n_threads: int, n_parallel: int = 1
) -> LlamaServer:
    """The process-wide server for this model file and settings, started on first request."""
    key = (str(model_path.resolve()), n_ctx, n_threads, n_parallel)
    with _servers_lock:
        server = _servers.get(key)
        if server is None or not server.running:
            server = LlamaServer(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads,
                                 n_parallel=n_parallel)
            server.start()
            _servers[key] = server
        return server


def stop_all_servers() -> None:
    with _servers_lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()


atexit.register(stop_all_servers)
