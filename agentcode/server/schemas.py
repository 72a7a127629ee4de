"""Request bodies of the /v1 API, and the small response bodies that are not results.

Results (an Execution, a Generation, history entries) are exactly the JSON ``run --json`` and
``gen --json`` print: their schemas are `agentcode.api.schemas`'.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from agentcode.types import DEFAULT_MAX_REPAIRS


class SessionRequest(BaseModel):
    model: Annotated[str | None, Field(description="Model or chain (default: the server's).")
                     ] = None
    sandbox: Annotated[str | None, Field(description="Sandbox backend (default: the server's).")
                       ] = None


class SessionCreated(BaseModel):
    id: str


class ExecuteRequest(BaseModel):
    code: str = Field(min_length=1)
    stdin: Annotated[str | None, Field(description="What the code reads from sys.stdin.")] = None
    timeout: Annotated[float | None, Field(gt=0, description="Seconds (default: the server's).")
                       ] = None


class GenerateRequest(BaseModel):
    prompt: str = Field(min_length=1)
    verify: bool = Field(False, description="Run each candidate and repair failures.")
    max_repairs: int = Field(DEFAULT_MAX_REPAIRS, ge=0, le=16)
    system: Annotated[str | None, Field(description="Extra instructions for the model.")] = None
    context: Annotated[str | None, Field(description="A description or sample of the input.")
                       ] = None

    def options(self) -> dict[str, Any]:
        """Keyword arguments for `Session.generate`."""
        options: dict[str, Any] = {"system": self.system, "context": self.context}
        if self.verify:
            options.update(verify=True, max_repairs=self.max_repairs)
        return options


class FileList(BaseModel):
    files: list[str]


class ErrorBody(BaseModel):
    detail: str
    exit_code: int = Field(description="The exit code the CLI would give (docs/cli.md).")
    execution: Annotated[dict[str, Any] | None, Field(
        description="On a timeout: what the code printed before it was stopped.")] = None


class Health(BaseModel):
    status: str
    version: str
