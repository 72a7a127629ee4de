"""The MCP server's tools in-process (the SDK's in-memory client), with fake models.

The stdio tests cover the protocol end to end; these cover generation, the session pool and how
failures are reported, where a fake model or a sandbox under our control is needed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from sandbox.jail_helpers import small_settings

from agentcode.mcp.server import build_server, new_pool
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
        # As `gen` does with no input: a request that asks for output is run once (empty stdin).
        assert data["verified"] is True
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


def test_a_nul_in_a_file_name_is_an_error_result_not_an_internal_error() -> None:
    server = build_server(small_settings())

    async def scenario() -> None:
        async with Client(server) as client:
            created = await client.call_tool("create_session", {})
            session_id = (created.structured_content or {})["session_id"]
            for tool, extra in (("write_file", {"content": "x"}), ("read_file", {})):
                result = await client.call_tool(tool, {"session_id": session_id,
                                                       "name": "a\x00b.txt", **extra})
                assert result.is_error, tool
                assert "NUL" in result.content[0].text  # type: ignore[union-attr]

    _run(scenario)


def test_disconnecting_closes_every_session() -> None:
    pool = new_pool(small_settings(), max_sessions=8)
    server = build_server(pool=pool)

    async def scenario() -> None:
        async with Client(server) as client:
            for _ in range(3):
                await client.call_tool("create_session", {})
            assert len(pool) == 3

    _run(scenario)
    assert len(pool) == 0
    with pytest.raises(Exception, match="shutting down"):
        anyio.run(pool.create)


def test_runs_without_a_session_count_against_the_limit() -> None:
    # Issue 24: `--max-sessions 2` let ten session-less execute_python calls run ten jails.
    server = build_server(small_settings(), max_sessions=2)
    results: list[Any] = []

    async def scenario() -> None:
        async with Client(server) as client:
            async def call() -> None:
                results.append(await client.call_tool(
                    "execute_python", {"code": "import time; time.sleep(1.5); print('ran')"}))

            async with anyio.create_task_group() as group:
                for _ in range(10):
                    group.start_soon(call)

    _run(scenario)
    ran = [r for r in results if not r.is_error]
    refused = [r for r in results if r.is_error]
    assert 1 <= len(ran) <= 2 and len(ran) + len(refused) == 10
    assert all("close_session" in r.content[0].text for r in refused)
    assert all((r.structured_content or {})["stdout"] == "ran\n" for r in ran)


def test_closing_a_busy_session_stops_its_run() -> None:
    server = build_server(small_settings(), max_sessions=2)

    async def scenario() -> None:
        async with Client(server) as client:
            created = await client.call_tool("create_session", {})
            session_id = (created.structured_content or {})["session_id"]
            outcome: list[BaseException] = []

            async def busy() -> None:
                try:
                    await client.call_tool("execute_python", {
                        "code": "import time; time.sleep(30)", "session_id": session_id})
                except MCPError as exc:
                    outcome.append(exc)

            started = time.monotonic()
            async with anyio.create_task_group() as group:
                group.start_soon(busy)
                await anyio.sleep(0.5)
                closed = await client.call_tool("close_session", {"session_id": session_id})
                assert not closed.is_error
            assert time.monotonic() - started < 10
            assert "closed while the code ran" in str(outcome[0])
            again = await client.call_tool("list_files", {"session_id": session_id})
            assert again.is_error

    _run(scenario)


def test_a_verified_generation_without_a_session_takes_a_place_in_the_pool() -> None:
    # Its candidates run in a sandbox of their own: that sandbox counts like a session.
    model = FakeModel("```python\nprint(6 * 7)\n```")
    server = build_server(small_settings(), max_sessions=1, model=model)

    async def scenario() -> None:
        async with Client(server) as client:
            done = await client.call_tool("generate_python", {"prompt": "six times seven",
                                                              "verify": True})
            assert not done.is_error and (done.structured_content or {})["verified"] is True
            await client.call_tool("create_session", {})
            refused = await client.call_tool("generate_python", {"prompt": "again",
                                                                 "verify": True})
            assert refused.is_error and "close_session" in refused.content[0].text  # type: ignore[union-attr]
            plain = await client.call_tool("generate_python", {"prompt": "no sandbox needed",
                                                               "verify": False})
            assert not plain.is_error  # nothing runs: no place taken

    _run(scenario)
