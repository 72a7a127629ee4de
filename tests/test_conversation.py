from __future__ import annotations

from agentcode.generation.conversation import Conversation, describe_execution
from agentcode.types import Execution, ExecutionError, Output


def texts(messages: list[dict]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"][0]["text"]) for m in messages]


def test_turns_become_alternating_messages_with_results_folded_in() -> None:
    conv = Conversation()
    conv.add_turn("load data", "data = [1, 2, 3]")
    conv.add_run("data = [1, 2, 3]", "exit code 0")
    history, request = conv.messages("plot it")
    assert texts(history) == [
        ("user", "load data"),
        ("assistant", "```python\ndata = [1, 2, 3]\n```"),
    ]
    assert request.startswith("I ran that code. Result:\nexit code 0")
    assert request.endswith("plot it")


def test_code_the_user_ran_is_shown_to_the_model() -> None:
    conv = Conversation()
    conv.add_run("x = 41", "exit code 0")
    _, request = conv.messages("print x plus one")
    assert "I also ran this code myself:\n```python\nx = 41\n```" in request
    conv.add_turn("print x plus one", "print(x + 1)")
    history, _ = conv.messages("next")
    assert "x = 41" in history[0]["content"][0]["text"]


def test_oldest_turns_are_trimmed_to_the_budget() -> None:
    conv = Conversation(budget_chars=300)
    for i in range(10):
        conv.add_turn(f"request {i}", f"value_{i} = {i}" + " " * 40)
    history, _ = conv.messages("last")
    prompts = [m["content"][0]["text"] for m in history if m["role"] == "user"]
    assert prompts[-1] == "request 9"
    assert "request 0" not in prompts
    assert 0 < len(prompts) < 10


def test_describe_execution_reports_error_and_value() -> None:
    failed = Execution(
        stdout="partial\n",
        error=ExecutionError("KeyError", "'b'", "Traceback...\nKeyError: 'b'"),
        exit_code=1,
    )
    text = describe_execution(failed)
    assert "exit code 1" in text and "partial" in text and "KeyError: 'b'" in text
    ok = Execution(outputs=[Output(text="42", main=True)])
    assert "value: 42" in describe_execution(ok)


def test_long_output_keeps_its_tail() -> None:
    text = describe_execution(Execution(stdout="a" * 5000 + "END"))
    assert text.endswith("END") and len(text) < 1200
