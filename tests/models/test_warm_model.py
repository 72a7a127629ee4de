"""The embedded model kept warm in a background process between `gen`s.

Against a stand-in for llama.cpp's server (tests/models/fake_llama: the xllamacpp boundary) in
a real background process, except one slow test with the real model: the process is reused,
shared by concurrent requests, replaced when stale or hung, and gone after its idle time or
`agentcode model stop`, with nothing left behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcode.config import Settings
from agentcode.errors import ModelUnavailableError
from agentcode.models import warm
from agentcode.models.local import load_local_model

FAKE = str(Path(__file__).parent / "fake_llama")


@pytest.fixture
def gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A stub GGUF file and the fake runtime on both our path and the children's."""
    path = tmp_path / "stub.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 60)
    monkeypatch.syspath_prepend(FAKE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([FAKE, os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("AGENTCODE_LOCAL_MODEL", str(path))
    real = sys.modules.pop("xllamacpp", None)  # the fake is imported by in-process tests
    yield path
    warm.stop_all()
    sys.modules.pop("xllamacpp", None)
    if real is not None:
        sys.modules["xllamacpp"] = real


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone for our purposes only once reaped; ours are reaped by init.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return False


def _ask(model: object, word: str) -> str:
    async def run() -> str:
        messages = [{"role": "user", "content": [{"text": f"print {word}"}]}]
        return "".join([event["contentBlockDelta"]["delta"]["text"]
                        async for event in model.stream(messages)  # type: ignore[attr-defined]
                        if "contentBlockDelta" in event])

    return asyncio.run(run())


def _start(gguf: Path, keep_alive: float) -> warm.WarmServer:
    return warm.warm_server(gguf, n_ctx=512, n_threads=1, n_parallel=1, keep_alive=keep_alive)


def test_the_process_is_reused_and_leaves_nothing_after_its_idle_time(gguf: Path) -> None:
    first = _start(gguf, keep_alive=1.0)
    second = _start(gguf, keep_alive=1.0)
    assert second.pid == first.pid and second.base_url == first.base_url
    assert first.state_file.stat().st_mode & 0o777 == 0o600
    assert first.state_file.parent.stat().st_mode & 0o777 == 0o700
    assert [s["pid"] for s in warm.running()] == [first.pid]
    assert "api_key" not in warm.running()[0]
    assert _wait_gone(first.pid)
    assert not first.state_file.exists()
    assert warm.running() == []


def test_model_stop_ends_it_and_the_next_request_starts_a_fresh_one(gguf: Path) -> None:
    model = load_local_model(None, Settings(local_keep_alive=60))
    assert "word-one" in _ask(model, "word-one")
    pid = warm.running()[0]["pid"]
    shown = subprocess.run([sys.executable, "-m", "agentcode", "model", "status", "--json"],
                           capture_output=True, text=True, timeout=60)
    assert [s["pid"] for s in json.loads(shown.stdout)["running"]] == [pid]
    done = subprocess.run([sys.executable, "-m", "agentcode", "model", "stop"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "stopped 1 warm model process" in done.stderr
    assert _gone(pid)
    assert warm.running() == []
    # The same model object notices the process went away and starts another one.
    assert "word-two" in _ask(model, "word-two")
    assert [s["pid"] for s in warm.running()] != [pid]


def test_two_requests_at_once_share_one_process_and_keep_their_own_replies(gguf: Path) -> None:
    model = load_local_model(None, Settings(local_keep_alive=60))

    async def both() -> list[str]:
        async def one(word: str) -> str:
            messages = [{"role": "user", "content": [{"text": f"print {word}"}]}]
            return "".join([event["contentBlockDelta"]["delta"]["text"]
                            async for event in model.stream(messages)  # type: ignore[arg-type]
                            if "contentBlockDelta" in event])
        return list(await asyncio.gather(one("word-left"), one("word-right")))

    left, right = asyncio.run(both())
    assert "word-left" in left and "word-right" not in left
    assert "word-right" in right and "word-left" not in right
    assert len(warm.running()) == 1


def test_a_stale_or_hung_process_is_replaced(gguf: Path, tmp_path: Path) -> None:
    first = _start(gguf, keep_alive=60)
    # A process that looks like ours but does not answer, in the state file's place.
    hung = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", warm.MODULE])
    try:
        state = warm.read_state(first.state_file)
        assert state is not None
        warm.stop(first.state_file)
        state.update(pid=hung.pid, base_url="http://127.0.0.1:9")  # nothing listens there
        first.state_file.write_text(json.dumps(state))
        fresh = _start(gguf, keep_alive=60)
        assert fresh.pid not in (first.pid, hung.pid)
        assert hung.wait(10) is not None  # ended, not left running
        # A pid that is not a warm model (our own) is never signalled, only forgotten.
        state.update(pid=os.getpid())
        warm.stop(fresh.state_file)
        fresh.state_file.write_text(json.dumps(state))
        again = _start(gguf, keep_alive=60)
        assert again.pid != os.getpid()
    finally:
        hung.kill()
        hung.wait()


def test_a_process_that_cannot_load_the_model_is_reported(gguf: Path) -> None:
    gguf.unlink()
    with pytest.raises(ModelUnavailableError, match="did not start: .*could not load"):
        _start(gguf, keep_alive=60)
    assert warm.running() == []


def test_keep_alive_defaults_to_five_minutes_off_in_ci_unless_configured(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warm, "KEEP_ALIVE_SECONDS", 300.0)
    monkeypatch.delenv("CI", raising=False)
    assert warm.keep_alive_seconds(Settings()) == 300.0
    monkeypatch.setenv("CI", "true")
    assert warm.keep_alive_seconds(Settings()) == 0.0
    assert warm.keep_alive_seconds(Settings(local_keep_alive=30)) == 30.0
    assert warm.keep_alive_seconds(Settings(local_keep_alive=0)) == 0.0


def test_off_means_in_process(gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_local_model(None, Settings(local_keep_alive=0))
    assert "word-here" in _ask(model, "word-here")
    assert warm.running() == []


def test_a_runtime_dir_anyone_else_can_enter_is_refused(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)
    (home / "run").chmod(0o755)
    monkeypatch.setenv("AGENTCODE_HOME", str(home))
    with pytest.raises(ModelUnavailableError, match="not a private directory"):
        warm.runtime_dir()


@pytest.mark.slow
def test_the_real_model_stays_warm_and_goes_after_its_idle_time(
        embedded_model_path: Path) -> None:
    server = warm.warm_server(embedded_model_path, n_ctx=2048, n_threads=2, n_parallel=1,
                              keep_alive=2.0)
    assert server.load_seconds > 0
    again = warm.warm_server(embedded_model_path, n_ctx=2048, n_threads=2, n_parallel=1,
                             keep_alive=2.0)
    assert again.pid == server.pid and again.load_seconds == 0.0
    assert _wait_gone(server.pid, 30)
    assert warm.running() == []
