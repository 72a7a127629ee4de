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
from collections.abc import AsyncIterator, Awaitable
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
    Session,
    Settings,
    UsageError,
)
from agentcode.api.pool import SessionPool, Wording
from agentcode.api.tool_result import (
    ExecutionResult,
    GenerationResult,
    ToolOutcome,
    execution_outcome,
    generation_outcome,
    timeout_outcome,
)

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


async def _call(work: Awaitable[ToolOutcome]) -> CallToolResult:
    """The tool's result: bad input becomes an error result, our failures MCP errors."""
    try:
        return _result(await work)
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
                 pool: SessionPool[None] | None = None) -> MCPServer[Any]:
    """The MCP server for one client.

    ``model`` overrides the configured chain (a name, a list, a strands Model); ``pool`` is
    where its sessions live (by default a new one of ``max_sessions``), closed on disconnect.
    """
    if settings is None:
        settings = pool.settings if pool is not None else agentcode.load_settings()
    if pool is None:
        pool = new_pool(settings, max_sessions=max_sessions, model=model)
    sessions = pool

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[None]:
        sessions.keep_spare()
        try:
            yield None
        finally:  # the client disconnected (or the server is stopping): no jail outlives it
            with anyio.CancelScope(shield=True):
                await sessions.close_all(0)

    server: MCPServer[Any] = MCPServer(
        "agentcode", instructions=INSTRUCTIONS, version=agentcode.__version__,
        lifespan=lifespan, log_level="WARNING",
    )

    async def run(code: str, session_id: str | None, stdin: str | None,
                  timeout: float | None) -> ToolOutcome:
        for what, text in (("code", code), ("stdin", stdin or "")):
            if len(text.encode("utf-8")) > settings.max_input_bytes:
                raise UsageError(f"the {what} is over the {settings.max_input_bytes}-byte limit")

        def once(session: Session) -> ToolOutcome:  # a sandbox of its own, counted by the pool
            try:
                return execution_outcome(agentcode.execute(
                    code, sandbox=session.sandbox, settings=settings, stdin=stdin,
                    timeout=timeout))
            except ExecutionTimeoutError as exc:
                return timeout_outcome(exc)

        def in_session(session: Session) -> ToolOutcome:
            try:
                execution = session.execute(code, stdin=stdin, timeout=timeout)
            except ExecutionTimeoutError as exc:
                return timeout_outcome(exc)
            return execution_outcome(execution)

        if session_id is None:
            return await sessions.once(once)
        return await sessions.run(session_id, in_session)

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
        async def work() -> ToolOutcome:
            session = await sessions.create(sandbox=sandbox, start=True)
            backend = await sessions.run(session.id, lambda s: s.sandbox.backend)
            return ToolOutcome(SessionInfo(session_id=session.id, sandbox=backend))

        return await _call(work())

    @server.tool(annotations=ToolAnnotations(title="Close a sandbox session",
                                             destructive_hint=True, idempotent_hint=False,
                                             open_world_hint=False))
    async def close_session(session_id: SessionId) -> Annotated[CallToolResult, ClosedSession]:
        """Close a session: its sandbox stops and its variables and files are gone."""
        async def work() -> ToolOutcome:
            await sessions.delete(session_id)
            return ToolOutcome(ClosedSession(closed=session_id))

        return await _call(work())

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
        return await _call(run(code, session_id, stdin, timeout))

    @server.tool(annotations=ToolAnnotations(title="Write Python with a model",
                                             read_only_hint=True, open_world_hint=True))
    async def generate_python(
        prompt: Annotated[str, Field(description="What the program should do, in a sentence.")],
        verify: Annotated[bool | None, Field(
            description="Run the candidate in the sandbox and repair it until it runs cleanly "
            "(slower). Unset: as `agentcode gen` does, it runs once on the session's files, or "
            "with no input when the request asks for output; false: never."
        )] = None,
        session_id: Annotated[str | None, Field(
            description="Write the code as the next step of this session: the model sees its "
            "earlier code and results and may use its variables."
        )] = None,
    ) -> Annotated[CallToolResult, GenerationResult]:
        """Ask agentcode's configured model chain (by default a small local model) to write a
        Python program. Returns the code and the model that answered; the code is NOT run:
        pass it to execute_python.
        """
        def alone(session: Session | None) -> ToolOutcome:
            return generation_outcome(agentcode.generate(
                prompt, verify=verify, model=sessions.model, settings=settings,
                sandbox=None if session is None else session.sandbox))

        from agentcode.api.generation import known_input_options
        from agentcode.generation.checks.no_input import asks_for_output

        def in_session(session: Session) -> ToolOutcome:
            # The library's rule for known input, as `gen --file` and the HTTP server use it,
            # the run with empty stdin included (a program that reads the session's earlier
            # variables is not run: they are its input, `checks.no_input`).
            context, options = known_input_options({"verify": verify},
                                                   files=session.input_files(), stdin=None,
                                                   prompt=prompt)
            return generation_outcome(session.generate(prompt, context=context, **options))

        if session_id is not None:
            return await _call(sessions.run(session_id, in_session))
        if verify or verify is None and asks_for_output(prompt):
            # The candidates run in a sandbox: it counts against the limit.
            return await _call(sessions.once(alone))
        return await _call(anyio.to_thread.run_sync(alone, None))

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
        def write(session: Session, data: bytes) -> ToolOutcome:
            try:
                session.write_files({name: data})
            except SandboxError as exc:  # e.g. a directory of that name, the disk full
                raise UsageError(str(exc)) from exc
            return ToolOutcome(WrittenFile(name=name, size=len(data)))

        async def work() -> ToolOutcome:
            data = _decode(content, encoding)
            if len(data) > settings.max_input_bytes:
                raise UsageError(f"{name!r} is {len(data)} bytes, over the "
                                 f"{settings.max_input_bytes}-byte limit")
            return await sessions.run(session_id, lambda s: write(s, data))

        return await _call(work())

    @server.tool(annotations=ToolAnnotations(title="Read a file from a session",
                                             read_only_hint=True, open_world_hint=False))
    async def read_file(session_id: SessionId,
                        name: FileName) -> Annotated[CallToolResult, FileContent]:
        """Read a file from the session's work dir: text as is, other bytes as base64."""
        def read(session: Session) -> bytes:
            try:
                return session.sandbox.read_file(name)
            except SandboxError as exc:  # missing, a link, a directory: the caller's to fix
                raise UsageError(f"{exc} (list_files shows what is there)") from exc

        async def work() -> ToolOutcome:
            data = await sessions.run(session_id, read)
            if len(data) > READ_LIMIT:
                raise UsageError(f"{name!r} is {len(data)} bytes, more than a tool result "
                                 f"carries ({READ_LIMIT}): read a part of it with execute_python")
            try:
                file = FileContent(name=name, content=data.decode("utf-8"), encoding="utf-8",
                                   size=len(data))
            except UnicodeDecodeError:
                file = FileContent(name=name, content=base64.b64encode(data).decode("ascii"),
                                   encoding="base64", size=len(data))
            return ToolOutcome(file)

        return await _call(work())

    @server.tool(annotations=ToolAnnotations(title="List a session's files",
                                             read_only_hint=True, open_world_hint=False))
    async def list_files(session_id: SessionId) -> Annotated[CallToolResult, FileList]:
        """List the files in the session's work dir (inputs and what the code wrote)."""
        async def work() -> ToolOutcome:
            files = await sessions.run(session_id, lambda s: s.sandbox.list_files())
            return ToolOutcome(FileList(files=sorted(files)))

        return await _call(work())

    return server


def new_pool(settings: Settings, *, max_sessions: int,
             model: "ModelChoice | None" = None) -> SessionPool[None]:
    """The client's sessions: kept until closed or the client leaves (no idle reaping), and
    only the sandboxes a client may name (the configured one besides)."""
    return SessionPool(settings, extra=lambda: None, max_sessions=max_sessions, model=model,
                       sandboxes=("local", "agentcore"),
                       wording=Wording(create="create_session", close="close_session"))


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
    pool = new_pool(settings, max_sessions=max_sessions)
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
                        with anyio.CancelScope(shield=True):
                            await pool.close_all(0)
                        os._exit(128 + signum)

            group.start_soon(stop_on_signal)
            await server.run_stdio_async()
            group.cancel_scope.cancel()

    anyio.run(main)
