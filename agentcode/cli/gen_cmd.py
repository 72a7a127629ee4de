"""`agentcode gen PROMPT`: write a Python program for a sentence.

stdout gets the payload only: the bare code when piped, highlighted code on a terminal, the
`Generation` as JSON with ``--json``. Spinner, progress, warnings and errors go to stderr.
``PROMPT`` ``-`` reads the prompt from stdin; otherwise piped stdin is the program's future
input, and a bounded sample of it (plus its size) is sent as data context.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentcode.cli.choices import (
    PLUGINS_NOTE,
    complete_model,
    complete_sandbox,
    model_names,
    sandbox_names,
)
from agentcode.cli.history_options import DbOption, NoHistoryOption, history_overrides
from agentcode.cli.terminal import is_terminal
from agentcode.errors import UsageError
from agentcode.generation.pipeline import Heuristic
from agentcode.inputs import (
    read_bytes,
    read_files,
    read_piped,
    read_text,
    stdin_is_terminal,
)
from agentcode.types import DEFAULT_MAX_REPAIRS, SMOKE_MAX_REPAIRS

if TYPE_CHECKING:
    from agentcode.api.session import Session
    from agentcode.types import Generation



def register(app: typer.Typer) -> None:
    app.command("gen")(gen)


def gen(
    prompt: Annotated[str, typer.Argument(
        help="What the program should do. '-' reads the prompt from stdin.", show_default=False
    )],
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    system: Annotated[str | None, typer.Option(
        "--system", help="Extra instructions for the model (appended to the built-in ones)."
    )] = None,
    model: Annotated[list[str] | None, typer.Option(
        "-m",
        "--model",
        envvar="AGENTCODE_MODEL",
        help=f"Model, or chain tried in order (repeat or comma-separate): {model_names()}; "
        f"{PLUGINS_NOTE}.",
        autocompletion=complete_model,
        show_default=False,
    )] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region for Bedrock.")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile to use.")] = None,
    no_history: NoHistoryOption = False,
    db: DbOption = None,
    verify: Annotated[bool | None, typer.Option(
        "--verify/--no-verify", help="Run the code in the sandbox; when it fails, the model "
        "repairs it. On by default when the input is known (--stdin, --file or piped data): "
        "the code then runs once on that input. --no-verify skips it.", show_default=False,
    )] = None,
    test: Annotated[Path | None, typer.Option(
        "--test", metavar="FILE", help="Test file (test_* functions or plain asserts) the code "
        "must pass; implies --verify.", show_default=False,
    )] = None,
    check: Annotated[str | None, typer.Option(
        "--check", metavar="EXPR", help="Python expression that must be true after the code "
        "ran; implies --verify.", show_default=False,
    )] = None,
    max_repairs: Annotated[int | None, typer.Option(
        "--max-repairs", metavar="N", min=0, help="Rounds after the first candidate: repairs "
        "shown the failure, then fresh draws; the first that passes ends them (default "
        f"{DEFAULT_MAX_REPAIRS}, {SMOKE_MAX_REPAIRS} for the run on a known input without "
        "--verify; measured in docs/benchmarks.md).",
        show_default=False,
    )] = None,
    stdin_file: Annotated[str | None, typer.Option(
        "--stdin", metavar="PATH", help="The program's input: a sample goes to the model and "
        "the code runs on it (unless --no-verify).", show_default=False,
    )] = None,
    files: Annotated[list[Path] | None, typer.Option(
        "--file", metavar="PATH", help="A file the program reads (repeatable): the model sees "
        "its name and first lines, and the code runs with it in its work dir (unless "
        "--no-verify).", show_default=False,
    )] = None,
    checks: Annotated[str | None, typer.Option(
        "--checks", metavar="NAMES", help="Heuristic checks of verification, comma-separated, "
        "applied to the defaults and the config file's `checks`: NAME turns one on, no-NAME "
        f"off; all, none. The checks: {', '.join(h.value for h in Heuristic)}.",
        show_default=False,
    )] = None,
    sandbox: Annotated[str | None, typer.Option(
        "--sandbox", metavar="NAME", help=f"Sandbox that verifies: {sandbox_names()}.",
        autocompletion=complete_sandbox,
        show_default=False,
    )] = None,
    cont: Annotated[bool, typer.Option(
        "--continue", "-c", help="Continue the most recent conversation: the model sees the "
        "earlier requests, code and results.",
    )] = False,
    session_id: Annotated[str | None, typer.Option(
        "--session", metavar="ID", help="Continue this conversation (an id or a unique prefix, "
        "from `agentcode history`).", show_default=False,
    )] = None,
    server: Annotated[str | None, typer.Option(
        "--server", metavar="URL", envvar="AGENTCODE_SERVER", help="Ask a running `agentcode "
        "serve` (its model stays loaded): the URL it printed, with ?token=.",
        show_default=False,
    )] = None,
) -> None:
    """Write a Python program for PROMPT.

    Examples:

      agentcode gen "print the first 10 primes" | agentcode run -

      cat access.log | agentcode gen "top 5 client IPs" > top_ips.py

      agentcode gen --verify --test tests/test_slugify.py "a function slugify(title) -> str"

    When the program's input is known (piped data, --stdin, --file), the code is run once on
    it in the sandbox and repaired if it crashes, exits non-zero or times out; with no input,
    a request that asks for output ("print ...", a question) is run once with empty stdin and
    repaired if it crashes or prints nothing. --no-verify skips that. When verification still
    fails after the repairs, the code is printed anyway; the failure goes to stderr and the
    exit status is 1. The last stderr line says what was checked and in how many rounds
    ("ran cleanly on the given input (1 round)", "tests passed (2 rounds)", "not run").
    """
    from agentcode.config import load_settings
    from agentcode.models.registry import split_names

    names = split_names(model or [])
    if verify is False and (test is not None or check is not None):
        raise UsageError("--test and --check verify the code: drop --no-verify")
    explicit = bool(verify) or test is not None or check is not None
    if sandbox is not None:
        from agentcode.sandbox.registry import check_name

        check_name(sandbox)
    settings = load_settings(model=names or None, region=region, profile=profile,
                             sandbox=sandbox, **history_overrides(no_history, db))
    _require_text(prompt)
    if prompt == "-" and stdin_file == "-":
        raise UsageError("stdin cannot be both the prompt and --stdin: pass --stdin a file")
    from agentcode.api.session import known_input_options
    from agentcode.generation.codegen import describe_input

    contexts: list[str] = []
    stdin_data = None
    if stdin_file is not None:
        stdin_data = read_bytes(stdin_file, limit=settings.max_input_bytes, what="--stdin input")
    if prompt == "-":
        prompt = read_text("-", limit=settings.max_input_bytes, what="prompt")
        _require_text(prompt)
    elif stdin_data is None and not stdin_is_terminal():
        piped = read_piped(limit=settings.max_input_bytes)
        if piped is not None:
            stdin_data = piped.data
            if stdin_data is None:  # too large to run on: the sample and its size go to the model
                contexts.append(describe_input(piped.head, total_bytes=piped.total_bytes,
                                               total_lines=piped.total_lines,
                                               truncated=piped.truncated))
    file_data = read_files(files or [], settings.max_input_bytes, what="--file")
    # The library's rule for known input, as the server's sessions use it: the model sees
    # each input's sample, and unless told otherwise the code runs once on it.
    asked: dict[str, Any] = {"verify": True if explicit else verify}
    if max_repairs is not None:
        asked["max_repairs"] = max_repairs
    known, policy = known_input_options(asked, files=file_data, stdin=stdin_data,
                                        prompt=None if contexts else prompt)
    context = "\n\n".join([*contexts, *([known] if known else [])]) or None
    # A smoke run: the input is known, so run the code on it (tens of milliseconds locally).
    smoke = verify is None and not explicit and bool(policy.get("verify"))
    repairs = policy.get("max_repairs", DEFAULT_MAX_REPAIRS)
    if server:
        if test is not None or check is not None or files or stdin_file or sandbox or cont \
                or session_id is not None:
            raise UsageError("--test, --check, --file, --stdin, --sandbox, --continue and "
                             "--session run here, not on a server: drop --server (or unset "
                             "AGENTCODE_SERVER)")
        generation = _generate_on_server(
            server, prompt, model=",".join(names) or None, system=system, context=context,
            verify=verify, max_repairs=max_repairs)  # unset: the server's rule, as here
        _print_generation(generation, json_output=json_output)
        if generation.failed or verify and not generation.verified:
            _report_failed_verification(generation)
        sys.stderr.write(f"agentcode: {generation.label}\n")
        return
    verifying = explicit or smoke
    if not verifying and (sandbox is not None or max_repairs is not None or checks):
        raise UsageError("--sandbox, --max-repairs and --checks apply to verification: add "
                         "--verify, --stdin or --file")
    options: dict[str, Any] = {}
    if verifying:
        from agentcode.generation.options import configured_checks

        options = {"verify": True, "tests": test, "check": check, "stdin": stdin_data,
                   "files": file_data, "max_repairs": repairs, **policy,
                   "checks": configured_checks(settings, (checks or "").split(","))}
    from agentcode.api.session import Session

    if cont or session_id is not None:
        conversation = Session.resume(session_id, settings=settings)
    else:
        conversation = Session(settings=settings)  # a new conversation `gen -c` can continue
    conversation.stateful = False
    live = is_terminal(sys.stdout) and not json_output
    if verifying:  # without a sandbox the library writes the code unrun (a smoke run) and says
        options["on_warning"] = lambda message: sys.stderr.write(
            f"agentcode: warning: {message}\n")
    with conversation:
        generation = _generate(prompt, system=system, context=context, session=conversation,
                               live=live, **options)
    _print_generation(generation, json_output=json_output)
    if verifying and generation.failed:
        _report_failed_verification(generation)
    sys.stderr.write(f"agentcode: {generation.label}\n")  # what was checked, said last


def _print_generation(generation: Generation, *, json_output: bool) -> None:
    _warn_failed_attempts(generation)
    if json_output:
        sys.stdout.write(generation.to_json(indent=2) + "\n")
    elif is_terminal(sys.stdout):
        from rich.console import Console

        from agentcode.cli.gen_display import print_code

        print_code(Console(), generation.code)
    else:
        sys.stdout.write(generation.code)
    sys.stdout.flush()


def _generate_on_server(url: str, prompt: str, **options: Any) -> Generation:
    """The generation from a running `agentcode serve` (it records the history)."""
    from agentcode.server.client import ServerClient

    live = is_terminal(sys.stdout) and _websockets_installed()
    with ServerClient(url) as client:
        if not (live or is_terminal(sys.stderr)):
            return client.generate(prompt, **options)
        from rich.console import Console

        from agentcode.cli.gen_display import LiveCode

        # As without a server: the code streams on a terminal, otherwise just the spinner.
        with LiveCode(Console(stderr=True), stream=live) as display:
            if not live:
                return client.generate(prompt, **options)
            return client.generate(prompt, on_token=display.token, on_restart=display.restart,
                                   **options)


def _websockets_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("websockets") is not None


def _report_failed_verification(generation: Generation) -> None:
    """The code is on stdout already; the failure goes to stderr and sets the exit status."""
    from agentcode.errors import VerificationError
    from agentcode.generation.judge import first_line

    count = len(generation.rounds)
    kept = generation.kept_round
    failure = (generation.rounds[kept].error if kept is not None else None) or "failed"
    which = (
        "the last candidate"
        if kept is None or kept == count - 1
        else f"round {kept + 1}'s candidate, the nearest miss,"
    )
    sys.stderr.write(f"agentcode: {which} failed:\n")
    sys.stderr.write("".join(f"  {line}\n" for line in failure.splitlines()))
    raise VerificationError(
        f"generated code {generation.checked} after {count} round{'s' if count != 1 else ''}: "
        f"{first_line(failure)}"
    )


def _require_text(prompt: str) -> None:
    if not prompt.strip():
        raise UsageError("empty prompt: say what the program should do, e.g. agentcode gen "
                         "\"print the first 10 primes\"")


def _generate(
    prompt: str, *, system: str | None, context: str | None, session: Session, live: bool,
    **options: Any,
) -> Generation:
    generate = session.generate
    if not (live or is_terminal(sys.stderr)):
        if options.get("verify"):  # repair progress, one line each, on stderr
            options["on_restart"] = lambda message: sys.stderr.write(f"agentcode: {message}\n")
        return generate(prompt, system=system, context=context, **options)
    from rich.console import Console

    from agentcode.cli.gen_display import LiveCode

    # Code streams on the terminal only when stdout is one too; otherwise just the spinner.
    with LiveCode(Console(stderr=True), stream=live) as display:
        return generate(prompt, system=system, context=context,
                        on_token=display.token, on_restart=display.restart, **options)


def _warn_failed_attempts(generation: Generation) -> None:
    for attempt in generation.attempts:
        if attempt.error:
            sys.stderr.write(f"agentcode: warning: {attempt.model}: {attempt.error}\n")
    if any(a.error for a in generation.attempts):
        sys.stderr.write(f"agentcode: answered by {generation.model_id}\n")
