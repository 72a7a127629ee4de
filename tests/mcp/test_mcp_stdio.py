"""`agentcode mcp` as a client sees it: a subprocess driven over stdio by the official MCP SDK.

Real bubblewrap jails, real protocol. Each test starts its own server, so its jails are its own.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, ImageContent

TOOLS = {"create_session", "close_session", "execute_python", "generate_python", "write_file",
         "read_file", "list_files"}

PLOT = """\
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [1, 4, 9])
plt.title("squares")
print("plotted")
"""


def _server(**env_vars: str) -> StdioServerParameters:
    env = dict(os.environ)  # AGENTCODE_HOME: this test's own home (tests/conftest.py)
    env.update(AGENTCODE_LIMIT_TMP_MB="16", AGENTCODE_LIMIT_SHM_MB="8",
               AGENTCODE_LIMIT_WORKDIR_MB="32", AGENTCODE_LIMIT_KILL_GRACE_SECONDS="1")
    env.update(env_vars)
    return StdioServerParameters(command=sys.executable, args=["-m", "agentcode", "mcp"], env=env)


@asynccontextmanager
async def _client(**env_vars: str) -> AsyncIterator[ClientSession]:
    async with (stdio_client(_server(**env_vars)) as (read, write),
                ClientSession(read, write) as client):
        await client.initialize()
        yield client


def _run(scenario: Callable[[], Awaitable[None]]) -> None:
    anyio.run(scenario)


async def _session(client: ClientSession) -> str:
    created = await client.call_tool("create_session", {})
    assert not created.is_error, created
    assert created.structured_content is not None
    return str(created.structured_content["session_id"])


def _data(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, result
    return result.structured_content


def test_tools_are_listed_with_schemas_and_descriptions() -> None:
    async def scenario() -> None:
        async with _client() as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.description and len(tool.description) > 40, tool.name
            assert tool.input_schema["type"] == "object"
            assert tool.output_schema is not None, tool.name
        execute = tools["execute_python"]
        assert execute.input_schema["required"] == ["code"]
        assert set(execute.input_schema["properties"]) == {"code", "session_id", "stdin",
                                                           "timeout"}
        assert "traceback" in str(execute.output_schema)
        assert tools["write_file"].input_schema["required"] == ["session_id", "name", "content"]

    _run(scenario)


def test_state_persists_in_a_session_and_errors_are_results() -> None:
    async def scenario() -> None:
        async with _client() as client:
            session_id = await _session(client)
            first = await client.call_tool("execute_python",
                                           {"code": "x = 21", "session_id": session_id})
            assert not first.is_error
            second = await client.call_tool("execute_python",
                                            {"code": "print(x * 2)", "session_id": session_id})
            assert not second.is_error
            assert _data(second)["stdout"] == "42\n"
            assert '"stdout": "42\\n"' in second.content[0].text  # type: ignore[union-attr]

            # Without a session each call starts from scratch.
            fresh = await client.call_tool("execute_python", {"code": "print(x)"})
            assert fresh.is_error
            assert _data(fresh)["error"]["name"] == "NameError"

            raised = await client.call_tool("execute_python", {
                "code": "def f():\n    raise ValueError('bad input')\nf()",
                "session_id": session_id,
            })
            assert raised.is_error
            error = _data(raised)["error"]
            assert (error["name"], error["value"]) == ("ValueError", "bad input")
            assert "Traceback (most recent call last)" in error["traceback"]
            assert "in f" in error["traceback"]
            assert _data(raised)["exit_code"] == 1

            value = await client.call_tool("execute_python",
                                           {"code": "x + 1", "session_id": session_id})
            assert _data(value)["value"] == "22"

            echoed = await client.call_tool("execute_python", {
                "code": "import sys; print(sys.stdin.read().upper())", "stdin": "abc",
            })
            assert _data(echoed)["stdout"] == "ABC\n"

    _run(scenario)


def test_a_plot_is_image_content(data_sandbox_env: Path) -> None:
    async def scenario() -> None:
        # matplotlib from the sandbox package environment (tests/conftest.py)
        async with _client(AGENTCODE_SANDBOX_ENV=str(data_sandbox_env),
                           AGENTCODE_LIMIT_MEMORY_MB="4096") as client:
            session_id = await _session(client)
            result = await client.call_tool("execute_python",
                                            {"code": PLOT, "session_id": session_id, "timeout": 60})
        assert not result.is_error, result
        images = [block for block in result.content if isinstance(block, ImageContent)]
        assert len(images) == 1  # one figure, once
        assert images[0].mime_type == "image/png"
        png = base64.b64decode(images[0].data)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
        assert _data(result)["stdout"] == "plotted\n"
        assert _data(result)["figures"] == 1

    _run(scenario)


def test_a_timeout_is_an_error_result_and_the_session_survives() -> None:
    async def scenario() -> None:
        async with _client() as client:
            session_id = await _session(client)
            await client.call_tool("execute_python", {"code": "n = 5", "session_id": session_id})
            result = await client.call_tool("execute_python", {
                "code": "print('started', flush=True)\nwhile True:\n    pass",
                "session_id": session_id, "timeout": 2,
            })
            assert result.is_error
            data = _data(result)
            assert data["timed_out"] is True
            assert data["exit_code"] == 124
            assert data["stdout"] == "started\n"
            assert data["error"]["name"] == "TimeoutError"
            assert "timeout" in data["error"]["value"]
            assert "while True" in data["error"]["traceback"]  # where it was stopped
            after = await client.call_tool("execute_python",
                                           {"code": "print(n)", "session_id": session_id})
            assert _data(after)["stdout"] == "5\n"

    _run(scenario)


def test_files_round_trip_and_bad_arguments_are_error_results() -> None:
    async def scenario() -> None:
        async with _client() as client:
            session_id = await _session(client)
            written = await client.call_tool("write_file", {
                "session_id": session_id, "name": "data.csv", "content": "a,b\n1,2\n",
            })
            assert not written.is_error and _data(written)["size"] == 8
            ran = await client.call_tool("execute_python", {
                "code": "rows = open('data.csv').read().split()\n"
                        "open('out.bin', 'wb').write(bytes([0, 255]))\nprint(len(rows))",
                "session_id": session_id,
            })
            assert _data(ran)["stdout"] == "2\n"
            listed = await client.call_tool("list_files", {"session_id": session_id})
            assert _data(listed)["files"] == ["data.csv", "out.bin"]
            text = await client.call_tool("read_file",
                                          {"session_id": session_id, "name": "data.csv"})
            assert _data(text)["content"] == "a,b\n1,2\n"
            binary = await client.call_tool("read_file",
                                            {"session_id": session_id, "name": "out.bin"})
            assert _data(binary)["encoding"] == "base64"
            assert base64.b64decode(_data(binary)["content"]) == bytes([0, 255])

            missing = await client.call_tool("read_file",
                                             {"session_id": session_id, "name": "nope.txt"})
            assert missing.is_error and "nope.txt" in missing.content[0].text  # type: ignore[union-attr]
            outside = await client.call_tool("write_file", {
                "session_id": session_id, "name": "../escape.txt", "content": "x",
            })
            assert outside.is_error and "relative path" in outside.content[0].text  # type: ignore[union-attr]
            unknown = await client.call_tool("list_files", {"session_id": "no-such-session"})
            assert unknown.is_error and "create_session" in unknown.content[0].text  # type: ignore[union-attr]

            closed = await client.call_tool("close_session", {"session_id": session_id})
            assert not closed.is_error
            gone = await client.call_tool("execute_python",
                                          {"code": "1", "session_id": session_id})
            assert gone.is_error

    _run(scenario)


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid``."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _server_pid() -> int:
    for pid in _children(os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"agentcode" in cmdline and b"mcp" in cmdline:
            return pid
    raise AssertionError("the agentcode mcp process was not found")


def test_closing_the_client_leaves_no_jail_process() -> None:
    jails: set[int] = set()
    server: list[int] = []

    async def scenario() -> None:
        async with _client() as client:
            for _ in range(2):
                session_id = await _session(client)
                await client.call_tool("execute_python",
                                       {"code": "x = 1", "session_id": session_id})
            server.append(_server_pid())
            jails.update(_children(server[0]))
            commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in jails]
            assert sum(b"bwrap" in command for command in commands) >= 2

    _run(scenario)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in jails | set(server)):
        time.sleep(0.05)
    assert not [pid for pid in jails | set(server) if _alive(pid)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_server_leaves_no_jail_process(signum: int) -> None:
    # SIGTERM: the server closes its sessions and exits; SIGKILL: the jails die with their parent.
    watched: set[int] = set()
    seen: dict[str, bool] = {}

    async def scenario() -> None:
        async with _client() as client:
            session_id = await _session(client)
            await client.call_tool("execute_python", {"code": "x = 1", "session_id": session_id})
            server = _server_pid()
            jails = _children(server)
            seen["jail"] = any(b"bwrap" in Path(f"/proc/{pid}/cmdline").read_bytes()
                               for pid in jails)
            watched.update(jails | {server})
            os.kill(server, signum)
            deadline = time.monotonic() + 30
            while _alive(server) and time.monotonic() < deadline:
                await anyio.sleep(0.05)
            seen["server exited"] = not _alive(server)

    # The client may complain on the way out that its server went away: not what is tested.
    with contextlib.suppress(Exception):
        _run(scenario)
    assert seen == {"jail": True, "server exited": True}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in watched):
        time.sleep(0.05)
    assert not [pid for pid in watched if _alive(pid)]


def test_an_unusable_sandbox_is_an_mcp_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        params = _server()
        params.env = dict(params.env or {}, PATH=str(tmp_path))  # no bwrap on PATH
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            try:
                await client.call_tool("create_session", {})
            except MCPError as exc:
                assert "bubblewrap" in exc.error.message
                assert exc.error.data["exit_code"] == 4
            else:
                raise AssertionError("create_session should have failed")

    _run(scenario)


def test_a_strands_agent_uses_the_server_through_mcpclient() -> None:
    """The docs/agents.md snippet: strands' MCPClient as the agent's tool provider."""
    from strands import Agent
    from strands.tools.mcp import MCPClient

    from agentcode.testing import FakeModel, ToolCall

    model = FakeModel([
        ToolCall("create_session", {}),
        "session made",
    ])
    client = MCPClient(lambda: stdio_client(_server()))
    agent = Agent(model=model, tools=[client], callback_handler=None)
    try:
        agent("make a session")
        created = model.calls[1].messages[-1]["content"][0]["toolResult"]
        session_id = created["structuredContent"]["session_id"]
        model.script += [
            ToolCall("execute_python", {"code": "print(6 * 7)", "session_id": session_id}),
            "42",
        ]
        agent("compute")
    finally:
        agent.cleanup()
    result = model.calls[3].messages[-1]["content"][0]["toolResult"]
    assert result["status"] == "success"
    assert '"stdout": "42\\n"' in result["content"][0]["text"]
