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


def test_stop_interrupts_running_code_and_the_session_keeps_its_variables(
    start_server: StartServer,
) -> None:
    running = start_server()
    session = new_session(running)
    with open_stream(running, session) as ws:
        exchange(ws, {"type": "execute", "code": "x = 41"})
        ws.send(json.dumps({"type": "execute", "code":
                            "import time\nprint('go', flush=True)\ntime.sleep(60)"}))
        events = [json.loads(ws.recv(timeout=30))]
        while events[-1]["type"] != "stdout":
            events.append(json.loads(ws.recv(timeout=30)))
        busy = exchange(ws, {"type": "generate", "prompt": "anything"})  # one at a time
        stopped_at = time.monotonic()
        ws.send(json.dumps({"type": "stop"}))
        while events[-1]["type"] not in ("result", "error"):
            events.append(json.loads(ws.recv(timeout=30)))
        after = exchange(ws, {"type": "execute", "code": "x + 1"})
    assert events[0] == {"type": "started", "kind": "execute", "models": [], "rounds": 0,
                         "files": []}
    assert busy[-1]["type"] == "error" and "one request at a time" in busy[-1]["message"]
    assert time.monotonic() - stopped_at < 10
    result = events[-1]
    assert result["type"] == "result" and result["error"]["name"] == "KeyboardInterrupt"
    assert after[-1]["outputs"][0]["text"] == "42"


def test_stop_ends_a_generation_while_the_model_writes(start_server: StartServer) -> None:
    model = FakeModel("```python\n" + "print(1)\n" * 400 + "```", chunk_size=4, delay=0.02)
    running = start_server(model)
    session = new_session(running)
    with open_stream(running, session) as ws:
        ws.send(json.dumps({"type": "generate", "prompt": "print many ones"}))
        events = [json.loads(ws.recv(timeout=30))]
        while events[-1]["type"] != "token":
            events.append(json.loads(ws.recv(timeout=30)))
        ws.send(json.dumps({"type": "stop"}))
        while events[-1]["type"] not in ("result", "error"):
            events.append(json.loads(ws.recv(timeout=30)))
    assert events[-1]["type"] == "error" and events[-1]["exit_code"] == 130
    assert "stopped" in events[-1]["message"]
    assert len([e for e in events if e["type"] == "token"]) < 200  # it did not write it all


def test_files_put_in_the_session_are_the_known_input(start_server: StartServer) -> None:
    # As `gen --file`: the model sees the file's name and first lines, and the candidate runs
    # on it once (a crash is repaired).
    model = FakeModel([
        "```python\nimport csv\nrows = list(csv.DictReader(open('sale.csv')))\n```",
        "```python\nimport csv\nrows = list(csv.DictReader(open('sales.csv')))\n"
        "print(sum(int(r['amount']) for r in rows))\n```"])
    running = start_server(model)
    session = new_session(running)
    with running.client() as http:
        http.put(f"/v1/sessions/{session}/files/sales.csv", content=b"region,amount\nn,3\ns,4\n")
    with open_stream(running, session) as ws:
        events = exchange(ws, {"type": "generate", "prompt": "sum the amounts"})
    started = events[0]
    assert started["type"] == "started" and started["files"] == ["sales.csv"]
    assert started["rounds"] == 3 and started["models"] == ["scripted"]
    rounds = [e for e in events if e["type"] == "round"]
    assert [(r["index"], r["passed"]) for r in rounds] == [(0, False), (1, True)]
    assert "FileNotFoundError" in rounds[0]["error"]
    assert events[-1]["verified"] is True and "sales.csv" in events[-1]["code"]
    first = model.calls[0].prompt
    assert "the file sales.csv" in first and "region,amount" in first


def test_a_client_that_leaves_stops_its_request(start_server: StartServer) -> None:
    running = start_server()
    session = new_session(running)
    with open_stream(running, session) as ws:
        exchange(ws, {"type": "execute", "code": "kept = 'yes'"})
        ws.send(json.dumps({"type": "execute", "code":
                            "import time\nprint('go', flush=True)\ntime.sleep(60)"}))
        while json.loads(ws.recv(timeout=30))["type"] != "stdout":
            pass
    left = time.monotonic()
    with open_stream(running, session) as ws:  # the session is free again, its state kept
        after = exchange(ws, {"type": "execute", "code": "kept"})
    assert time.monotonic() - left < 15
    assert after[-1]["outputs"][0]["text"] == "'yes'"
