"""`openai:<model>` against a mocked OpenAI-compatible endpoint (respx), and a real refused port."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from openai_stream import sse

from agentcode.api.generation import generate
from agentcode.config import Settings, load_settings
from agentcode.errors import ModelError
from agentcode.models import registry
from agentcode.models.openai_chat import DEFAULT_BASE_URL, endpoint, openai_provider_status
from agentcode.models.router import RetryPolicy
from agentcode.testing import FakeModel

BASE = "http://llm.test/v1"
FAST = RetryPolicy(initial_delay=0, max_delay=0, jitter=0)
REPLY = "```python\nprint('hi')\n```"


@pytest.fixture(autouse=True)
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"openai_base_url": BASE, "history": False, **overrides}
    return Settings(**values)  # type: ignore[arg-type]


def error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "type": "x"}})


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def test_streams_a_reply_with_the_key_and_the_model(api: respx.MockRouter) -> None:
    route = api.post("/chat/completions").mock(return_value=sse(REPLY, piece=7))
    tokens: list[str] = []
    gen = generate("say hi", model="openai:qwen-coder", settings=settings(openai_api_key="k-1"),
                   on_token=tokens.append, policy=FAST)
    assert gen.code == "print('hi')\n" and gen.model_id == "openai:qwen-coder"
    assert len(tokens) > 1 and "".join(tokens) == REPLY  # streamed, chunk by chunk
    request = route.calls.last.request
    sent = json.loads(request.content)
    assert sent["model"] == "qwen-coder" and sent["stream"] is True
    assert request.headers["authorization"] == "Bearer k-1"
    assert sent["messages"][-1]["content"][0]["text"].startswith("say hi")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_retried(api: respx.MockRouter, status: int) -> None:
    route = api.post("/chat/completions").mock(
        side_effect=[error(status, "busy"), sse(REPLY, piece=7)]
    )
    gen = generate("say hi", model="openai:m", settings=settings(), policy=FAST)
    assert gen.code == "print('hi')\n" and route.call_count == 2
    (attempt,) = gen.attempts
    assert attempt.ok and attempt.retries == 1


@pytest.mark.parametrize(("status", "words"), [
    (401, "API key rejected"), (403, "access denied"), (404, "not found"),
])
def test_auth_and_missing_models_fall_back(api: respx.MockRouter, status: int,
                                           words: str) -> None:
    route = api.post("/chat/completions").mock(return_value=error(status, "nope"))
    backup = FakeModel(REPLY, model_id="backup")
    gen = generate("say hi", model=["openai:m", backup], settings=settings(), policy=FAST)
    assert gen.model_id == "FakeModel:backup" and route.call_count == 1  # not retried
    first = gen.attempts[0]
    assert first.model == "openai:m" and f"HTTP {status} {words}" in (first.error or "")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_falls_back_with_a_clear_reason() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    backup = FakeModel(REPLY, model_id="backup")
    gen = generate("say hi", model=["openai:m", backup], settings=settings(openai_base_url=url),
                   policy=FAST)
    assert gen.model_id == "FakeModel:backup"
    reason = gen.attempts[0].error or ""
    assert "connection refused" in reason and f"127.0.0.1:{url.split(':')[2]}" in reason
    assert "OPENAI_BASE_URL" in reason
    assert len(gen.attempts) == 2  # no retries of a server that is not there


def test_a_refused_connection_alone_is_a_model_error() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(ModelError, match="connection refused"):
        generate("say hi", model="openai:m", settings=settings(openai_base_url=url), policy=FAST)


def test_openai_without_a_key_is_unavailable_without_a_call() -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.route()
        with pytest.raises(ModelError, match="no OpenAI API key: set OPENAI_API_KEY"):
            generate("x", model="openai:gpt-4o-mini",
                     settings=Settings(history=False), policy=FAST)
        assert not route.called


def test_the_standard_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env.test/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    where = endpoint(Settings())
    assert (where.base_url, where.base_url_source) == ("http://env.test/v1", "OPENAI_BASE_URL")
    assert (where.api_key, where.api_key_source) == ("env-key", "OPENAI_API_KEY")
    with respx.mock(base_url="http://env.test/v1") as router:
        route = router.post("/chat/completions").mock(return_value=sse(REPLY, piece=7))
        generate("x", model="openai:m", settings=Settings(history=False), policy=FAST)
    assert route.calls.last.request.headers["authorization"] == "Bearer env-key"


def test_config_keys_win_over_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch, agentcode_home: Path
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env.test/v1")
    (agentcode_home / "config.toml").write_text(
        'openai_base_url = "http://localhost:11434/v1"\n', encoding="utf-8"
    )
    where = endpoint(load_settings())
    assert (where.base_url, where.base_url_source) == ("http://localhost:11434/v1",
                                                       "openai_base_url")
    assert where.api_key is None and not where.missing_key  # a server of one's own


def test_status_is_offline_and_names_the_fix() -> None:
    status = openai_provider_status(Settings())
    (row,) = status.rows
    assert not row.available and "set OPENAI_API_KEY" in row.detail
    assert status.info["base_url"] == DEFAULT_BASE_URL
    ready = openai_provider_status(settings())
    assert ready.rows[0].available and ready.info["base_url_source"] == "openai_base_url"


@pytest.mark.parametrize("name", ["openai", "openai:"])
def test_openai_needs_a_model_name(name: str) -> None:
    from agentcode.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a model name"):
        registry.candidates_for(name, Settings())
