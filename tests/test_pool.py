"""The session pool `agentcode serve` and `agentcode mcp` share (agentcode.api.pool)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sandbox.jail_helpers import small_settings

from agentcode.api.pool import SessionPool, TooManySessions, UnknownSession, Wording
from agentcode.errors import SandboxError, UsageError

T = TypeVar("T")
WORDING = Wording(create="make_one", close="drop_one")


def _run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]


def _pool(**options: object) -> SessionPool[list[str]]:
    return SessionPool(small_settings(), extra=list, wording=WORDING,
                       **options)  # type: ignore[arg-type]


def test_each_session_keeps_its_thread_and_its_state() -> None:
    async def scenario() -> tuple[list[int], list[str | None], bool]:
        pool = _pool(max_sessions=4)
        first, second = (await pool.create()).id, (await pool.create()).id
        threads: list[int] = []
        values: list[str | None] = []
        await pool.run(first, lambda s: s.execute("x = 'first'"))
        await pool.run(second, lambda s: s.execute("x = 'second'"))
        for session_id in (first, second, first):
            thread, value = await pool.run(
                session_id, lambda s: (threading.get_ident(), s.execute("x").text))
            threads.append(thread)
            values.append(value)
        own = pool.get(first).thread
        pool.get(first).extra.append("the front end's own")  # each session has its own
        assert pool.get(second).extra == []
        await pool.close_all(0)
        return threads, values, own._shutdown  # type: ignore[attr-defined]

    threads, values, shut = _run(scenario)
    assert values == ["'first'", "'second'", "'first'"]
    assert threads[0] == threads[2] != threads[1]
    assert shut


def test_runs_without_a_session_count_against_the_limit() -> None:
    # Issue 24: with a limit of 2, ten session-less runs at once ran ten sandboxes.
    release = threading.Event()

    async def scenario() -> None:
        pool = _pool(max_sessions=2)
        await pool.create()
        one_off = asyncio.create_task(pool.once(lambda s: release.wait(10)))
        await asyncio.sleep(0.05)
        assert pool.in_use == 2 and len(pool) == 1
        with pytest.raises(TooManySessions, match="drop_one"):
            await pool.create()
        with pytest.raises(TooManySessions):
            await pool.once(lambda s: None)
        release.set()
        assert await one_off is True
        assert pool.in_use == 1
        await pool.create()  # the one-off's place is free again
        await pool.close_all(0)

    _run(scenario)


def test_an_unknown_session_says_how_to_make_one() -> None:
    async def scenario() -> None:
        pool = _pool(max_sessions=2)
        with pytest.raises(UnknownSession, match="make_one") as raised:
            await pool.run("nope", lambda s: None)
        assert isinstance(raised.value, UsageError) and raised.value.session_id == "nope"
        with pytest.raises(UsageError, match="not offered"):
            await pool.create(sandbox="unsafe")

    _run(scenario)


def test_deleting_a_busy_session_kills_its_sandbox_and_the_call_says_so() -> None:
    async def scenario() -> float:
        pool = _pool(max_sessions=2)
        session = await pool.create(start=True)
        running = asyncio.create_task(pool.run(
            session.id, lambda s: s.execute("import time; time.sleep(30)", timeout=60)))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        await pool.delete(session.id)
        with pytest.raises(SandboxError, match="closed while the code ran"):
            await running
        took = time.monotonic() - started
        assert len(pool) == 0
        with pytest.raises(UnknownSession):
            await pool.run(session.id, lambda s: None)
        return took

    assert _run(scenario) < 10


def test_stopping_kills_runs_without_a_session_too() -> None:
    async def scenario() -> None:
        pool = _pool(max_sessions=2)
        running = asyncio.create_task(pool.once(
            lambda s: s.execute("import time; time.sleep(30)", timeout=60)))
        await asyncio.sleep(0.5)
        await pool.close_all(0)
        with pytest.raises(SandboxError):
            await running
        assert pool.in_use == 0
        with pytest.raises(TooManySessions, match="shutting down"):
            await pool.create()

    _run(scenario)


def test_idle_sessions_are_reaped_only_when_the_pool_says_so() -> None:
    async def scenario() -> None:
        reaping, keeping = _pool(max_sessions=2, idle_seconds=0.05), _pool(max_sessions=2)
        gone, kept = await reaping.create(), await keeping.create()
        await asyncio.sleep(0.1)
        assert await reaping.reap() == [gone.id]
        assert await keeping.reap() == []
        assert len(reaping) == 0 and keeping.get(kept.id).session is kept
        await keeping.close_all(0)

    _run(scenario)


def test_the_machines_memory_bounds_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """32 sessions x 2 GiB were allowed on a 24 GiB machine: sandboxes that each kept to their
    limit could together run the host out of memory."""
    from agentcode.api import pool as pool_module

    settings = small_settings(memory_mb=2048)
    gib = 1024 ** 3
    assert pool_module.memory_sessions(settings, total_bytes=24 * gib) == 9
    assert pool_module.memory_sessions(settings, total_bytes=1 * gib) == 1
    monkeypatch.setattr(pool_module, "memory_sessions", lambda s: 2)

    async def scenario() -> str:
        pool = _pool(max_sessions=32)
        assert pool.max_sessions == 2
        await pool.create()
        await pool.create()
        try:
            await pool.create()
        except TooManySessions as exc:
            return str(exc)
        finally:
            await pool.close_all(1)
        return ""

    message = _run(scenario)
    assert "limit of 2 sessions, all this machine's memory holds at" in message
