"""The spare jail: handed to one session only, never reused, never one that does not suit.

Real jails (small limits): what a session leaves in its jail never reaches the next session,
and a spare made for other settings, or whose worker died, is closed rather than handed out.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Iterator

import pytest
from jail_helpers import small_settings

from agentcode.api.session import Session
from agentcode.config import Settings
from agentcode.sandbox import open_sandbox
from agentcode.sandbox.local import spare
from agentcode.sandbox.local.session import LocalSandboxSession


@pytest.fixture
def settings() -> Iterator[Settings]:
    chosen = small_settings()
    yield chosen
    spare.stop()


def _pid(jail: LocalSandboxSession) -> int:
    assert jail._worker is not None
    return jail._worker.worker_pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_each_spare_goes_to_one_session_and_never_comes_back(settings: Settings) -> None:
    spares = spare.keep(settings)
    first = spare.take(settings)
    assert first is not None
    first.execute("secret = 'of the first session'; open('left.txt', 'w').write('x')")
    first_pid = _pid(first)
    first.close()
    assert not _alive(first_pid)
    second = spare.take(settings)  # the next spare, started while the first was in use
    assert second is not None and second is not first
    try:
        assert _pid(second) != first_pid
        seen = second.execute("import os; print('secret' in globals(), os.listdir('.'))")
        assert seen.stdout == "False []\n"
    finally:
        second.close()
    assert spares.handed_out == 2


def test_a_new_local_session_starts_on_the_spare(settings: Settings) -> None:
    spares = spare.keep(settings)
    sandbox = open_sandbox("local", settings)
    try:
        assert isinstance(sandbox, LocalSandboxSession)
        assert spares.handed_out == 1
    finally:
        sandbox.close()
    with Session("local", settings=settings, history=False) as session:
        assert session.execute("print(6 * 7)").stdout == "42\n"
    assert spares.handed_out == 2


def test_a_spare_for_other_limits_or_with_a_dead_worker_is_not_handed_out(
        settings: Settings) -> None:
    spare.keep(settings)
    other = dataclasses.replace(settings, limits=dataclasses.replace(settings.limits,
                                                                     memory_mb=300))
    assert spare.take(other) is None
    ready = spare.take(settings)  # the next one suits
    assert ready is not None
    ready.close()
    made = spare._spare
    assert made is not None
    made._making.join()  # type: ignore[union-attr]
    dying = made._ready
    assert dying is not None
    assert dying._worker is not None
    os.kill(_pid(dying), signal.SIGKILL)
    dying._worker.proc.wait(10)  # the jail ends with its worker
    assert spare.take(settings) is None


def test_stop_closes_the_spare(settings: Settings) -> None:
    made = spare.keep(settings)
    assert made._making is not None
    made._making.join()
    ready = made._ready
    assert ready is not None
    pid = _pid(ready)
    spare.stop()
    assert not _alive(pid)
    assert spare.take(settings) is None  # no spare kept any more


def test_a_one_shot_spare_returns_once_bwrap_is_forked_and_never_hangs(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from agentcode.errors import SandboxUnavailableError
    from agentcode.sandbox.local import jail as jail_module

    kept = spare.keep_once(settings)
    assert kept.launched.is_set()  # `agentcode run`'s imports start after the jail's set-up
    taken = spare.take(settings)
    assert taken is not None and taken.execute("print(1)").stdout == "1\n"
    taken.close()

    # A jail that cannot start sets it too: the waiter is never left hanging.
    def no_bwrap() -> str:
        raise SandboxUnavailableError("no bwrap here")

    monkeypatch.setattr(jail_module, "find_bwrap", no_bwrap)
    failed = threading.Event()
    with pytest.raises(SandboxUnavailableError):
        LocalSandboxSession(settings, launched=failed)
    assert failed.is_set()
    assert spare.keep_once(settings).launched.is_set()
    assert spare.take(settings) is None
