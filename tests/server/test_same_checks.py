"""The same request with the same input meets the same checks through every front end: `gen`,
`agentcode.generate(...)`, ``POST /v1/sessions/{id}/generate`` and the MCP ``generate_python``
tool. The library decides the run on known input (`api.generation.known_input_options`), so
none of them has rules of its own.

The request names a file to write; the model first prints the count instead (the output-file
check fails it, and the repair is shown why), then writes the file.
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
from server.conftest import StartServer

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
