"""The same request with the same input meets the same checks through every front end: `gen`,
`agentcode.generate(...)`, ``POST /v1/sessions/{id}/generate``, the session's WebSocket and the
MCP ``generate_python`` tool. The library decides the run on known input, and the run with
empty stdin of a request that asks for output (`api.generation.known_input_options`), so none
of them has rules of its own.

First: the request names a file to write; the model first prints the count instead (the
output-file check fails it, and the repair is shown why), then writes the file. Second: no
input at all; the model first defines a function nobody calls (the no-input run sees nothing
printed, and the repair is shown why), then calls it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from cli_runner import run_cli
from mcp import Client
from sandbox.jail_helpers import small_settings

import agentcode
from agentcode.mcp.server import build_server
from agentcode.testing import FakeModel
from server.conftest import TOKEN, StartServer
from server.test_stream import exchange, open_stream

PROMPT = "save the number of words in notes.txt into count.txt"
NOTES = "one two three\nfour\n"
PRINTS = "print(len(open('notes.txt').read().split()))\n"
WRITES = ("n = len(open('notes.txt').read().split())\n"
          "open('count.txt', 'w').write(str(n))\nprint(n)\n")
REPAIR = "did not write count.txt, which the task asks for"


def scripted() -> FakeModel:
    return FakeModel([f"```python\n{PRINTS}```", f"```python\n{WRITES}```"])


def shown(model: FakeModel) -> tuple[int, str]:
    """How many requests the model got, and the repair it was shown."""
    return len(model.calls), model.calls[-1].prompt


def test_gen_generate_the_server_and_mcp_run_the_same_checks(
    start_server: StartServer, models: Callable[..., None], tmp_path: Path
) -> None:
    seen: dict[str, tuple[int, str]] = {}
    stages: dict[str, list[str | None]] = {}

    model = scripted()
    models(a=model)
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES)
    result = run_cli(["gen", PROMPT, "-m", "t:a", "--file", str(notes), "--json",
                      "--no-history"])
    assert result.exit_code == 0, result.stderr
    stages["gen"] = [r["stage"] for r in json.loads(result.stdout)["rounds"]]
    seen["gen"] = shown(model)

    model = scripted()
    generation = agentcode.generate(PROMPT, model=model, files={"notes.txt": NOTES.encode()},
                                    settings=agentcode.Settings(history=False))
    assert generation.verified and generation.code == WRITES
    stages["generate"] = [r.stage for r in generation.rounds]
    seen["generate"] = shown(model)

    model = scripted()
    running = start_server(model)
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        assert http.put(f"/v1/sessions/{session}/files/notes.txt",
                        content=NOTES.encode()).status_code < 300
        reply = http.post(f"/v1/sessions/{session}/generate", json={"prompt": PROMPT})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    assert body["verified"] is True and body["code"] == WRITES
    stages["server"] = [r["stage"] for r in body["rounds"]]
    seen["server"] = shown(model)

    model = scripted()
    server = build_server(small_settings(), model=model)

    async def scenario() -> dict[str, Any]:
        async with Client(server) as client:
            created = await client.call_tool("create_session", {})
            session_id = (created.structured_content or {})["session_id"]
            await client.call_tool("write_file", {"session_id": session_id, "name": "notes.txt",
                                                  "content": NOTES})
            done = await client.call_tool("generate_python",
                                          {"prompt": PROMPT, "session_id": session_id})
            assert not done.is_error
            return done.structured_content or {}

    data = anyio.run(scenario)
    assert data["verified"] is True and data["code"] == WRITES and data["repairs"] == 1
    seen["mcp"] = shown(model)

    assert stages == dict.fromkeys(("gen", "generate", "server"), ["output", None])
    for front_end, (requests, repair) in seen.items():
        assert requests == 2, front_end
        assert REPAIR in repair, front_end


FIB = "fibonacci numbers below 100"
UNCALLED = ("def fibonacci(limit):\n    a, b = 0, 1\n    while a < limit:\n        yield a\n"
            "        a, b = b, a + b\n")
CALLED = UNCALLED + "print(list(fibonacci(100)))\n"
PRINT_IT = "the request asks for a result: print it"


def test_a_request_for_output_with_no_input_is_run_once_through_every_front_end(
    start_server: StartServer, models: Callable[..., None]
) -> None:
    def fib_model() -> FakeModel:
        return FakeModel([f"```python\n{UNCALLED}```", f"```python\n{CALLED}```"])

    seen: dict[str, tuple[int, str]] = {}
    labels: dict[str, str] = {}

    model = fib_model()
    models(a=model)
    result = run_cli(["gen", FIB, "-m", "t:a", "--no-history"])
    assert result.exit_code == 0 and result.stdout == CALLED, result.stderr
    labels["gen"] = result.stderr.splitlines()[-1].removeprefix("agentcode: ")
    seen["gen"] = shown(model)

    model = fib_model()
    generation = agentcode.generate(FIB, model=model, settings=agentcode.Settings(history=False))
    assert generation.code == CALLED
    labels["generate"] = generation.label
    seen["generate"] = shown(model)

    model = fib_model()
    running = start_server(model)
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        reply = http.post(f"/v1/sessions/{session}/generate", json={"prompt": FIB})
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        assert body["code"] == CALLED and body["verified"] is True
        labels["server"] = f"{body['checked']} ({len(body['rounds'])} rounds)"
        seen["server"] = shown(model)
        stream_session = http.post("/v1/sessions").json()["id"]
    model.calls.clear()  # the same script again, from its first reply
    with open_stream(running, stream_session) as ws:
        events = exchange(ws, {"type": "generate", "prompt": FIB})
    streamed = events[-1]
    assert streamed["type"] == "result" and streamed["code"] == CALLED, streamed
    assert next(e for e in events if e["type"] == "started")["rounds"] > 1
    assert [e["passed"] for e in events if e["type"] == "round"] == [False, True]
    labels["websocket"] = f"{streamed['checked']} ({len(streamed['rounds'])} rounds)"
    assert streamed["label"] == "ran cleanly (no input), 2 rounds"
    seen["websocket"] = shown(model)
    model.calls.clear()
    remote = run_cli(["gen", "--server", f"{running.base_url}/?token={TOKEN}", FIB])
    assert remote.exit_code == 0 and remote.stdout == CALLED, remote.stderr
    labels["gen --server"] = remote.stderr.splitlines()[-1].removeprefix("agentcode: ")
    seen["gen --server"] = shown(model)

    for in_session in (True, False):
        model = fib_model()
        server = build_server(small_settings(), model=model)

        async def scenario(server: Any = server, in_session: bool = in_session
                           ) -> dict[str, Any]:
            async with Client(server) as client:
                arguments: dict[str, Any] = {"prompt": FIB}
                if in_session:
                    created = await client.call_tool("create_session", {})
                    arguments["session_id"] = (created.structured_content or {})["session_id"]
                done = await client.call_tool("generate_python", arguments)
                assert not done.is_error
                return done.structured_content or {}

        data = anyio.run(scenario)
        name = "mcp session" if in_session else "mcp"
        assert data["code"] == CALLED and data["verified"] is True and data["repairs"] == 1
        labels[name] = data["checked"]
        seen[name] = shown(model)

    assert set(labels.values()) == {"ran cleanly (no input) (2 rounds)"}, labels
    for front_end, (requests, repair) in seen.items():
        assert requests == 2, front_end
        assert PRINT_IT in repair, front_end


def test_a_program_that_reads_input_none_was_given_for_is_labelled_not_run(
    start_server: StartServer,
) -> None:
    reads = "name = input()\nprint(name.upper())\n"
    model = FakeModel(f"```python\n{reads}```")
    running = start_server(model)
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
    with open_stream(running, session) as ws:
        events = exchange(ws, {"type": "generate", "prompt": "print a name in capitals"})
    result = events[-1]
    assert result["code"] == reads and len(model.calls) == 1
    assert (result["checked"], result["label"], result["verified"]) == ("not run", "not run",
                                                                        False)
