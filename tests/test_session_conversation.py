"""Session as a conversation: generate sees earlier turns and results; state is shared; resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcode import Session
from agentcode.config import load_settings
from agentcode.errors import UsageError
from agentcode.store import open_store
from agentcode.testing import FakeCall, FakeModel, FunctionModel


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


def test_second_request_sees_first_code_output_and_runs_on_same_variables() -> None:
    calls: list[FakeCall] = []
    replies = iter([fenced("data = [3, 1, 2]\nprint(len(data))"), fenced("print(sorted(data))")])

    def model(call: FakeCall) -> str:
        calls.append(call)
        return next(replies)

    with Session(model=FunctionModel(model)) as s:
        first = s.generate("load the data")
        assert s.execute(first.code).stdout == "3\n"
        second = s.generate("sort it")
        result = s.execute(second.code)

    assert result.stdout == "[1, 2, 3]\n"  # the variable from the first turn survived
    seen = calls[1].messages
    assert seen[0]["content"][0]["text"] == "load the data"
    assert "data = [3, 1, 2]" in seen[1]["content"][0]["text"]
    last = seen[-1]["content"][0]["text"]
    assert "exit code 0" in last and "3" in last and last.endswith("sort it")
    assert "variables" in (calls[1].system_prompt or "")


def test_errors_reach_the_model() -> None:
    calls: list[FakeCall] = []

    def model(call: FakeCall) -> str:
        calls.append(call)
        # 1 / 0, not an undefined name: the static pre-flight would catch that before it ran.
        return fenced("print(1 / 0)") if len(calls) == 1 else fenced("print('fixed')")

    with Session(model=FunctionModel(model)) as s:
        s.execute(s.generate("do it").code)
        s.generate("fix the error")
    assert "ZeroDivisionError" in calls[1].prompt


def test_entries_are_tagged_and_resume_continues(agentcode_home: Path) -> None:
    with Session(model=FakeModel(fenced("total = 40 + 2\nprint(total)"))) as s:
        s.execute(s.generate("compute the total").code)
        first_id = s.id
        assert [e.kind for e in s.entries()] == ["gen", "run"]

    with open_store() as store:
        assert {e.session_id for e in store.list(limit=10)} == {first_id}
        assert store.list(limit=10)[-1].prompt == "compute the total"

    calls: list[FakeCall] = []

    def model(call: FakeCall) -> str:
        calls.append(call)
        return fenced("print(total * 2)")

    with Session.resume(first_id[:8], model=FunctionModel(model)) as resumed:
        assert resumed.id == first_id
        resumed.generate("double it")
    history_text = " ".join(
        block["text"] for m in calls[0].messages for block in m["content"] if "text" in block
    )
    assert "compute the total" in history_text and "42" in history_text

    with Session.resume(None, model=FunctionModel(model)) as latest:
        assert latest.id == first_id


def test_resume_unknown_session_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no session"):
        Session.resume("doesnotexist")


def test_reset_forgets_conversation_and_variables() -> None:
    with Session(model=FakeModel(fenced("x = 1"))) as s:
        s.execute(s.generate("set x").code)
        s.reset()
        assert s.conversation.turns == []
        result = s.execute("print(x)")
    assert result.error is not None and result.error.name == "NameError"


def test_no_history_setting_records_nothing() -> None:
    settings = load_settings(history=False)
    with Session(model=FakeModel(fenced("print(1)")), settings=settings) as s:
        s.execute(s.generate("one").code)
        assert s.entries() == []


def test_use_model_refuses_unknown_names() -> None:
    with Session() as s, pytest.raises(UsageError):
        s.use_model("nosuchprovider:thing")
