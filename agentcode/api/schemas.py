"""pydantic schemas of the JSON agentcode prints: one per result type.

``agentcode gen --json`` prints a `GenerationSchema`, ``agentcode run --json`` an
`ExecutionSchema`, ``agentcode history show --json`` a `HistoryEntrySchema` (``history list`` /
``search --json`` a list of them), ``agentcode doctor --json`` a `DoctorReportSchema`. The result
types themselves stay plain dataclasses (`agentcode.types`: `agentcode run` cannot pay pydantic's
import on its start-up path). The schemas of `Execution` and its parts are derived from those
dataclasses (`derived`: their fields carry the descriptions); the others describe their
``to_dict()`` field for field, and a test holds the two together. The HTTP and MCP servers
reuse them as their response models; ``agentcode schema`` prints them as JSON Schema.

Importing this module imports pydantic (~40 ms): import it where JSON is validated or described,
never on the way to running code.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from agentcode import types as results


class _Schema(BaseModel):
    # Exactly the fields agentcode prints: an unknown key is a mistake, not an extension.
    model_config = ConfigDict(extra="forbid")


def derived(cls: type, nested: Mapping[type, type[BaseModel]]) -> type[_Schema]:
    """The schema of a result dataclass, read off its fields: types, defaults, descriptions and
    bounds (`agentcode.types.doc`), with the dataclasses in ``nested`` swapped for their
    schemas. The result types stay the one definition; nothing here repeats them."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        extra: dict[str, Any] = {"description": spec.metadata.get("doc")}
        if "ge" in spec.metadata:
            extra["ge"] = spec.metadata["ge"]
        if spec.default is not dataclasses.MISSING:
            extra["default"] = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            extra["default_factory"] = spec.default_factory
        fields[spec.name] = (_swap(hints[spec.name], nested), Field(**extra))
    schema: type[_Schema] = pydantic.create_model(  # type: ignore[call-overload]
        f"{cls.__name__}Schema", __base__=_Schema, __doc__=cls.__doc__, **fields)
    return schema


def _swap(annotation: Any, nested: Mapping[type, type[BaseModel]]) -> Any:
    if annotation in nested:
        return nested[annotation]
    args = typing.get_args(annotation)
    if not args:
        return annotation
    swapped = tuple(_swap(arg, nested) for arg in args)
    if isinstance(annotation, types.UnionType):
        return functools.reduce(operator.or_, swapped)
    return typing.get_origin(annotation)[swapped]


OutputSchema = derived(results.Output, {})
ExecutionErrorSchema = derived(results.ExecutionError, {})
ExecutionSchema = derived(results.Execution, {results.Output: OutputSchema,
                                              results.ExecutionError: ExecutionErrorSchema})


class AttemptSchema(_Schema):
    """One call to one model: who answered (or not) and why."""

    model: str = Field(description="The model name, e.g. local:qwen2.5-coder-1.5b.")
    error: str | None = Field(None, description="Why this model gave no code (None: it did).")
    duration_ms: float = Field(0.0, ge=0)
    retries: int = Field(0, ge=0, description="Retries of this model on transient errors.")


class RepairRoundSchema(_Schema):
    """One round of verified generation (``gen --verify``)."""

    code: str = Field(description="The candidate (empty when the reply had no usable code).")
    model: str = Field(description="The model that wrote it.")
    passed: bool
    error: str | None = Field(None, description="What failed, in one or a few lines.")
    stage: str | None = Field(
        None, description="Where it failed: preflight, setup, run, output, tests, check or model."
    )
    tests_failed: int | None = Field(None, ge=0)
    tests_total: int | None = Field(None, ge=0)
    temperature: float | None = Field(None, description="Sampling temperature of the round.")
    kind: str = Field("first", description="first, repair (shown the failure) or resample.")


class GenerationSchema(_Schema):
    """The code a model wrote for a prompt, and how it got there (``agentcode gen --json``)."""

    code: str
    model_id: str = Field(description="The model that answered.")
    language: str = "python"
    prompt: str = ""
    attempts: list[AttemptSchema] = Field(default_factory=list, description="Every model call.")
    usage: dict[str, int] = Field(default_factory=dict, description="Token counts.")
    verified: bool = Field(False, description="The code passed verification (--verify).")
    rounds: list[RepairRoundSchema] = Field(default_factory=list, description="--verify rounds.")
    duration_ms: float = Field(0.0, ge=0)
    checked: str = Field("not run", description="What the code went through: tests passed, ran "
                         "cleanly on the given input, ran cleanly (no input), not run, or a "
                         "failed form (failed the tests, failed on the given input, failed (no "
                         "input)).")


class HistoryEntrySchema(_Schema):
    """One recorded `gen` or `run` (``agentcode history show --json``)."""

    id: int
    kind: str = Field(description="gen or run.")
    created_at: str = Field(description="ISO 8601 time, UTC.")
    session_id: str | None = None
    prompt: str | None = None
    code: str | None = None
    model: str | None = None
    attempts: list[AttemptSchema] = Field(default_factory=list)
    stdout: str | None = None
    stderr: str | None = None
    exit_code: int | None = None
    duration_ms: float | None = None
    error: str | None = Field(None, description="Exception name when the code raised.")
    backend: str | None = None
    language: str | None = None
    verified: bool | None = Field(None, description="gen only: the code passed verification.")
    checked: str | None = Field(None, description="gen only: what the code went through and "
                                "in how many rounds (e.g. 'tests passed (2 rounds)').")
    stdout_dropped: int = Field(0, ge=0)
    stderr_dropped: int = Field(0, ge=0)
    code_dropped: int = Field(0, ge=0, description="Bytes of code over the store's cap.")


class DoctorCheckSchema(_Schema):
    """One line of `agentcode doctor`."""

    name: str = Field(description="What was checked, e.g. bubblewrap, aws region.")
    status: Literal["ok", "warn", "fail"] = Field(
        description="warn: optional and missing; fail: something the configuration uses is broken."
    )
    detail: str = Field(description="What was found.")
    fix: str = Field("", description="What to do, when the status is not ok.")


class DoctorReportSchema(_Schema):
    """What ``agentcode doctor --json`` prints."""

    ok: bool = Field(description="No check failed (the exit status is 0).")
    checks: list[DoctorCheckSchema]


# The names `agentcode schema NAME` takes.
RESULT_SCHEMAS: dict[str, type[BaseModel]] = {
    "generation": GenerationSchema,
    "execution": ExecutionSchema,
    "history-entry": HistoryEntrySchema,
    "doctor": DoctorReportSchema,
}


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one result type (a key of `RESULT_SCHEMAS`)."""
    return RESULT_SCHEMAS[name].model_json_schema()
