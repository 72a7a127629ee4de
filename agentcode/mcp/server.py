"""`agentcode mcp`: the sandbox and the models as MCP tools, for Claude Desktop, IDEs, agents.

A client of the public API only (`agentcode.Session`, `execute`, `generate`). What the code does,
including raising and running out of time, is a tool *result* (``isError`` when it failed) the
calling model can read and act on; bad arguments (an unknown session, a path outside the work
dir) are error results too. Failures of agentcode itself (no sandbox on this machine, no model
could answer) are MCP errors with one line saying what to change.

No ``from __future__ import annotations`` here: the SDK reads the tools' annotations at runtime
to build their JSON schemas.
"""

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

import agentcode
from agentcode import (
    AgentcodeError,
    ExecutionTimeoutError,
    SandboxError,
    Settings,
    UsageError,
)
from agentcode.api.tool_result import (
    ExecutionResult,
    GenerationResult,
    ToolOutcome,
    execution_outcome,
    generation_outcome,
    timeout_outcome,
)
from agentcode.mcp.sessions import SessionPool

if TYPE_CHECKING:
    from agentcode.api.session import ModelChoice

# A tool result is read by a model: more than this is better read in parts with execute_python.
READ_LIMIT = 1024 * 1024
MAX_TIMEOUT = 3600.0

INSTRUCTIONS = """\
Runs Python code in an isolated sandbox (no network, no access to the host's files) and writes
Python with agentcode's models.
- execute_python runs code. With a session_id (from create_session) variables, imports and files
  persist between calls, like notebook cells; without one each call starts from scratch.
- The code's working directory is the session's work dir: write_file puts input files there,
  list_files and read_file get results back. Figures from matplotlib come back as images.
- Close sessions you no longer need with close_session; all close when the client disconnects.
"""

SessionId = Annotated[str, Field(description="A session id returned by create_session.")]
FileName = Annotated[str, Field(
    description="Path relative to the session's work dir, e.g. 'data.csv' or 'out/report.txt'."
)]


class SessionInfo(BaseModel):
    session_id: str = Field(description="Pass this to the other tools to use the session.")
    sandbox: str = Field(description="The sandbox backend running the session.")


class ClosedSession(BaseModel):
    closed: str = Field(description="The id of the session that was closed.")


class FileList(BaseModel):
    files: list[str] = Field(description="Paths of the regular files in the work dir.")


class FileContent(BaseModel):
    name: str
    content: str = Field(description="The file's text, or its bytes as base64 (see encoding).")
    encoding: Literal["utf-8", "base64"]
    size: int = Field(description="Size in bytes.")


class WrittenFile(BaseModel):
    name: str
    size: int = Field(description="Bytes written.")


def _result(outcome: ToolOutcome) -> CallToolResult:
    """A tool result: the JSON as text (every client reads it) and as structured content."""
    content: list[Any] = [TextContent(type="text", text=outcome.text())]
    content += [ImageContent(type="image", data=base64.b64encode(png).decode("ascii"),
                             mime_type="image/png") for png in outcome.images]
    return CallToolResult(content=content, structured_content=outcome.structured(),
                          is_error=outcome.is_error)


