"""``WS /v1/sessions/{id}/stream``: generate and execute with live output.

The client sends ``{"type": "generate", "prompt": ..., "verify"?: bool, "stdin"?: ...}`` or
``{"type": "execute", "code": ..., "stdin"?: ..., "timeout"?: ...}``, one at a time, and
``{"type": "stop"}`` to stop the one running (the model stops; running code is interrupted and
the session keeps its variables). The server first sends ``{"type": "started", "models",
"rounds", "files"}`` (``rounds``: how many verification rounds at most, 0 when the code is not
run), streams ``{"type": "token" | "stdout" | "stderr", "text": ...}`` as they happen (and
``{"type": "restart", "text": why}`` when streamed code is void because another call starts;
``{"type": "round", "index", "passed", "stage", "error"}`` after each verification round),
then ``{"type": "result", "kind": "generate" | "execute", ...}`` with the same body as the REST
call (an execution's also lists ``files``, those the code made or changed), or
``{"type": "error", "message": ..., "exit_code": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.websockets import (
    WebSocket,
    WebSocketDisconnect,
    WebSocketDisconnected,
    WebSocketState,
)

from agentcode.api.pool import SessionPool, UnknownSession
from agentcode.errors import EXIT_USAGE, AgentcodeError
from agentcode.server.errors import error_body
from agentcode.server.notebook import Turns, execute_turn, generate_turn, label
from agentcode.server.schemas import ExecuteRequest, GenerateRequest
from agentcode.types import DEFAULT_MAX_REPAIRS

if TYPE_CHECKING:
    from agentcode import Session
    from agentcode.types import RepairRound

Pool = SessionPool[Turns]  # the server keeps each session's turns (agentcode.server.notebook)

UNKNOWN_SESSION = 4404
# How a client that left shows: Starlette's WebSocketDisconnect (it said goodbye) or
# WebSocketDisconnected (used after it left), or the server's OSError (uvicorn's
# ClientDisconnected) when a send meets a closed connection.
ENDED = (WebSocketDisconnect, WebSocketDisconnected, OSError)


async def endpoint(websocket: WebSocket, session_id: str) -> None:
    # The token and Origin were checked before this (agentcode.server.auth.Gate).
    pool: Pool = websocket.app.state.pool
    try:
        await websocket.accept()
    except (*ENDED, RuntimeError):  # left before the handshake was answered: Starlette's
        return  # accept() then meets "websocket.disconnect" where it expects "connect"
    with contextlib.suppress(*ENDED):
        try:
            entry = pool.get(session_id)
        except UnknownSession as exc:
            await _send(websocket, _unknown(exc))
            await websocket.close(code=UNKNOWN_SESSION)
            return
        entry.attached += 1  # a page's session is kept while a WebSocket holds it
        try:
            await _serve(websocket, pool, session_id)
        finally:
            entry.attached -= 1
            entry.last_used = time.monotonic()  # its linger starts now


async def _serve(websocket: WebSocket, pool: Pool, session_id: str) -> None:
    """Read messages while an operation runs, so that ``{"type": "stop"}`` can reach it."""
    running: asyncio.Task[None] | None = None
    try:
        while True:
            text = await websocket.receive_text()
            try:
                message = json.loads(text)
            except ValueError:
                await _send(websocket, _usage("messages must be JSON objects"))
                continue
            kind = message.get("type") if isinstance(message, dict) else None
            busy = running is not None and not running.done()
            if kind == "stop":
                if busy:
                    _cancel(pool, session_id)
                continue  # nothing to stop: the result already went out
            if busy:
                await _send(websocket, _usage("one request at a time: wait for its result, or "
                                              "send {\"type\": \"stop\"}"))
                continue
            running = asyncio.create_task(_handle(websocket, pool, session_id, message))
    finally:
        if running is not None and not running.done():
            _cancel(pool, session_id)  # the client that asked is gone: stop its request
            with contextlib.suppress(*ENDED):
                await running


def _cancel(pool: Pool, session_id: str) -> None:
    with contextlib.suppress(UnknownSession):
        pool.get(session_id).session.cancel()


async def _handle(websocket: WebSocket, pool: Pool, session_id: str,
                  message: Any) -> None:
    kind = message.get("type") if isinstance(message, dict) else None
    fields = {k: v for k, v in message.items() if k != "type"} if kind else {}
    request: GenerateRequest | ExecuteRequest
    try:
        if kind == "generate":
            request = GenerateRequest.model_validate(fields)
        elif kind == "execute":
            request = ExecuteRequest.model_validate(fields)
        else:
            await _send(websocket, _usage("unknown message: send {\"type\": \"generate\", "
                                          "\"prompt\": ...}, {\"type\": \"execute\", "
                                          "\"code\": ...} or {\"type\": \"stop\"}"))
            return
    except ValidationError as exc:
        await _send(websocket, _usage(f"invalid {kind} message: {_first_error(exc)}"))
        return

    loop = asyncio.get_running_loop()
    events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def put(event: dict[str, Any]) -> None:
        # Called from the session's thread: hand each event to the event loop, in order.
        loop.call_soon_threadsafe(events.put_nowait, event)

    sender = asyncio.create_task(_forward(websocket, events))
    try:
        turns = pool.get(session_id).extra
        body = await pool.run(session_id, lambda session: perform(session, request, turns, put))
        reply = {"type": "result", "kind": kind, **body}
    except AgentcodeError as exc:  # an unknown session too (closed meanwhile)
        body = error_body(exc)
        reply = {"type": "error", "message": body.pop("detail"), **body}
    finally:
        events.put_nowait(None)
        await sender
    await _send(websocket, reply)


def perform(session: Session, request: GenerateRequest | ExecuteRequest, turns: Turns,
            put: Callable[[dict[str, Any]], None] | None = None, *,
            changed_files: bool = True) -> dict[str, Any]:
    """Run one request on the session's thread; its result, also kept as the session's turn.

    ``put`` gets the events as they happen (see the module docstring). A generation's result
    also has ``label`` (what was checked, in words); an execution's ``files`` (the files the
    code made or changed; [] without ``changed_files``: the REST call does not list them).
    """
    def send(event: dict[str, Any]) -> None:
        if put is not None:
            put(event)

    def emit(event: str) -> Callable[[str], None]:
        return lambda text: send({"type": event, "text": text})

    def on_round(repair: RepairRound, index: int) -> None:
        send({"type": "round", "index": index, "passed": repair.passed, "stage": repair.stage,
              "error": next(iter((repair.error or "").strip().splitlines()), "")})

    if isinstance(request, ExecuteRequest):
        send({"type": "started", "kind": "execute", "models": [], "rounds": 0, "files": []})
        execution = session.execute(request.code, stdin=request.stdin, timeout=request.timeout,
                                    on_stdout=emit("stdout"), on_stderr=emit("stderr"))
        body = {**execution.to_dict(),
                "files": _changed_files(session) if changed_files else []}
        turns.add(execute_turn(request.code, body))
        return body
    options = request.arguments(session)
    files = sorted(session.input_files())
    ran = bool(options.get("verify"))
    send({"type": "started", "kind": "generate", "models": session.model_names, "files": files,
          "rounds": options.get("max_repairs", DEFAULT_MAX_REPAIRS) + 1 if ran else 0})
    generation = session.generate(request.prompt, on_token=emit("token"),
                                  on_restart=emit("restart"), on_round=on_round, **options)
    body = generation.to_dict()
    body["label"] = label(body, ran=ran, files=bool(files), stdin=request.stdin is not None)
    turns.add(generate_turn(request.prompt, body))
    return body


def _changed_files(session: Session) -> list[str]:
    """The files the code made or changed so far (a sandbox that died has none)."""
    try:
        return session.changed_files()
    except AgentcodeError:
        return []


async def _forward(websocket: WebSocket, events: asyncio.Queue[dict[str, Any] | None]) -> None:
    """Send events until the None marker; a client that left only stops the sending."""
    while (event := await events.get()) is not None:
        await _send(websocket, event)


async def _send(websocket: WebSocket, event: dict[str, Any]) -> None:
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(*ENDED):
        await websocket.send_json(event)


def _usage(message: str) -> dict[str, Any]:
    return {"type": "error", "exit_code": EXIT_USAGE, "message": message}


def _unknown(exc: UnknownSession) -> dict[str, Any]:
    return {"type": "error", "exit_code": exc.exit_code, "message": str(exc)}


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))
