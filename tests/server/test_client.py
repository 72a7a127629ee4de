"""`agentcode gen --server URL` / AGENTCODE_SERVER: generation by a running server."""

from __future__ import annotations

import json
import socket

from cli_runner import run_cli

from agentcode.testing import FailingModel, FakeModel, no_credentials
from server.conftest import TOKEN, StartServer

REPLY = "```python\nprint('from the server')\n```"


def test_gen_asks_the_server_and_prints_the_code(start_server: StartServer) -> None:
    model = FakeModel(REPLY)
    running = start_server(model)
    url = f"{running.base_url}/?token={TOKEN}"
    plain = run_cli(["gen", "--server", url, "say hello"])
    as_json = run_cli(["gen", "--json", "say hello again"], env={"AGENTCODE_SERVER": url})
    assert plain.exit_code == 0, plain.stderr
    assert plain.stdout == "print('from the server')\n"
    assert as_json.exit_code == 0, as_json.stderr
    generation = json.loads(as_json.stdout)
    assert generation["code"] == "print('from the server')\n"
    assert generation["model_id"] == "scripted" and generation["prompt"] == "say hello again"
    assert [call.prompt for call in model.calls] == ["say hello", "say hello again"]
    assert len(running.pool) == 0  # each gen's session is closed afterwards
    with running.client() as http:  # the server recorded them, once each
        prompts = [e["prompt"] for e in http.get("/v1/history").json()]
    assert prompts == ["say hello again", "say hello"]


def test_token_from_the_environment_and_a_wrong_one(start_server: StartServer) -> None:
    running = start_server(FakeModel(REPLY))
    good = run_cli(["gen", "--server", running.base_url, "hi"], env={"AGENTCODE_TOKEN": TOKEN})
    bad = run_cli(["gen", "--server", running.base_url, "hi"], env={"AGENTCODE_TOKEN": "nope"})
    assert good.exit_code == 0 and good.stdout == "print('from the server')\n"
    assert bad.exit_code == 2
    assert "refused the token" in bad.stderr and bad.stderr.count("\n") == 1


def test_failures_keep_their_exit_codes(start_server: StartServer) -> None:
    running = start_server(FailingModel(no_credentials()))
    url = f"{running.base_url}/?token={TOKEN}"
    no_model = run_cli(["gen", "--server", url, "hi"])
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = run_cli(["gen", "--server", f"http://127.0.0.1:{closed_port}", "hi"])
    local_only = run_cli(["gen", "--server", url, "--check", "True", "hi"])
    assert no_model.exit_code == 3 and "agentcode: error:" in no_model.stderr
    assert unreachable.exit_code == 3
    assert "cannot reach the agentcode server" in unreachable.stderr
    assert local_only.exit_code == 2 and "drop --server" in local_only.stderr


def test_the_reply_can_stream_from_the_server(start_server: StartServer) -> None:
    import pytest

    from agentcode.errors import ModelError
    from agentcode.server.client import ServerClient

    reply = "Sure:\n" + REPLY
    running = start_server(FakeModel(reply, chunk_size=4))
    tokens: list[str] = []
    with ServerClient(f"{running.base_url}/?token={TOKEN}") as client:
        generation = client.generate("stream it", on_token=tokens.append)
    assert len(tokens) > 5 and "".join(tokens) == reply
    assert generation.code == "print('from the server')\n" and generation.model_id == "scripted"
    assert len(running.pool) == 0

    failing = start_server(FailingModel(no_credentials()))
    with ServerClient(f"{failing.base_url}/?token={TOKEN}") as client, \
            pytest.raises(ModelError) as raised:
        client.generate("stream it", on_token=tokens.append)
    assert raised.value.exit_code == 3
