"""pydantic schemas of the JSON agentcode prints: one per result type.

``agentcode gen --json`` prints a `GenerationSchema`, ``agentcode run --json`` an
`ExecutionSchema`, ``agentcode history show --json`` a `HistoryEntrySchema` (``history list`` /
``search --json`` a list of them), ``agentcode doctor --json`` a `DoctorReportSchema`. The result
types themselves stay plain dataclasses (`agentcode.types`: `agentcode run` cannot pay pydantic's
import on its start-up path); these classes describe their ``to_dict()`` field for field, and a
test holds the two together. The HTTP and MCP servers reuse them as their response models;
``agentcode schema`` prints them as JSON Schema.

Importing this module imports pydantic (~40 ms): import it where JSON is validated or described,
never on the way to running code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Schema(BaseModel):
    # Exactly the fields agentcode prints: an unknown key is a mistake, not an extension.
    model_config = ConfigDict(extra="forbid")


class OutputSchema(_Schema):
    """One rich result, like a notebook cell's: the last expression's value, an object passed to
    display(), or a figure."""

    text: str | None = Field(None, description="Plain-text representation (repr).")
    html: str | None = Field(None, description="HTML representation, when the value has one.")
    png: str | None = Field(None, description="A PNG image, base64-encoded (matplotlib figures).")
    main: bool = Field(False, description="True for the value of the code's last expression.")
    jpeg: str | None = Field(None, description="A JPEG image, base64-encoded.")
    svg: str | None = Field(None, description="An SVG image (its text).")
    markdown: str | None = Field(None, description="Markdown, when the value has it.")
    name: str | None = Field(None, description="The work-dir path of an image the code saved.")


class ExecutionErrorSchema(_Schema):
    """An exception raised by the user's code: data, not a failure of agentcode."""

    name: str = Field(description="Exception class name, e.g. ValueError.")
    value: str = Field(description="str() of the exception.")
    traceback: str = Field("", description="The formatted traceback.")
    frame_locals: dict[str, str] = Field(
        default_factory=dict, description="Variables of the program's frame where it failed: "
        "name -> short repr (local sandbox only).")


class ExecutionSchema(_Schema):
    """What running a piece of code produced (``agentcode run --json``)."""

    stdout: str = Field("", description="Captured standard output (capped).")
    stderr: str = Field("", description="Captured standard error (capped).")
    stdout_dropped: int = Field(0, ge=0, description="Bytes of stdout over the cap, not kept.")
    stderr_dropped: int = Field(0, ge=0, description="Bytes of stderr over the cap, not kept.")
    outputs: list[OutputSchema] = Field(default_factory=list, description="Rich results.")
    error: ExecutionErrorSchema | None = Field(None, description="Set when the code raised.")
    exit_code: int = Field(
        0, description="As `python script.py` would exit: 0, 1 on an exception, n for exit(n)."
    )
    duration_ms: float = Field(0.0, ge=0, description="Wall-clock time of the execution.")
    backend: str = Field("", description="The sandbox that ran the code: local, agentcore, ...")
    session_id: str | None = Field(None, description="The agentcode session the code ran in "
                                   "(its id in the history, the server and MCP); null for a "
                                   "one-shot run.")
    artifacts: list[str] = Field(
        default_factory=list, description="Files the code left in its work dir (relative paths)."
    )
    skipped_files: list[str] = Field(
        default_factory=list,
        description="Files not copied out to --out, each as 'name: reason' (exists, a link in "
        "the way, a .git directory, over the copy-out budget, ...).",
    )
    files: list[str] = Field(
        default_factory=list,
        description="Work-dir files the code created or changed (relative paths), saved or not.",
    )


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
