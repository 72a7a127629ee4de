"""WS /v1/sessions/{id}/stream with a real WebSocket client."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from agentcode.testing import FakeModel
from server.conftest import TOKEN, RunningServer, StartServer

REPLY = "Here it is:\n```python\nfor i in range(3):\n    print(i)\n```\n"


def open_stream(running: RunningServer, session: str) -> ClientConnection:
    url = running.base_url.replace("http", "ws") + f"/v1/sessions/{session}/stream"
    return connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"})


def exchange(ws: ClientConnection, message: dict[str, Any]) -> list[dict[str, Any]]:
    """Send one request; return its events, each with the time it arrived, up to the last."""
    ws.send(json.dumps(message))
    events: list[dict[str, Any]] = []
    while not events or events[-1]["type"] not in ("result", "error"):
        event = json.loads(ws.recv(timeout=60))
        event["_at"] = time.monotonic()
        events.append(event)
    return events


def new_session(running: RunningServer) -> str:
    with running.client() as http:
        return str(http.post("/v1/sessions").json()["id"])


def test_execute_streams_output_as_it_is_printed(start_server: StartServer) -> None:
    running = start_server()
    session = new_session(running)
    with open_stream(running, session) as ws:
        events = exchange(ws, {"type": "execute", "code": (
            "import sys, time\nprint('ready', flush=True)\nprint('warn', file=sys.stderr, "
            "flush=True)\ntime.sleep(2)\nprint('done')\n6 * 7")})
    kinds = [e["type"] for e in events]
    result = events[-1]
    assert kinds[-1] == "result" and result["kind"] == "execute"
    assert "".join(e["text"] for e in events if e["type"] == "stdout") == "ready\ndone\n"
    assert "".join(e["text"] for e in events if e["type"] == "stderr") == "warn\n"
    assert result["stdout"] == "ready\ndone\n" and result["outputs"][0]["text"] == "42"
    first = next(e for e in events if e["type"] == "stdout")
    assert first["text"] == "ready\n"
    assert result["_at"] - first["_at"] > 1.0  # it came while the code was still sleeping


def test_generate_streams_tokens_then_the_generation(start_server: StartServer) -> None:
    model = FakeModel(REPLY, chunk_size=5)
    running = start_server(model)
    session = new_session(running)
    with open_stream(running, session) as ws:
        events = exchange(ws, {"type": "generate", "prompt": "count to three"})
        ran = exchange(ws, {"type": "execute", "code": events[-1]["code"]})
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert len(tokens) > 5 and "".join(tokens) == REPLY
    result = events[-1]
    assert result["type"] == "result" and result["kind"] == "generate"
    assert result["code"] == "for i in range(3):\n    print(i)\n"
    assert result["model_id"] == "scripted" and result["prompt"] == "count to three"
    assert ran[-1]["stdout"] == "0\n1\n2\n"


def test_errors_are_events_and_the_stream_stays_open(start_server: StartServer) -> None:
    running = start_server()
    session = new_session(running)
    with open_stream(running, session) as ws:
        ws.send("not json")
        garbled = json.loads(ws.recv(timeout=10))
        unknown = exchange(ws, {"type": "dance"})
        invalid = exchange(ws, {"type": "execute"})
        timeout = exchange(ws, {"type": "execute", "timeout": 2, "code":
                                "import time\nprint('began', flush=True)\ntime.sleep(20)"})
        still = exchange(ws, {"type": "execute", "code": "'alive'"})
    assert garbled["type"] == "error" and "JSON" in garbled["message"]
    assert unknown[-1]["type"] == "error" and unknown[-1]["exit_code"] == 2
    assert "generate" in unknown[-1]["message"]
    assert invalid[-1]["type"] == "error" and "code" in invalid[-1]["message"]
    assert timeout[-1]["type"] == "error" and timeout[-1]["exit_code"] == 124
    assert timeout[-1]["execution"]["stdout"] == "began\n"
    assert still[-1]["outputs"][0]["text"] == "'alive'"


def test_unknown_session_is_an_error_then_close(start_server: StartServer) -> None:
    running = start_server()
    with open_stream(running, "0" * 32) as ws:
        event = json.loads(ws.recv(timeout=10))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert event["type"] == "error" and "no open session" in event["message"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
