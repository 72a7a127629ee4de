"""The MCP server's tools in-process (the SDK's in-memory client), with fake models.

The stdio tests cover the protocol end to end; these cover generation, the session pool and how
failures are reported, where a fake model or a sandbox under our control is needed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from sandbox.jail_helpers import small_settings

from agentcode.mcp.server import build_server
from agentcode.mcp.sessions import SessionPool
from agentcode.testing import FailingModel, FakeModel, no_credentials


def _run(scenario: Callable[[], Awaitable[None]]) -> None:
    anyio.run(scenario)


def test_generate_python_returns_the_code_and_the_model() -> None:
    model = FakeModel("Here you go:\n```python\nprint(sum(range(10)))\n```", model_id="fake-coder")
    server = build_server(small_settings(), model=model)

    async def scenario() -> None:
        async with Client(server) as client:
            result = await client.call_tool("generate_python", {"prompt": "sum 0..9"})
        assert not result.is_error
        data: dict[str, Any] = result.structured_content or {}
        assert data["code"].strip() == "print(sum(range(10)))"
        assert data["model"].endswith("fake-coder")
        assert data["verified"] is False
        assert "sum 0..9" in model.calls[0].prompt

    _run(scenario)


def test_generate_python_in_a_session_sees_its_earlier_code() -> None:
    model = FakeModel("```python\nprint(total)\n```")
    server = build_server(small_settings(), model=model)

    async def scenario() -> None:
        async with Client(server) as client:
            created = await client.call_tool("create_session", {})
            session_id = (created.structured_content or {})["session_id"]
            await client.call_tool("execute_python",
                                   {"code": "total = 41 + 1", "session_id": session_id})
            result = await client.call_tool("generate_python",
                                            {"prompt": "show the total", "session_id": session_id})
            assert not result.is_error
        history = str(model.calls[0].messages)
        assert "total = 41 + 1" in history

    _run(scenario)


def test_no_model_answering_is_an_mcp_error_naming_the_cause() -> None:
    server = build_server(small_settings(), model=FailingModel(no_credentials()))

    async def scenario() -> None:
        async with Client(server) as client:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("generate_python", {"prompt": "anything"})
        assert raised.value.error.data["exit_code"] == 3
        assert "credentials" in raised.value.error.message.lower()

    _run(scenario)


def test_the_session_limit_is_an_error_result_that_says_what_to_do() -> None:
    server = build_server(small_settings(), max_sessions=1)

    async def scenario() -> None:
        async with Client(server) as client:
            first = await client.call_tool("create_session", {})
            assert not first.is_error
            second = await client.call_tool("create_session", {})
            assert second.is_error
            assert "close_session" in second.content[0].text  # type: ignore[union-attr]

    _run(scenario)


def test_disconnecting_closes_every_session() -> None:
    pool = SessionPool(small_settings(), limit=8)
    server = build_server(pool=pool)

    async def scenario() -> None:
        async with Client(server) as client:
            for _ in range(3):
                await client.call_tool("create_session", {})
            assert len(pool) == 3

    _run(scenario)
    assert len(pool) == 0
    with pytest.raises(Exception, match="shutting down"):
        pool.create()


def test_a_session_closed_while_busy_is_closed_when_its_run_ends() -> None:
    pool = SessionPool(small_settings(), limit=2)
    session = pool.create()
    started = threading.Event()

    def busy() -> None:
        with pool.use(session.id) as held:
            started.set()
            held.execute("import time; time.sleep(0.5)")

    worker = threading.Thread(target=busy)
    worker.start()
    assert started.wait(5)
    pool.close(session.id)  # does not wait for the run
    assert session._sandbox is not None  # still running its code
    worker.join(10)
    deadline = time.monotonic() + 5
    while session._sandbox is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert session._sandbox is None
