"""The session pool: one lasting thread per session, so its jail lives as long as it does.

(bwrap's --die-with-parent follows the thread that started the jail: a jail started on a pooled
worker thread dies when the pool retires that thread.)"""

from __future__ import annotations

import asyncio
import threading

from agentcode.config import load_settings
from agentcode.server.sessions import SessionPool


def test_each_session_keeps_its_thread_and_its_state() -> None:
    async def scenario() -> tuple[list[int], list[str | None], bool]:
        pool = SessionPool(load_settings(), max_sessions=4, idle_seconds=60,
                           sandboxes=("local",))
        first, second = await pool.create(), await pool.create()
        threads: list[int] = []
        values: list[str | None] = []
        await pool.run(first, lambda s: s.execute("x = 'first'"))
        await pool.run(second, lambda s: s.execute("x = 'second'"))
        for _ in range(3):  # other threads start and end meanwhile, as a worker pool's do
            passing = threading.Thread(target=lambda: None)
            passing.start()
            passing.join()
        for session_id in (first, second, first):
            thread, value = await pool.run(
                session_id, lambda s: (threading.get_ident(), s.execute("x").text))
            threads.append(thread)
            values.append(value)
        own = pool.get(first).thread
        await pool.close_all(0)
        return threads, values, own._shutdown  # type: ignore[attr-defined]

    threads, values, shut = asyncio.run(scenario())
    assert values == ["'first'", "'second'", "'first'"]
    assert threads[0] == threads[2] != threads[1]
    assert shut
