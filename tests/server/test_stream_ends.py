"""Every way a WebSocket can end before or during the stream ends the endpoint quietly.

The endpoint is driven at the ASGI level (no server, no socket): the client's side is a script
of ASGI messages, and the server's send may fail as uvicorn's does when the peer is gone.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.websockets import WebSocket
from uvicorn.protocols.utils import ClientDisconnected

from agentcode.server import stream

SESSION = "0" * 32


class Pool:
    def get(self, session_id: str) -> object:
        return SimpleNamespace(attached=0, last_used=0.0)  # what the endpoint keeps up to date


def drive(incoming: list[dict[str, Any]], *, send_fails_on: str | None = None) -> list[str]:
    """Run the endpoint on ``incoming``; return the types of the messages it sent."""
    sent: list[str] = []
    queue = list(incoming)

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600)  # a client that says nothing more
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == send_fails_on:
            raise ClientDisconnected
        sent.append(message["type"])

    app = SimpleNamespace(state=SimpleNamespace(pool=Pool()))
    scope = {"type": "websocket", "path": f"/v1/sessions/{SESSION}/stream", "headers": [],
             "query_string": b"", "app": app}
    websocket = WebSocket(scope, receive, send)
    asyncio.run(asyncio.wait_for(stream.endpoint(websocket, SESSION), 10))
    return sent


def test_a_client_gone_before_the_handshake_is_no_error() -> None:
    assert drive([{"type": "websocket.disconnect", "code": 1006}]) == []


def test_an_accept_that_meets_a_closed_connection_is_no_error() -> None:
    connect = {"type": "websocket.connect"}
    assert drive([connect], send_fails_on="websocket.accept") == []


@pytest.mark.parametrize("fails_on", [None, "websocket.send"])
def test_a_client_gone_after_a_message_is_no_error(fails_on: str | None) -> None:
    sent = drive([{"type": "websocket.connect"},
                  {"type": "websocket.receive", "text": "not json"},
                  {"type": "websocket.disconnect", "code": 1001}], send_fails_on=fails_on)
    assert sent[0] == "websocket.accept"
    assert sent[1:] == ([] if fails_on else ["websocket.send"])
