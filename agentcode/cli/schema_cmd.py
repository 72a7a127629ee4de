"""`agentcode schema`: the JSON Schema of what ``--json`` prints, for scripts that read it."""

from __future__ import annotations

import enum
import json
import sys
from typing import Annotated

import typer


class ResultName(enum.StrEnum):
    # The keys of agentcode.api.schemas.RESULT_SCHEMAS (a test keeps them equal): spelled out here
    # so
    # that building the CLI does not import pydantic.
    generation = "generation"
    execution = "execution"
    history_entry = "history-entry"
    doctor = "doctor"


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)


def schema(
    name: Annotated[ResultName | None, typer.Argument(
        help="generation (gen --json), execution (run --json), history-entry "
        "(history show --json; list and search print an array of them) or doctor "
        "(doctor --json). Without a name: all of them, keyed by name.",
        show_default=False,
    )] = None,
) -> None:
    """Print the JSON Schema of the JSON that gen, run, history and doctor print with --json."""
    from agentcode.api.schemas import RESULT_SCHEMAS, json_schema

    if name is None:
        document = {key: json_schema(key) for key in RESULT_SCHEMAS}
    else:
        document = json_schema(name.value)
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
