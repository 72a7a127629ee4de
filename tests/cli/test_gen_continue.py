"""`agentcode gen -c` continues the last conversation; `--session ID` a chosen one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_runner import run_cli

from agentcode.models import registry
from agentcode.store import open_store
from agentcode.testing import FakeCall, FunctionModel


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeCall]]:
    calls: list[FakeCall] = []

    def reply(call: FakeCall) -> str:
        calls.append(call)
        return f"```python\nprint({len(calls)})\n```"

    monkeypatch.setattr(registry.PROVIDERS, "_registered", {})
    registry.register("t", lambda spec, _settings: FunctionModel(reply))  # type: ignore[arg-type, return-value]
    yield calls


def gen(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    result = run_cli(["gen", "-m", "t", *args], stdin="")
    return result.exit_code, result.stdout, result.stderr


def user_texts(call: FakeCall) -> list[str]:
    return [b["text"] for m in call.messages if m["role"] == "user" for b in m["content"]]


def test_continue_sees_the_previous_request_and_code(
    seen: list[FakeCall], capsys: pytest.CaptureFixture[str]
) -> None:
    assert gen(capsys, "load data.csv")[0] == 0
    assert gen(capsys, "something unrelated")[0] == 0  # a new conversation each time
    code, out, _ = gen(capsys, "-c", "now also plot it")
    assert code == 0 and out == "print(3)\n"
    third = seen[2]
    assert user_texts(third) == ["something unrelated", "now also plot it"]
    assert "print(2)" in third.messages[1]["content"][0]["text"]
    assert "complete program" in (third.system_prompt or "")

    with open_store() as store:
        entries = store.list(limit=10)
    sessions = {e.prompt: e.session_id for e in entries}
    assert sessions["now also plot it"] == sessions["something unrelated"]
    assert sessions["load data.csv"] != sessions["something unrelated"]


def test_session_option_picks_a_conversation(
    seen: list[FakeCall], capsys: pytest.CaptureFixture[str]
) -> None:
    gen(capsys, "first topic")
    gen(capsys, "second topic")
    with open_store() as store:
        first = next(e.session_id for e in store.list(limit=10) if e.prompt == "first topic")
    assert first is not None
    code, _, _ = gen(capsys, "--session", first[:10], "go on")
    assert code == 0
    assert user_texts(seen[2]) == ["first topic", "go on"]


def test_continue_with_empty_history_is_exit_2(
    seen: list[FakeCall], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = gen(capsys, "-c", "go on")
    assert code == 2 and out == ""
    assert "no conversation to continue" in err
    assert seen == []
