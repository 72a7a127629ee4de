"""The pydantic schemas describe exactly the JSON that gen, run and history print."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pydantic
import pytest
from cli_runner import run_cli

from agentcode import types
from agentcode.api.schemas import (
    RESULT_SCHEMAS,
    AttemptSchema,
    ExecutionErrorSchema,
    ExecutionSchema,
    GenerationSchema,
    HistoryEntrySchema,
    OutputSchema,
    RepairRoundSchema,
)
from agentcode.cli.schema_cmd import ResultName

PAIRS: list[tuple[type, type[pydantic.BaseModel]]] = [
    (types.Output, OutputSchema),
    (types.ExecutionError, ExecutionErrorSchema),
    (types.Execution, ExecutionSchema),
    (types.Attempt, AttemptSchema),
    (types.RepairRound, RepairRoundSchema),
    (types.Generation, GenerationSchema),
    (types.HistoryEntry, HistoryEntrySchema),
]


@pytest.mark.parametrize(("result_type", "schema"), PAIRS)
def test_each_schema_has_the_fields_of_its_result_type(
    result_type: type, schema: type[pydantic.BaseModel]
) -> None:
    assert list(schema.model_fields) == [f.name for f in dataclasses.fields(result_type)]


def test_the_schema_command_takes_every_result_name() -> None:
    assert {name.value for name in ResultName} == set(RESULT_SCHEMAS)


def round_trips(schema: type[pydantic.BaseModel], printed: str) -> dict[str, Any]:
    """The printed JSON validates and dumps back to itself: no field lost, renamed or added."""
    parsed = schema.model_validate_json(printed)
    assert parsed.model_dump(mode="json") == json.loads(printed)
    return json.loads(printed)


def test_a_full_generation_round_trips() -> None:
    generation = types.Generation(
        code="print(1)\n", model_id="local:qwen", prompt="print one",
        attempts=[types.Attempt("bedrock", error="throttled", duration_ms=3.5, retries=2),
                  types.Attempt("local", duration_ms=1.0)],
        usage={"inputTokens": 10, "outputTokens": 4}, verified=True,
        rounds=[types.RepairRound("print(0)", "local", False, error="AssertionError",
                                  stage="tests", tests_failed=1, tests_total=2, temperature=0.7),
                types.RepairRound("print(1)\n", "local", True, kind="repair")],
        duration_ms=12.0,
    )
    round_trips(GenerationSchema, generation.to_json(indent=2))  # what `gen --json` writes


def test_run_json_validates(capsys: pytest.CaptureFixture[str]) -> None:
    code = "print('out')\nimport sys\nprint('err', file=sys.stderr)\n1/0\n"
    done = run_cli(["run", "--json", "-"], stdin=code)
    assert done.exit_code == 1
    data = round_trips(ExecutionSchema, done.stdout)
    assert data["error"]["name"] == "ZeroDivisionError"
    assert data["stdout"] == "out\n"

    done = run_cli(["run", "--json", "-"], stdin="x = 41\nx + 1\n")
    assert round_trips(ExecutionSchema, done.stdout)["outputs"][0]["text"] == "42"


def test_history_json_validates() -> None:
    assert run_cli(["run", "-"], stdin="print('hi')\n").exit_code == 0
    shown = run_cli(["history", "show", "1", "--json"])
    assert round_trips(HistoryEntrySchema, shown.stdout)["stdout"] == "hi\n"
    listed = run_cli(["history", "list", "--json"])
    entries = pydantic.TypeAdapter(list[HistoryEntrySchema]).validate_json(listed.stdout)
    assert [entry.kind for entry in entries] == ["run"]


@pytest.mark.parametrize(
    ("schema", "data"),
    [
        (ExecutionSchema, {"stdout": "", "colour": "blue"}),  # unknown key
        (ExecutionSchema, {"stdout_dropped": -1}),
        (ExecutionSchema, {"outputs": [{"text": 3}]}),
        (GenerationSchema, {"model_id": "m"}),  # no code
        (HistoryEntrySchema, {"id": 1, "kind": "run"}),  # no created_at
    ],
)
def test_wrong_json_is_refused(schema: type[pydantic.BaseModel], data: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        schema.model_validate(data)


def test_schema_command_prints_json_schema() -> None:
    done = run_cli(["schema", "execution"])
    assert done.exit_code == 0
    document = json.loads(done.stdout)
    assert document == ExecutionSchema.model_json_schema()
    assert document["additionalProperties"] is False
    assert "stdout" in document["properties"]

    everything = json.loads(run_cli(["schema"]).stdout)
    assert set(everything) == set(RESULT_SCHEMAS)
    assert everything["history-entry"]["title"] == "HistoryEntrySchema"


def test_schema_command_refuses_an_unknown_name() -> None:
    done = run_cli(["schema", "nope"])
    assert done.exit_code == 2
    assert done.stdout == ""


def test_the_execution_is_defined_once_and_its_schemas_are_read_off_it() -> None:
    # agentcode.types.Execution's fields carry their descriptions; the run --json schema and
    # the agent's tool result take them from there rather than saying them again.
    from agentcode.api.tool_result import ErrorInfo, ExecutionResult

    for result_type, schema in PAIRS[:3]:
        for spec in dataclasses.fields(result_type):
            assert schema.model_fields[spec.name].description == spec.metadata["doc"]
    shared = set(ExecutionResult.model_fields) & set(ExecutionSchema.model_fields)
    assert shared >= {"stdout", "stderr", "exit_code", "duration_ms", "session_id"}
    for name in shared - {"error"}:
        assert (ExecutionResult.model_fields[name].description
                == ExecutionSchema.model_fields[name].description)
    assert set(ErrorInfo.model_fields) == {"name", "value", "traceback"}
