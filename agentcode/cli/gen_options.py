"""The options of `agentcode gen`, declared once (its help text is docs/cli.md's)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentcode.cli.choices import (
    PLUGINS_NOTE,
    complete_model,
    complete_sandbox,
    model_names,
    sandbox_names,
)
from agentcode.generation.pipeline import Heuristic
from agentcode.types import DEFAULT_MAX_REPAIRS, SMOKE_MAX_REPAIRS

PromptArgument = Annotated[str, typer.Argument(
    help="What the program should do. '-' reads the prompt from stdin.", show_default=False
)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
SystemOption = Annotated[str | None, typer.Option(
    "--system", help="Extra instructions for the model (appended to the built-in ones)."
)]
ModelOption = Annotated[list[str] | None, typer.Option(
    "-m",
    "--model",
    envvar="AGENTCODE_MODEL",
    help=f"Model, or chain tried in order (repeat or comma-separate): {model_names()}; "
    f"{PLUGINS_NOTE}.",
    autocompletion=complete_model,
    show_default=False,
)]
RegionOption = Annotated[str | None, typer.Option("--region", help="AWS region for Bedrock.")]
ProfileOption = Annotated[str | None, typer.Option("--profile", help="AWS profile to use.")]
VerifyOption = Annotated[bool | None, typer.Option(
    "--verify/--no-verify", help="Run the code in the sandbox; when it fails, the model "
    "repairs it. On by default when the input is known (--stdin, --file or piped data): "
    "the code then runs once on that input. --no-verify skips it.", show_default=False,
)]
TestOption = Annotated[Path | None, typer.Option(
    "--test", metavar="FILE", help="Test file (test_* functions or plain asserts) the code "
    "must pass; implies --verify.", show_default=False,
)]
CheckOption = Annotated[str | None, typer.Option(
    "--check", metavar="EXPR", help="Python expression that must be true after the code "
    "ran; implies --verify.", show_default=False,
)]
MaxRepairsOption = Annotated[int | None, typer.Option(
    "--max-repairs", metavar="N", min=0, help="Rounds after the first candidate: repairs "
    "shown the failure, then fresh draws; the first that passes ends them (default "
    f"{DEFAULT_MAX_REPAIRS}, {SMOKE_MAX_REPAIRS} for the run on a known input without "
    "--verify; measured in docs/benchmarks.md).",
    show_default=False,
)]
StdinOption = Annotated[str | None, typer.Option(
    "--stdin", metavar="PATH", help="The program's input: a sample goes to the model and "
    "the code runs on it (unless --no-verify).", show_default=False,
)]
FileOption = Annotated[list[Path] | None, typer.Option(
    "--file", metavar="PATH", help="A file the program reads (repeatable): the model sees "
    "its name and first lines, and the code runs with it in its work dir (unless "
    "--no-verify).", show_default=False,
)]
ArgOption = Annotated[list[str] | None, typer.Option(
    "--arg", metavar="VALUE", help="An argument for the program (repeatable, in order: its "
    "sys.argv[1:]): the model is told them, and the code runs with them (unless "
    "--no-verify).", show_default=False,
)]
ChecksOption = Annotated[str | None, typer.Option(
    "--checks", metavar="NAMES", help="Heuristic checks of verification, comma-separated, "
    "applied to the defaults and the config file's `checks`: NAME turns one on, no-NAME "
    f"off; all, none. The checks: {', '.join(h.value for h in Heuristic)}.",
    show_default=False,
)]
SandboxOption = Annotated[str | None, typer.Option(
    "--sandbox", metavar="NAME", help=f"Sandbox that verifies: {sandbox_names()}.",
    autocompletion=complete_sandbox,
    show_default=False,
)]
ContinueOption = Annotated[bool, typer.Option(
    "--continue", "-c", help="Continue the most recent conversation: the model sees the "
    "earlier requests, code and results.",
)]
SessionOption = Annotated[str | None, typer.Option(
    "--session", metavar="ID", help="Continue this conversation (an id or a unique prefix, "
    "from `agentcode history`).", show_default=False,
)]
ServerOption = Annotated[str | None, typer.Option(
    "--server", metavar="URL", envvar="AGENTCODE_SERVER", help="Ask a running `agentcode "
    "serve` (its model stays loaded): the URL it printed, with ?token=.",
    show_default=False,
)]
