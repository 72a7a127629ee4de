"""Request size limits, enforced before the app sees a body (413 past the limit).

A declared ``Content-Length`` over the limit is refused at once; otherwise (a chunked body
declares nothing) the body is read here, at most the limit, and handed on. File uploads
(``PUT .../files/NAME``) get the upload limit, every other request the smaller request limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DISCARD_BYTES = 64 * 1024 * 1024  # past this, a refused body is cut off instead


class BodyLimit:
    def __init__(self, app: ASGIApp, *, request_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.request_bytes = request_bytes
        self.upload_bytes = upload_bytes

    def limit_for(self, scope: Scope) -> int:
        upload = scope["method"] == "PUT" and "/files/" in scope["path"]
        return self.upload_bytes if upload else self.request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _discard(receive, 0)
            await _refuse(send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if message.get("more_body", False):
                    await _discard(receive, size)
                await _refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, replaying(b"".join(chunks), receive), send)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` (already read) as one message, then ``receive``'s."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as Starlette does

    return replay


async def _discard(receive: Receive, size: int) -> None:
    """Read and drop the rest of a refused body (up to `DISCARD_BYTES`), so the client, still
    sending, reads the 413 rather than a reset connection."""
    while size < DISCARD_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body too large: the limit is {limit:,} bytes",
                       "exit_code": 2}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
