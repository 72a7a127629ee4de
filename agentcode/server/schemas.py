"""Request bodies of the /v1 API, and the small response bodies that are not results.

Results (an Execution, a Generation, history entries) are exactly the JSON ``run --json`` and
``gen --json`` print: their schemas are `agentcode.api.schemas`'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field

from agentcode.types import DEFAULT_MAX_REPAIRS, SMOKE_MAX_REPAIRS

if TYPE_CHECKING:
    from agentcode import Session


class SessionRequest(BaseModel):
    model: Annotated[str | None, Field(description="Model or chain (default: the server's).")
                     ] = None
    sandbox: Annotated[str | None, Field(description="Sandbox backend (default: the server's).")
                       ] = None


def client_model(spec: str | None) -> str | None:
    """A model a client names, refused (UsageError) when it points at the server's files.

    ``local:PATH`` would load any GGUF file on the host, and its errors ("does not exist", "is
    not a GGUF model file", "Permission denied") answered which host paths exist and are
    readable. A client names the server's models; a path is refused before anything looks at
    it, with the same words whatever is there.
    """
    if spec is None:
        return None
    from agentcode.errors import UsageError
    from agentcode.models.registry import split_names

    for name in split_names([spec]):
        provider, _, rest = name.partition(":")
        if provider.strip().lower() == "local" and rest and not _named_local(rest.strip()):
            raise UsageError(f"model {name!r}: the server takes the names of its local models "
                             "(GET /v1/models lists them), not paths")
    return spec


def _named_local(name: str) -> bool:
    try:
        from agentcode.models.local import LOCAL_ALIASES, LOCAL_MODELS
    except ImportError:  # pragma: no cover - the local extra is missing: nothing is named
        return False
    return name in LOCAL_MODELS or name in LOCAL_ALIASES


class SessionCreated(BaseModel):
    id: str


class SessionInfo(BaseModel):
    id: str
    models: list[str] = Field(description="The model chain the next request asks.")
    inputs: list[str] = Field(description="Files put in the session (the program's input).")
    turns: list[dict[str, Any]] = Field(description="Generation and run results, oldest first.")


# A client's timeout is bounded: a session runs one request at a time and the idle reaper skips
# a busy one, so `{"timeout": 2e6}` would hold a jail and its session for weeks.
MAX_TIMEOUT = 3600.0


class ExecuteRequest(BaseModel):
    code: str = Field(min_length=1)
    stdin: Annotated[str | None, Field(description="What the code reads from sys.stdin.")] = None
    timeout: Annotated[float | None, Field(
        gt=0, le=MAX_TIMEOUT,
        description=f"Seconds (default: the server's; at most {MAX_TIMEOUT:g}).")] = None


class GenerateRequest(BaseModel):
    prompt: str = Field(min_length=1)
    verify: bool | None = Field(None, description=(
        "Run each candidate and repair failures. Default: only when the input is known (files "
        "put in the session, or stdin), as `gen --file` does: the code runs once on it."))
    max_repairs: int | None = Field(None, ge=0, le=16, description=(
        f"Rounds after the first (default {DEFAULT_MAX_REPAIRS} with verify, "
        f"{SMOKE_MAX_REPAIRS} for the run on known input)."))
    system: Annotated[str | None, Field(description="Extra instructions for the model.")] = None
    context: Annotated[str | None, Field(description="A description or sample of the input.")
                       ] = None
    stdin: Annotated[str | None, Field(description="What the program will read from stdin.")
                     ] = None

    def arguments(self, session: Session) -> dict[str, Any]:
        """Keyword arguments for ``session.generate``: the files put in the session and
        ``stdin`` are the program's known input (`agentcode.api.session.known_input_options`);
        with neither, a request that asks for output is run once with empty stdin, as `gen`
        and `agentcode.generate` do (a ``context`` of the client's own describes an input the
        server does not have: then not)."""
        from agentcode.api.session import known_input_options

        known, options = known_input_options(
            self.options(), files=session.input_files(), stdin=self.stdin,
            prompt=None if self.context else self.prompt)
        options["context"] = "\n\n".join(part for part in (self.context, known) if part) or None
        return options

    def options(self) -> dict[str, Any]:
        """Keyword arguments for `Session.generate` (``context`` and ``stdin`` apart)."""
        options: dict[str, Any] = {"system": self.system, "verify": self.verify}
        if self.max_repairs is not None:
            options["max_repairs"] = self.max_repairs
        elif self.verify:
            options["max_repairs"] = DEFAULT_MAX_REPAIRS
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
