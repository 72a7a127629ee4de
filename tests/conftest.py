"""Every test gets its own agentcode home (config, data, cache) and no network beyond loopback."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> None:
    if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0])
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise OSError(f"tests must not reach the network (tried {host})")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def agentcode_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "agentcode-home"
    home.mkdir()
    monkeypatch.setenv("AGENTCODE_HOME", str(home))
    for name in ("AGENTCODE_CONFIG", "AGENTCODE_MODEL", "AGENTCODE_SANDBOX", "AGENTCODE_DEBUG",
                 "AGENTCODE_NO_HISTORY", "AGENTCODE_TIMEOUT", "AGENTCODE_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield home
