"""The embedded model's HTTP side, against a faked llama.cpp server (respx, or a silent socket).

The model is built by `load_local_model` on a stub GGUF file; the in-process server registry is
given a "running" entry for that file, so no weights load and requests go to our fake URL.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException

from agentcode.config import Settings
from agentcode.errors import EXIT_NO_MODEL, ModelError, ModelUnavailableError
from agentcode.models import local_server
from agentcode.models.local import load_local_model
from agentcode.models.local_model import LocalLlamaModel
from agentcode.models.local_server import LlamaServer
from agentcode.models.sampling import Sampling, sampling_applied

BASE = "http://127.0.0.1:59999"
CHAT = BASE + "/v1/chat/completions"
USER = [{"role": "user", "content": [{"text": "print hello"}]}]


def sse(*events: Any, done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(e) if not isinstance(e, str) else e}\n\n" for e in events]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def delta(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


USAGE = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}


def model_at(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_timeout: float = 5.0,
    parallel: int = 1,
) -> LocalLlamaModel:
    gguf = tmp_path / "stub.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 60)
    running = LlamaServer(
        model_path=gguf, n_ctx=2048, n_threads=1, base_url=base_url, api_key="k3y", _server=object()
    )
    key = (str(gguf.resolve()), 2048, 1, parallel)
    monkeypatch.setitem(local_server._servers, key, running)
    return load_local_model(
        str(gguf), Settings(), n_ctx=2048, n_threads=1, max_tokens=64, read_timeout=read_timeout,
        n_parallel=parallel,
    )


def collect(model: LocalLlamaModel) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return [event async for event in model.stream(USER, system_prompt="be brief")]  # type: ignore[misc]

    return asyncio.run(run())


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    )


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalLlamaModel:
    return model_at(BASE, tmp_path, monkeypatch)


@respx.mock
def test_streams_text_usage_and_stop_reason(model: LocalLlamaModel):
    route = respx.post(CHAT).mock(
        return_value=httpx.Response(
            200,
            content=sse(delta("```python\n"), delta("print('hi')\n```", "stop"), USAGE),
            headers={"content-type": "text/event-stream"},
        )
    )
    events = collect(model)
    assert text_of(events) == "```python\nprint('hi')\n```"
    assert events[0] == {"messageStart": {"role": "assistant"}}
    assert {"messageStop": {"stopReason": "end_turn"}} in events
    usage = next(e["metadata"]["usage"] for e in events if "metadata" in e)
    assert usage == {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10}
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer k3y"
    body = json.loads(sent.content)
    assert body["stream"] is True and body["max_tokens"] == 64 and body["temperature"] == 0.0
    assert "tools" not in body
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert body["model"] == model.model_id == model.config["model_id"]


@respx.mock
def test_length_limit_is_reported_as_max_tokens(model: LocalLlamaModel):
    respx.post(CHAT).mock(return_value=httpx.Response(200, content=sse(delta("x", "length"))))
    assert {"messageStop": {"stopReason": "max_tokens"}} in collect(model)


@respx.mock
def test_a_damaged_line_is_skipped_but_the_rest_is_kept(model: LocalLlamaModel):
    body = sse(delta("a"), "{not json", delta("b", "stop"))
    respx.post(CHAT).mock(return_value=httpx.Response(200, content=body))
    assert text_of(collect(model)) == "ab"


@respx.mock
@pytest.mark.parametrize(
    "content", [b"<html>oops</html>", b"data: {broken\n\ndata: [[[\n\n", b'{"choices": []}']
)
def test_malformed_reply_raises_model_error(model: LocalLlamaModel, content: bytes):
    respx.post(CHAT).mock(return_value=httpx.Response(200, content=content))
    with pytest.raises(ModelError, match="malformed reply") as err:
        collect(model)
    assert err.value.exit_code == EXIT_NO_MODEL
    assert not isinstance(err.value, ModelUnavailableError)


@respx.mock
def test_http_500_raises_model_error_with_the_server_message(model: LocalLlamaModel):
    respx.post(CHAT).mock(
        return_value=httpx.Response(500, json={"error": {"message": "decode failed"}})
    )
    with pytest.raises(ModelError, match="HTTP 500: decode failed"):
        collect(model)


@respx.mock
@pytest.mark.parametrize("status", [503, 429])
def test_busy_server_raises_throttled(model: LocalLlamaModel, status: int):
    respx.post(CHAT).mock(return_value=httpx.Response(status, json={"error": {"message": "busy"}}))
    with pytest.raises(ModelThrottledException):
        collect(model)


@respx.mock
def test_prompt_too_long_raises_context_overflow(model: LocalLlamaModel):
    message = "the request exceeds the available context size, try increasing it"
    respx.post(CHAT).mock(return_value=httpx.Response(400, json={"error": {"message": message}}))
    with pytest.raises(ContextWindowOverflowException):
        collect(model)


@respx.mock
def test_works_inside_a_strands_agent_across_calls(model: LocalLlamaModel):
    from strands import Agent

    respx.post(CHAT).mock(
        side_effect=[
            httpx.Response(200, content=sse(delta("first", "stop"))),
            httpx.Response(200, content=sse(delta("second", "stop"))),
        ]
    )
    agent = Agent(model=model, callback_handler=None)
    assert str(agent("one")).strip() == "first"
    # strands runs each call on a new event loop: a pooled client from the first would break.
    assert str(agent("two")).strip() == "second"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that accepts and reads requests but never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_slow_reply_times_out_as_model_error(
    silent_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    model = model_at(silent_server, tmp_path, monkeypatch, read_timeout=0.5)
    with pytest.raises(ModelError, match="did not answer within 0.5 s") as err:
        collect(model)
    assert isinstance(err.value.__cause__, httpx.ReadTimeout)


def test_dead_server_raises_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there any more
    model = model_at(f"http://127.0.0.1:{port}", tmp_path, monkeypatch)
    with pytest.raises(ModelError, match="failed") as err:
        collect(model)
    assert isinstance(err.value.__cause__, httpx.ConnectError)


@respx.mock
def test_embedded_model_sends_sampling_on_the_wire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = respx.post(CHAT).mock(
        return_value=httpx.Response(
            200, content=sse(delta("```python\nprint(1)\n```", "stop"), USAGE)
        )
    )
    model = model_at(BASE, tmp_path, monkeypatch)

    async def sampled() -> None:
        with sampling_applied(model, Sampling(0.7, seed=42)):
            async for _ in model.stream([{"role": "user", "content": [{"text": "x"}]}]):
                pass

    asyncio.run(sampled())
    collect(model)
    first, second = (json.loads(call.request.content) for call in route.calls)
    assert (first["temperature"], first["seed"]) == (0.7, 42)
    assert second["temperature"] == 0.0 and "seed" not in second


# --- draw_many: several replies decoded together (llama.cpp's n_cmpl) ---------------------------


def choice(index: int, text: str) -> dict[str, Any]:
    return {"index": index, "message": {"role": "assistant", "content": text},
            "finish_reason": "stop"}


def draw(model: LocalLlamaModel, n: int, sampling: Sampling) -> Any:
    return asyncio.run(model.draw_many(USER, "be brief", n=n, sampling=sampling))  # type: ignore[arg-type]


@respx.mock
def test_draw_many_asks_for_n_completions_in_one_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    model = model_at(BASE, tmp_path, monkeypatch, parallel=4)
    route = respx.post(CHAT).mock(return_value=httpx.Response(200, json={
        "choices": [choice(2, "c"), choice(0, "a"), choice(1, "b")],
        "usage": {"prompt_tokens": 30, "completion_tokens": 12},
    }))
    draws = draw(model, 3, Sampling(0.7, seed=5))
    assert draws.texts == ["a", "b", "c"]  # in the server's index order, whatever the JSON order
    assert (draws.input_tokens, draws.output_tokens) == (30, 12)
    assert route.call_count == 1
    body = json.loads(route.calls.last.request.content)
    assert body["n_cmpl"] == 3 and body["stream"] is False
    assert (body["temperature"], body["seed"]) == (0.7, 5)
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert "tools" not in body and "stream_options" not in body
    assert route.calls.last.request.headers["Authorization"] == "Bearer k3y"
    assert model.get_config()["params"]["temperature"] == 0.0  # the model's own is untouched
    assert model.parallel == 4


@respx.mock
def test_draw_many_asks_no_more_at_once_than_the_server_has_slots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    model = model_at(BASE, tmp_path, monkeypatch, parallel=2)
    replies = iter([
        {"choices": [choice(0, "a"), choice(1, "b")], "usage": {"completion_tokens": 4}},
        {"choices": [choice(0, "c")], "usage": {"completion_tokens": 2}},
    ])
    route = respx.post(CHAT).mock(
        side_effect=lambda request: httpx.Response(200, json=next(replies)))
    draws = draw(model, 3, Sampling(0.7, seed=5))
    assert draws.texts == ["a", "b", "c"] and draws.output_tokens == 6
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert [(b["n_cmpl"], b["seed"]) for b in bodies] == [(2, 5), (1, 7)]


@respx.mock
@pytest.mark.parametrize("status", [429, 503])
def test_draw_many_on_a_busy_server_raises_throttled(model: LocalLlamaModel, status: int):
    respx.post(CHAT).mock(return_value=httpx.Response(status, json={"error": {"message": "busy"}}))
    with pytest.raises(ModelThrottledException):
        draw(model, 2, Sampling(0.7))


@respx.mock
@pytest.mark.parametrize("content", [b"not json", b'{"choices": "nope"}', b"{}",
                                     b'{"choices": []}'])
def test_draw_many_malformed_reply_raises_model_error(model: LocalLlamaModel, content: bytes):
    respx.post(CHAT).mock(return_value=httpx.Response(200, content=content))
    with pytest.raises(ModelError, match="malformed|no choices"):
        draw(model, 2, Sampling(0.7))


def test_draw_many_dead_server_raises_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = model_at(f"http://127.0.0.1:{port}", tmp_path, monkeypatch)
    with pytest.raises(ModelError, match="failed"):
        draw(dead, 2, Sampling(0.7))


def test_the_number_of_slots_comes_from_the_settings(tmp_path: Path) -> None:
    gguf = tmp_path / "stub.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 60)
    assert load_local_model(str(gguf), Settings()).parallel == Settings().local_parallel == 1
    assert load_local_model(str(gguf), Settings(local_parallel=3)).parallel == 3
    assert load_local_model(str(gguf), Settings(local_parallel=3), n_parallel=2).parallel == 2
    assert load_local_model(str(gguf), Settings(local_parallel=-2)).parallel == 1
