"""The strands tool: a real strands Agent, a fake model that calls the tool, real jails."""

from __future__ import annotations

import gc
import json
from typing import Any

from sandbox.jail_helpers import small_settings
from strands import Agent

from agentcode.integrations.strands import AgentcodeInterpreter
from agentcode.testing import FakeCall, FakeModel, ToolCall


def _tool_results(call: FakeCall) -> list[dict[str, Any]]:
    """The tool results the agent sent back to the model in this call, newest last."""
    return [block["toolResult"] for message in call.messages if message["role"] == "user"
            for block in message["content"] if "toolResult" in block]


def _data(result: dict[str, Any]) -> dict[str, Any]:
    return json.loads(result["content"][0]["text"])


def test_an_agent_calls_the_tool_and_reads_its_result() -> None:
    model = FakeModel([
        ToolCall("execute_python", {"code": "x = 21"}),
        ToolCall("execute_python", {"code": "print(x * 2)"}),
        "x * 2 is 42.",
    ])
    interpreter = AgentcodeInterpreter(settings=small_settings())
    agent = Agent(model=model, tools=[interpreter], callback_handler=None)
    try:
        reply = agent("What is x * 2?")
    finally:
        interpreter.close()
    assert "42" in str(reply)
    assert model.calls[0].config["model_id"] == "fake"
    first, second = _tool_results(model.calls[2])
    assert first["status"] == "success"
    assert second["status"] == "success"
    assert _data(second)["stdout"] == "42\n"  # the variable survived: one session per agent


def test_errors_are_error_results_with_the_traceback_and_agents_do_not_share_state() -> None:
    interpreter = AgentcodeInterpreter(settings=small_settings())
    first = Agent(model=FakeModel([ToolCall("execute_python", {"code": "secret = 1"}), "ok"]),
                  tools=[interpreter], callback_handler=None)
    second_model = FakeModel([ToolCall("execute_python", {"code": "print(secret)"}), "no"])
    second = Agent(model=second_model, tools=[interpreter], callback_handler=None)
    try:
        first("set it")
        second("read it")
        assert interpreter.session_for(first).id != interpreter.session_for(second).id
    finally:
        interpreter.close()
    (result,) = _tool_results(second_model.calls[1])
    assert result["status"] == "error"
    error = _data(result)["error"]
    assert error["name"] == "NameError"
    assert "Traceback (most recent call last)" in error["traceback"]


def test_figures_are_images_and_a_timeout_is_an_error_result() -> None:
    interpreter = AgentcodeInterpreter(settings=small_settings())
    png_cell = ("class Figure:\n    def _repr_png_(self):\n"
                "        return b'\\x89PNG\\r\\n\\x1a\\n' + b'fake'\nFigure()")
    model = FakeModel([
        ToolCall("execute_python", {"code": png_cell}),
        ToolCall("execute_python", {"code": "while True:\n    pass", "timeout": 1}),
        "done",
    ])
    agent = Agent(model=model, tools=[interpreter], callback_handler=None)
    try:
        agent("plot, then loop")
    finally:
        interpreter.close()
    figure, timed_out = _tool_results(model.calls[2])
    assert figure["status"] == "success"
    assert figure["content"][1]["image"]["format"] == "png"
    assert figure["content"][1]["image"]["source"]["bytes"].startswith(b"\x89PNG")
    assert timed_out["status"] == "error"
    assert _data(timed_out)["timed_out"] is True
    assert _data(timed_out)["error"]["name"] == "TimeoutError"
    assert "while True" in _data(timed_out)["error"]["traceback"]


def test_the_session_closes_when_the_agent_is_cleaned_up_or_collected() -> None:
    interpreter = AgentcodeInterpreter(settings=small_settings())
    agent = Agent(model=FakeModel([ToolCall("execute_python", {"code": "1"}), "ok"]),
                  tools=[interpreter], callback_handler=None)
    agent("go")
    session = interpreter.session_for(agent)
    assert session._sandbox is not None
    agent.cleanup()  # strands tells the provider its consumer left
    assert session._sandbox is None

    other = AgentcodeInterpreter(settings=small_settings())
    collected = Agent(model=FakeModel([ToolCall("execute_python", {"code": "1"}), "ok"]),
                      tools=[other], callback_handler=None)
    collected("go")
    kept = other.session_for(collected)
    del collected
    gc.collect()
    assert kept._sandbox is None
