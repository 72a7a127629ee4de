"""Every test gets its own agentcode home (config, data, cache) and no network beyond loopback."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_real_connect = socket.socket.connect

# A test run started as a background job of a script inherits SIGINT ignored, and so would every
# agentcode it starts: the Ctrl-C tests would wait forever. A handler (unlike "ignored") is reset
# to the default in a child at exec, so the children see SIGINT as a user's terminal sends it.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The test suite's plugin: tests/plugins/agentcode_test_fakes.py and a dist-info that declares
# its ``fake:`` models as an ``agentcode.models`` entry point, here and, through PYTHONPATH, in
# agentcode subprocesses.
PLUGINS_DIR = str(Path(__file__).parent / "plugins")
sys.path.append(PLUGINS_DIR)


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
                 "AGENTCODE_NO_HISTORY", "AGENTCODE_TIMEOUT", "AGENTCODE_DB",
                 "AGENTCODE_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    # No warm model process outliving a test (tests/models/test_warm_model.py turns it on).
    monkeypatch.setenv("AGENTCODE_LOCAL_KEEP_ALIVE", "0")
    monkeypatch.setattr("agentcode.models.warm.KEEP_ALIVE_SECONDS", 0.0)
    # No `run` helper either (tests/cli/test_run_helper.py turns it on).
    monkeypatch.setenv("AGENTCODE_SANDBOX_KEEP_ALIVE", "0")
    monkeypatch.setattr("agentcode.sandbox.local.resident.KEEP_ALIVE_SECONDS", 0.0)
    outer = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", f"{outer}{os.pathsep}{PLUGINS_DIR}" if outer else PLUGINS_DIR)
    yield home


# The real embedded model, assembled once per machine (1.1 GB) rather than once per test home:
# $AGENTCODE_TEST_MODELS_DIR, else the models dir of an AGENTCODE_HOME set before the tests
# started (CI), else ~/.cache/agentcode-test/models. Read at import, before tests change the env.
_OUTER_HOME = os.environ.get("AGENTCODE_HOME")
_TEST_MODELS_DIR = Path(
    os.environ.get("AGENTCODE_TEST_MODELS_DIR")
    or (Path(_OUTER_HOME) / "cache" / "models" if _OUTER_HOME else "")
    or Path.home() / ".cache" / "agentcode-test" / "models"
).expanduser()


@pytest.fixture(scope="session")
def embedded_model_path() -> Path:
    """The verified default embedded GGUF; pass it as AGENTCODE_LOCAL_MODEL to CLI runs."""
    from agentcode.models.local import DEFAULT_LOCAL_MODEL, LOCAL_MODELS
    from agentcode.models.weights import ensure_weights

    return ensure_weights(LOCAL_MODELS[DEFAULT_LOCAL_MODEL], models_dir=_TEST_MODELS_DIR)


# Packages the data-task tests import inside the jail, installed once per machine from the index
# pip is configured for (CI included) into $AGENTCODE_TEST_SANDBOX_ENV, else
# ~/.cache/agentcode-test/sandbox-env, and reused while the list and the Python stay the same.
DATA_PACKAGES = ["numpy", "pandas", "matplotlib"]
_TEST_SANDBOX_ENV = Path(
    os.environ.get("AGENTCODE_TEST_SANDBOX_ENV")
    or Path.home() / ".cache" / "agentcode-test" / "sandbox-env"
).expanduser()


@pytest.fixture(scope="session")
def data_sandbox_env() -> Path:
    """A sandbox environment with numpy, pandas and matplotlib; pass it as settings.sandbox_env."""
    import fcntl

    from agentcode.errors import SandboxUnavailableError
    from agentcode.sandbox.local.packages import SandboxEnvironment

    _TEST_SANDBOX_ENV.mkdir(parents=True, exist_ok=True)
    with open(_TEST_SANDBOX_ENV.parent / "sandbox-env.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be installing it right now
        env = SandboxEnvironment(_TEST_SANDBOX_ENV)
        try:
            ready = env.requested() == DATA_PACKAGES and env.mount_source() is not None
        except SandboxUnavailableError:
            ready = False
        if not ready:
            env.sync(DATA_PACKAGES)
    return _TEST_SANDBOX_ENV


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``models(name=model, ...)`` makes ``-m t:<name>`` resolve to that model instance."""
    from agentcode.models import registry

    table: dict[str, object] = {}
    monkeypatch.setattr(registry.PROVIDERS, "_registered", {})
    registry.register("t", lambda spec, _settings: table[spec or ""])  # type: ignore[arg-type, return-value]
    # No real backoff in CLI tests: a retry that would wait past 0 s is not made.
    monkeypatch.setenv("AGENTCODE_MODEL_RETRY_SECONDS", "0")
    yield lambda **named: table.update(named)
