"""What a repair is shown of the failing frame's variables (generation.judge.frame_variables)."""

from __future__ import annotations

from agentcode.generation.judge import describe_failure, frame_variables
from agentcode.generation.pipeline import Stage
from agentcode.types import Execution, ExecutionError


def test_a_token_in_the_failing_frames_variables_is_redacted() -> None:
    error = ExecutionError("KeyError", "'x'", frame_locals={
        "key": "'AKIAABCDEFGHIJKLMNOP'", "row": "{'r': 'e'}"})
    shown = frame_variables(error) or ""
    assert "AKIAABCDEFGHIJKLMNOP" not in shown and "  row = {'r': 'e'}" in shown


def test_the_variables_are_bounded_and_can_be_left_out() -> None:
    many = {f"v{i}": "x" * 200 for i in range(30)}
    error = ExecutionError("ValueError", "bad", "Traceback ...\nValueError: bad\n", many)
    shown = frame_variables(error) or ""
    assert len(shown) <= 703 and "v0 = " in shown and "v9 = " not in shown
    failed = Execution(error=error, exit_code=1)
    assert "variables where it failed:" in describe_failure(Stage.RUN, failed)
    assert "variables where it failed:" not in describe_failure(Stage.RUN, failed,
                                                                variables=False)
    assert frame_variables(ExecutionError("E", "")) is None  # AgentCore: none reported
