"""A real `agentcode serve` app on a loopback port (uvicorn in a thread), and helpers."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (./dev.sh installs it)")

TOKEN = "test-token-0123456789"


@dataclass
class RunningServer:
    base_url: str
    token: str
    app: Any
    server: Any
    thread: threading.Thread

    @property
    def pool(self) -> Any:
        return self.app.state.pool

    def client(self, token: str | None = TOKEN, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


StartServer = Callable[..., RunningServer]


@pytest.fixture
def start_server(agentcode_home: Path) -> Iterator[StartServer]:
    """Start servers with a scripted model (``model=``) and ServerConfig overrides."""
    import uvicorn

    from agentcode.config import load_settings
    from agentcode.models.registry import register, unregister
    from agentcode.server.app import ServerConfig, create_app

    started: list[RunningServer] = []

    def start(model: Any = None, *, token: str = TOKEN, **overrides: Any) -> RunningServer:
        settings = load_settings()
        if model is not None:
            register("scripted", lambda spec, _settings: model)
            settings.model = ["scripted"]
        config = ServerConfig(settings=settings, token=token, **overrides)
        app = create_app(config)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                               timeout_graceful_shutdown=2))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]},
                                  daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        port = listener.getsockname()[1]
        running = RunningServer(f"http://127.0.0.1:{port}", token, app, server, thread)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
    unregister("scripted")


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (the jails a server started, for one)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def spare_jail_processes() -> set[int]:
    """The processes of the spare jail a server keeps for its next session (belonging to no
    session, it outlives them), once the one being started is ready."""
    from agentcode.sandbox.local import spare

    kept = spare._spare
    if kept is None:
        return set()
    if kept._making is not None:
        kept._making.join()
    ready = kept._ready
    if ready is None or ready._worker is None:
        return set()
    return {ready._worker.proc.pid, *descendants(ready._worker.proc.pid)}


def helper_processes() -> set[int]:
    """Processes of ours that are no jail and live as long as we do: the v1 freezer's thawer
    (agentcode.sandbox.local.cgroup._Thawer, one per process)."""
    from agentcode.sandbox.local import cgroup

    thawer = getattr(getattr(cgroup, "_THAWER", None), "_proc", None)
    return {thawer.pid} if thawer is not None else set()


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
