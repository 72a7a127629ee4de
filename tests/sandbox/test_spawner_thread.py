"""A jail outlives the thread that started it (bwrap's --die-with-parent follows a thread).

Servers run Session calls on pooled worker threads (anyio.to_thread, ThreadPoolExecutor) that
are retired when idle; a session's variables must survive that.
"""

from __future__ import annotations

import threading

from jail_helpers import small_settings

from agentcode.sandbox.local.session import LocalSandboxSession


def test_a_jail_started_on_a_thread_that_ended_keeps_its_state() -> None:
    started: list[LocalSandboxSession] = []

    def start() -> None:
        session = LocalSandboxSession(small_settings())
        session.execute("x = 21")
        started.append(session)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    assert not thread.is_alive()
    session = started[0]
    try:
        # Give a death signal time to land, then use the session from another thread.
        result = session.execute("import time; time.sleep(0.5); print(x * 2)")
        assert result.stdout == "42\n"
    finally:
        session.close()
