"""What a code-interpreter tool hands an agent: one shape for the MCP server and the strands tool.

An agent reads a result as JSON text (every client understands text) plus the figures as
images. `ExecutionResult` is that JSON, described field by field because its schema is shown to
the model (MCP ``outputSchema``); `ToolOutcome` adds the PNGs and whether it is an error result.
The code's own failures and timeouts are results the agent can act on (``is_error``), never
exceptions: those are kept for failures of agentcode itself.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, create_model

from agentcode.api.schemas import ExecutionErrorSchema, ExecutionSchema

if TYPE_CHECKING:
    from agentcode.errors import ExecutionTimeoutError
    from agentcode.types import Execution, Generation


def _from_execution(schema: type[BaseModel], *names: str) -> dict[str, Any]:
    """Fields an agent's result shows as they are, each as `agentcode.types` defines it once."""
    return {name: (schema.model_fields[name].annotation, schema.model_fields[name])
            for name in names}


# An exception raised by the code (or the timeout that stopped it: then ``name`` is
# 'TimeoutError' and the traceback shows where it was stopped).
ErrorInfo: type[BaseModel] = create_model(
    "ErrorInfo", __doc__="An exception raised by the code (or the timeout that stopped it).",
    **_from_execution(ExecutionErrorSchema, "name", "value", "traceback"))


class _RunView(BaseModel):
    """What running the code did, like a notebook cell."""

    value: str | None = Field(default=None, description="repr() of the last line's value when "
                              "the last line is a bare expression, as in a notebook.")
    displayed: list[str] = Field(default_factory=list, description="What the code passed to "
                                 "display(), as in a notebook: each object's Markdown or text "
                                 "(its images follow as image content).")
    error: ErrorInfo | None = Field(  # type: ignore[valid-type]
        default=None, description="Set when the code raised or timed out; null when it ran to "
        "the end.")
    timed_out: bool = Field(default=False, description="The code ran past its time limit.")
    state_lost: bool = Field(default=False, description="The session had to be restarted: its "
                             "variables and files are gone.")
    figures: int = Field(default=0, description="How many images (matplotlib figures, PNG "
                         "values) follow this result as image content.")


# The rest of the result is the Execution's own fields, defined once (`agentcode.types`).
ExecutionResult: type[BaseModel] = create_model(
    "ExecutionResult", __base__=_RunView, __doc__=_RunView.__doc__,
    **_from_execution(ExecutionSchema, "stdout", "stderr", "exit_code", "stdout_dropped",
                      "stderr_dropped", "duration_ms", "session_id"))


class GenerationResult(BaseModel):
    """Code a model wrote for a request (not run)."""

    code: str = Field(description="The Python program.")
    model: str = Field(description="The model that answered.")
    verified: bool = Field(default=False, description="With verify: the code ran (and passed) "
                           "in the sandbox before it was returned.")
    repairs: int = Field(default=0, description="Repair rounds spent when verifying.")
    checked: str = Field(default="not run", description="What the code went through: 'tests "
                         "passed', 'ran cleanly on the given input', 'ran cleanly (no input)', "
                         "'not run', or a failed form; with the rounds it took.")
    attempts: list[str] = Field(default_factory=list, description="Models tried before one "
                                "answered, with why each failed.")


@dataclass(slots=True)
class ToolOutcome:
    """One tool call's answer: ``data`` (as JSON text and structured content) and PNG images."""

    data: BaseModel
    images: list[bytes] = field(default_factory=list)
    is_error: bool = False

    def text(self) -> str:
        return self.data.model_dump_json(indent=1)

    def structured(self) -> dict[str, object]:
        return self.data.model_dump(mode="json")


def _pngs(execution: Execution) -> list[bytes]:
    return [base64.b64decode(out.png) for out in execution.outputs if out.png]


def execution_outcome(execution: Execution) -> ToolOutcome:
    """The result of a run that finished (its code may have raised: then ``is_error``)."""
    images = _pngs(execution)
    error = execution.error
    data = ExecutionResult(
        stdout=execution.stdout, stderr=execution.stderr, value=execution.text,
        displayed=execution.displayed,
        error=ErrorInfo(name=error.name, value=error.value, traceback=error.traceback)
        if error else None,
        exit_code=execution.exit_code, figures=len(images),
        stdout_dropped=execution.stdout_dropped, stderr_dropped=execution.stderr_dropped,
        duration_ms=round(execution.duration_ms, 1), session_id=execution.session_id,
        state_lost=error is not None and error.name == "SandboxExited",
    )
    return ToolOutcome(data, images, is_error=not execution.ok)


def timeout_outcome(exc: ExecutionTimeoutError) -> ToolOutcome:
    """The result of a run stopped at its time limit: what it printed, and what was kept."""
    partial = exc.execution
    images = _pngs(partial) if partial is not None else []
    # The sandbox may say where the code was stopped (a TimeoutError raised at its line).
    stopped = partial.error if partial is not None and partial.error else None
    data = ExecutionResult(
        stdout=partial.stdout if partial else "", stderr=partial.stderr if partial else "",
        error=ErrorInfo(name="TimeoutError", value=str(exc),
                        traceback=stopped.traceback if stopped else ""),
        exit_code=124, timed_out=True, state_lost=exc.state_lost, figures=len(images),
        stdout_dropped=partial.stdout_dropped if partial else 0,
        stderr_dropped=partial.stderr_dropped if partial else 0,
        duration_ms=round(partial.duration_ms, 1) if partial else 0.0,
        session_id=partial.session_id if partial else None,
    )
    return ToolOutcome(data, images, is_error=True)


def generation_outcome(generation: Generation) -> ToolOutcome:
    data = GenerationResult(
        code=generation.code, model=generation.model_id, verified=generation.verified,
        checked=generation.label,
        repairs=generation.repairs,
        attempts=[f"{a.model}: {a.error}" for a in generation.attempts if a.error],
    )
    return ToolOutcome(data)