def _error_result(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


async def _call(work: Callable[[], CallToolResult]) -> CallToolResult:
    """Run ``work`` in a thread: bad input becomes an error result, our failures MCP errors."""
    try:
        return await anyio.to_thread.run_sync(work)
    except UsageError as exc:
        return _error_result(str(exc))
    except AgentcodeError as exc:
        raise MCPError(code=INTERNAL_ERROR, message=str(exc),
                       data={"error": type(exc).__name__, "exit_code": exc.exit_code}) from exc
    except Exception as exc:  # noqa: BLE001 - one clear line to the client, never a hang
        raise MCPError(code=INTERNAL_ERROR,
                       message=f"internal error: {type(exc).__name__}: {exc}") from exc


def build_server(settings: Settings | None = None, *, max_sessions: int = 8,
                 model: "ModelChoice | None" = None,
                 pool: SessionPool | None = None) -> MCPServer[Any]:
    """The MCP server for one client.

    ``model`` overrides the configured chain (a name, a list, a strands Model); ``pool`` is
    where its sessions live (by default a new one of ``max_sessions``), closed on disconnect.
    """
    if settings is None:
        settings = pool.settings if pool is not None else agentcode.load_settings()
    if pool is None:
        pool = SessionPool(settings, limit=max_sessions, model=model)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[None]:
        try:
            yield None
        finally:  # the client disconnected (or the server is stopping): no jail outlives it
            pool.close_all()

    server: MCPServer[Any] = MCPServer(
        "agentcode", instructions=INSTRUCTIONS, version=agentcode.__version__,
        lifespan=lifespan, log_level="WARNING",
    )

    def run(code: str, session_id: str | None, stdin: str | None,
            timeout: float | None) -> ToolOutcome:
        for what, text in (("code", code), ("stdin", stdin or "")):
            if len(text.encode("utf-8")) > settings.max_input_bytes:
                raise UsageError(f"the {what} is over the {settings.max_input_bytes}-byte limit")
        try:
            if session_id is None:
                execution = agentcode.execute(code, settings=settings, stdin=stdin,
                                              timeout=timeout)
                return execution_outcome(execution)
            with pool.use(session_id) as session:
                try:
                    execution = session.execute(code, stdin=stdin, timeout=timeout)
                except ExecutionTimeoutError as exc:
                    return timeout_outcome(exc, session_id=session_id)
                return execution_outcome(execution, session_id=session_id)
        except ExecutionTimeoutError as exc:
            return timeout_outcome(exc)

    @server.tool(annotations=ToolAnnotations(title="Create a sandbox session",
                                             destructive_hint=False, open_world_hint=False))
    async def create_session(
        sandbox: Annotated[Literal["local", "agentcore"] | None, Field(
            description="Where the code runs: 'local' (a bubblewrap jail on this machine) or "
            "'agentcore' (AWS AgentCore Code Interpreter). Default: the server's setting."
        )] = None,
    ) -> Annotated[CallToolResult, SessionInfo]:
        """Start a sandbox session for execute_python and the file tools.

        Variables, imports and files persist across calls in one session. Returns its
        session_id. Close it with close_session when done.
        """
        def work() -> CallToolResult:
            session = pool.create(sandbox)
            info = SessionInfo(session_id=session.id, sandbox=session.sandbox.backend)
            return _result(ToolOutcome(info))

        return await _call(work)

    @server.tool(annotations=ToolAnnotations(title="Close a sandbox session",
                                             destructive_hint=True, idempotent_hint=False,
                                             open_world_hint=False))
    async def close_session(session_id: SessionId) -> Annotated[CallToolResult, ClosedSession]:
        """Close a session: its sandbox stops and its variables and files are gone."""
        def work() -> CallToolResult:
            pool.close(session_id)
            return _result(ToolOutcome(ClosedSession(closed=session_id)))

        return await _call(work)

    @server.tool(annotations=ToolAnnotations(title="Run Python in the sandbox",
                                             destructive_hint=False, open_world_hint=False))
    async def execute_python(
        code: Annotated[str, Field(description="Python 3 source to run. If the last line is a "
                                   "bare expression its repr() is returned as 'value'.")],
        session_id: Annotated[str | None, Field(
            description="Run in this session (from create_session) so variables persist; "
            "omit to run once in a fresh sandbox."
        )] = None,
        stdin: Annotated[str | None, Field(description="Text the code reads from sys.stdin.")]
        = None,
        timeout: Annotated[float | None, Field(
            gt=0, le=MAX_TIMEOUT,
            description="Wall-clock limit in seconds (default: the server's, 30 s unless set). "
            "Past it the code is interrupted; the session keeps its variables if it stops.",
        )] = None,
    ) -> Annotated[CallToolResult, ExecutionResult]:
        """Run Python code in an isolated sandbox and return stdout, stderr, the last
        expression's value and, if it raised, the error with its traceback.

        No network and no access to the host's files; the working directory holds the files
        written with write_file. matplotlib figures come back as PNG images. A result with
        isError set means the code raised, exited non-zero or timed out: read the traceback,
        fix the code and run it again.
        """
        return await _call(lambda: _result(run(code, session_id, stdin, timeout)))

    @server.tool(annotations=ToolAnnotations(title="Write Python with a model",
                                             read_only_hint=True, open_world_hint=True))
    async def generate_python(
        prompt: Annotated[str, Field(description="What the program should do, in a sentence.")],
        verify: Annotated[bool, Field(
            description="Run the candidate in the sandbox and repair it until it runs cleanly "
            "(slower)."
        )] = False,
        session_id: Annotated[str | None, Field(
            description="Write the code as the next step of this session: the model sees its "
            "earlier code and results and may use its variables."
        )] = None,
    ) -> Annotated[CallToolResult, GenerationResult]:
        """Ask agentcode's configured model chain (by default a small local model) to write a
        Python program. Returns the code and the model that answered; the code is NOT run:
        pass it to execute_python.
        """
        def work() -> CallToolResult:
            if session_id is None:
                generation = agentcode.generate(prompt, verify=verify, model=model,
                                                settings=settings)
            else:
                with pool.use(session_id) as session:
                    generation = session.generate(prompt, verify=verify)
            return _result(generation_outcome(generation))

        return await _call(work)

    @server.tool(annotations=ToolAnnotations(title="Write a file into a session",
                                             destructive_hint=True, idempotent_hint=True,
                                             open_world_hint=False))
    async def write_file(
        session_id: SessionId,
        name: FileName,
        content: Annotated[str, Field(description="The file's text (or base64, see encoding).")],
        encoding: Annotated[Literal["utf-8", "base64"], Field(
            description="'base64' for binary content."
        )] = "utf-8",
    ) -> Annotated[CallToolResult, WrittenFile]:
        """Create or replace a file in the session's work dir, where the code can open it."""
        def work() -> CallToolResult:
            data = _decode(content, encoding)
            if len(data) > settings.max_input_bytes:
                raise UsageError(f"{name!r} is {len(data)} bytes, over the "
                                 f"{settings.max_input_bytes}-byte limit")
            with pool.use(session_id) as session:
                try:
                    session.write_files({name: data})
                except SandboxError as exc:  # e.g. a directory of that name, the disk full
                    raise UsageError(str(exc)) from exc
            return _result(ToolOutcome(WrittenFile(name=name, size=len(data))))

        return await _call(work)

    @server.tool(annotations=ToolAnnotations(title="Read a file from a session",
                                             read_only_hint=True, open_world_hint=False))
    async def read_file(session_id: SessionId,
                        name: FileName) -> Annotated[CallToolResult, FileContent]:
        """Read a file from the session's work dir: text as is, other bytes as base64."""
        def work() -> CallToolResult:
            with pool.use(session_id) as session:
                try:
                    data = session.sandbox.read_file(name)
                except SandboxError as exc:  # missing, a link, a directory: the caller's to fix
                    raise UsageError(f"{exc} (list_files shows what is there)") from exc
            if len(data) > READ_LIMIT:
                raise UsageError(f"{name!r} is {len(data)} bytes, more than a tool result "
                                 f"carries ({READ_LIMIT}): read a part of it with execute_python")
            try:
                file = FileContent(name=name, content=data.decode("utf-8"), encoding="utf-8",
                                   size=len(data))
            except UnicodeDecodeError:
                file = FileContent(name=name, content=base64.b64encode(data).decode("ascii"),
                                   encoding="base64", size=len(data))
            return _result(ToolOutcome(file))

        return await _call(work)

    @server.tool(annotations=ToolAnnotations(title="List a session's files",
                                             read_only_hint=True, open_world_hint=False))
    async def list_files(session_id: SessionId) -> Annotated[CallToolResult, FileList]:
        """List the files in the session's work dir (inputs and what the code wrote)."""
        def work() -> CallToolResult:
            with pool.use(session_id) as session:
                files = session.sandbox.list_files()
            return _result(ToolOutcome(FileList(files=sorted(files))))

        return await _call(work)

    return server


def _decode(content: str, encoding: str) -> bytes:
    if encoding == "utf-8":
        return content.encode("utf-8")
    try:
        return base64.b64decode(content, validate=True)
    except ValueError as exc:
        raise UsageError(f"content is not valid base64: {exc}") from exc


def serve_stdio(settings: Settings | None = None, *, max_sessions: int = 8) -> None:
    """Serve MCP over stdin/stdout until the client disconnects, SIGTERM, SIGHUP or SIGINT."""
    import os
    import signal

    settings = settings or agentcode.load_settings()
    pool = SessionPool(settings, limit=max_sessions)
    server = build_server(settings, pool=pool)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP,
                                                signal.SIGINT) as signals:
                    async for signum in signals:
                        # The SDK reads stdin in a thread that only EOF ends, so cancelling
                        # would wait for the client: close the sessions and leave now. A run
                        # still in progress dies with us (its jail has --die-with-parent).
                        pool.close_all()
                        os._exit(128 + signum)

            group.start_soon(stop_on_signal)
            await server.run_stdio_async()
            group.cancel_scope.cancel()

    anyio.run(main)
