from __future__ import annotations

import json

from agentcode.types import Attempt, Execution, ExecutionError, Generation, Output, RepairRound


def test_execution_round_trips_through_json() -> None:
    execution = Execution(
        stdout="hi\n",
        outputs=[Output(text="42", main=True), Output(png="iVBOR")],
        error=ExecutionError(name="ValueError", value="bad", traceback="Traceback ..."),
        exit_code=1,
        backend="local",
    )
    again = Execution.from_dict(json.loads(execution.to_json()))
    assert again == execution
    assert again.text == "42"
    assert not again.ok
    assert again.outputs[1].formats() == ["png"]


def test_execution_ok_and_text_without_main_output() -> None:
    execution = Execution(stdout="x", outputs=[Output(png="p")])
    assert execution.ok
    assert execution.text is None
    assert not Execution(exit_code=3).ok


def test_generation_round_trip_and_repairs() -> None:
    gen = Generation(
        code="print(1)",
        model_id="m",
        attempts=[Attempt(model="a", error="throttled"), Attempt(model="m")],
        rounds=[RepairRound(code="x", model="m", passed=False, error="E"),
                RepairRound(code="print(1)", model="m", passed=True)],
    )
    again = Generation.from_dict(json.loads(gen.to_json()))
    assert again == gen
    assert again.repairs == 1
    assert [a.ok for a in again.attempts] == [False, True]


def test_from_dict_ignores_unknown_keys() -> None:
    assert Output.from_dict({"text": "a", "future_field": 1}) == Output(text="a")


def test_displayed_is_the_text_of_the_other_outputs_for_agents_too() -> None:
    from agentcode.api.tool_result import execution_outcome

    execution = Execution(outputs=[
        Output(text="df", html="<table/>"), Output(text="'note'", markdown="**note**"),
        Output(png="iVBORw==", name="chart.png"), Output(png="iVBORw=="),
        Output(text="42", main=True)])
    assert execution.displayed == ["df", "**note**"]  # figures and saved images have no text
    outcome = execution_outcome(execution)
    assert outcome.structured()["displayed"] == ["df", "**note**"]
    assert outcome.structured()["value"] == "42" and len(outcome.images) == 2
