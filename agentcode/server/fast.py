"""``POST /v1/sessions/{id}/execute`` without FastAPI's request machinery: the hot call of the API.

Under 20 concurrent clients every millisecond the event loop spends on a request is a
millisecond the other 19 wait (one loop, one GIL): FastAPI's routing, dependency solving and
body parsing cost ~0.4 ms of the ~0.6 ms the loop spent on an execute. This ASGI layer answers
a well-formed execute itself -- the body validated by the same `ExecuteRequest` model, the
same work (`execute_body`), the same error bodies -- and hands everything else, a body that
does not validate included, to the app unchanged (the route stays, for the OpenAPI document
and FastAPI's 422s). It sits inside the token gate and the body limit, like every route.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pydantic import ValidationError
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from agentcode.errors import AgentcodeError
from agentcode.server.errors import error_body, http_status
from agentcode.server.limits import replaying
from agentcode.server.schemas import ExecuteRequest

if TYPE_CHECKING:
    from agentcode import Session
    from agentcode.server.stream import Pool

_PREFIX = "/v1/sessions/"
_SUFFIX = "/execute"


async def execute_body(pool: Pool, session_id: str, request: ExecuteRequest) -> bytes:
    """Run the request in the session; the Execution as JSON, as ``run --json`` prints it."""
    from agentcode.server import stream

    turns = pool.get(session_id).extra

    def run(session: Session) -> bytes:
        # Encoded on the session's thread, not the event loop. "files" is the Execution's own
        # (none here), not the changed files the page's stream adds.
        body = stream.perform(session, request, turns, changed_files=False)
        return json.dumps({**body, "files": []}).encode()

    return await pool.run(session_id, run)


class FastExecute:
    """Answers ``POST /v1/sessions/{id}/execute`` with a JSON body that `ExecuteRequest`
    accepts; passes on everything else."""

    def __init__(self, app: ASGIApp, *, pool: Pool) -> None:
        self.app = app
        self.pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = _execute_path(scope)
        if session_id is None:
            await self.app(scope, receive, send)
            return
        body, replay = await _read_body(receive)
        if body is None:  # the client went away
            return
        try:
            request = ExecuteRequest.model_validate_json(body)
        except ValidationError:  # FastAPI words the 422
            await self.app(scope, replay, send)
            return
        response: Response
        try:
            response = Response(await execute_body(self.pool, session_id, request),
                                media_type="application/json")
        except AgentcodeError as exc:  # as the app's handler answers it
            response = JSONResponse(error_body(exc), status_code=http_status(exc))
        await response(scope, receive, send)


def _execute_path(scope: Scope) -> str | None:
    """The session id of an execute call with a JSON body, else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    session_id = path[len(_PREFIX):-len(_SUFFIX)]
    if not session_id or "/" in session_id:
        return None
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return session_id if kind == b"application/json" else None
    return None


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (the body limit already holds it in one message), and a receive that
    gives it again to whoever reads it next."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, receive
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, replaying(body, receive)
