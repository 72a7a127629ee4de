"""``WS /v1/sessions/{id}/stream``: generate and execute with live output.

The client sends ``{"type": "generate", "prompt": ..., "verify"?: bool}`` or
``{"type": "execute", "code": ..., "stdin"?: ..., "timeout"?: ...}``, one at a time. The server
streams ``{"type": "token" | "stdout" | "stderr", "text": ...}`` as they happen (and
``{"type": "restart", "text": why}`` when streamed code is void because another call starts),
then ``{"type": "result", "kind": "generate" | "execute", ...}`` with the same body as the REST
call, or ``{"type": "error", "message": ..., "exit_code": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.websockets import (
    WebSocket,
    WebSocketDisconnect,
    WebSocketDisconnected,
    WebSocketState,
)

from agentcode.errors import EXIT_USAGE, AgentcodeError
from agentcode.server.errors import error_body
from agentcode.server.schemas import ExecuteRequest, GenerateRequest
from agentcode.server.sessions import UnknownSession

if TYPE_CHECKING:
    from agentcode import Session
    from agentcode.server.sessions import SessionPool

UNKNOWN_SESSION = 4404
# How a client that left shows: Starlette's WebSocketDisconnect (it said goodbye) or
# WebSocketDisconnected (used after it left), or the server's OSError (uvicorn's
# ClientDisconnected) when a send meets a closed connection.
ENDED = (WebSocketDisconnect, WebSocketDisconnected, OSError)


async def endpoint(websocket: WebSocket, session_id: str) -> None:
    # The token and Origin were checked before this (agentcode.server.auth.Gate).
    pool: SessionPool = websocket.app.state.pool
    try:
        await websocket.accept()
    except (*ENDED, RuntimeError):  # left before the handshake was answered: Starlette's
        return  # accept() then meets "websocket.disconnect" where it expects "connect"
    with contextlib.suppress(*ENDED):
        try:
            pool.get(session_id)
        except UnknownSession:
            await _send(websocket, _unknown(session_id))
            await websocket.close(code=UNKNOWN_SESSION)
            return
        while True:
            text = await websocket.receive_text()
            try:
                message = json.loads(text)
            except ValueError:
                await _send(websocket, {"type": "error", "exit_code": EXIT_USAGE,
                                        "message": "messages must be JSON objects"})
                continue
            await _handle(websocket, pool, session_id, message)


async def _handle(websocket: WebSocket, pool: SessionPool, session_id: str,
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
            await _send(websocket, {"type": "error", "exit_code": EXIT_USAGE,
                                    "message": "unknown message: send {\"type\": \"generate\", "
                                    "\"prompt\": ...} or {\"type\": \"execute\", \"code\": ...}"})
            return
    except ValidationError as exc:
        await _send(websocket, {"type": "error", "exit_code": EXIT_USAGE,
                                "message": f"invalid {kind} message: {_first_error(exc)}"})
        return

    loop = asyncio.get_running_loop()
    events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def emit(event: str) -> Callable[[str], None]:
        # Called from the session's thread: hand each chunk to the event loop, in order.
        def callback(text: str) -> None:
            loop.call_soon_threadsafe(events.put_nowait, {"type": event, "text": text})

        return callback

    def operation(session: Session) -> Any:
        if isinstance(request, GenerateRequest):
            return session.generate(request.prompt, on_token=emit("token"),
                                    on_restart=emit("restart"), **request.options())
        return session.execute(request.code, stdin=request.stdin, timeout=request.timeout,
                               on_stdout=emit("stdout"), on_stderr=emit("stderr"))

    sender = asyncio.create_task(_forward(websocket, events))
    try:
        result = await pool.run(session_id, operation)
        reply = {"type": "result", "kind": kind, **result.to_dict()}
    except AgentcodeError as exc:
        body = error_body(exc)
        reply = {"type": "error", "message": body.pop("detail"), **body}
    except UnknownSession:
        reply = _unknown(session_id)
    finally:
        events.put_nowait(None)
        await sender
    await _send(websocket, reply)


async def _forward(websocket: WebSocket, events: asyncio.Queue[dict[str, Any] | None]) -> None:
    """Send events until the None marker; a client that left only stops the sending."""
    while (event := await events.get()) is not None:
        await _send(websocket, event)


async def _send(websocket: WebSocket, event: dict[str, Any]) -> None:
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(*ENDED):
        await websocket.send_json(event)


def _unknown(session_id: str) -> dict[str, Any]:
    return {"type": "error", "exit_code": EXIT_USAGE,
            "message": f"no open session {session_id!r}: create one with POST /v1/sessions "
            "(idle sessions are closed)"}


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))
