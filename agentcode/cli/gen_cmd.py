"""`agentcode gen PROMPT`: write a Python program for a sentence.

stdout gets the payload only: the bare code when piped, highlighted code on a terminal, the
`Generation` as JSON with ``--json``. Spinner, progress, warnings and errors go to stderr.
``PROMPT`` ``-`` reads the prompt from stdin; otherwise piped stdin is the program's future
input, and a bounded sample of it (plus its size) is sent as data context.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agentcode.cli.gen_options import (
    ArgOption,
    CheckOption,
    ChecksOption,
    ContinueOption,
    FileOption,
    JsonOption,
    MaxRepairsOption,
    ModelOption,
    ProfileOption,
    PromptArgument,
    RegionOption,
    SandboxOption,
    ServerOption,
    SessionOption,
    StdinOption,
    SystemOption,
    TestOption,
    VerifyOption,
)
from agentcode.cli.history_options import DbOption, NoHistoryOption, history_overrides
from agentcode.cli.terminal import is_terminal
from agentcode.errors import UsageError
from agentcode.inputs import ProgramInput, read_program_input, read_text

if TYPE_CHECKING:
    from agentcode.api.session import Session
    from agentcode.config import Settings
    from agentcode.types import Generation


def register(app: typer.Typer) -> None:
    app.command("gen")(gen)


def gen(
    prompt: PromptArgument,
    json_output: JsonOption = False,
    system: SystemOption = None,
    model: ModelOption = None,
    region: RegionOption = None,
    profile: ProfileOption = None,
    no_history: NoHistoryOption = False,
    db: DbOption = None,
    verify: VerifyOption = None,
    test: TestOption = None,
    check: CheckOption = None,
    max_repairs: MaxRepairsOption = None,
    stdin_file: StdinOption = None,
    files: FileOption = None,
    args: ArgOption = None,
    checks: ChecksOption = None,
    sandbox: SandboxOption = None,
    cont: ContinueOption = False,
    session_id: SessionOption = None,
    server: ServerOption = None,
) -> None:
    """Write a Python program for PROMPT.

    Examples:

      agentcode gen "print the first 10 primes" | agentcode run -

      cat access.log | agentcode gen "top 5 client IPs" > top_ips.py

      cat access.log | agentcode gen "top 5 client IPs" | agentcode run --stdin access.log -

      agentcode gen --verify --test tests/test_slugify.py "a function slugify(title) -> str"

    When the program's input is known (piped data, --stdin, --file, --arg), the code is run
    once on it in the sandbox and repaired if it crashes, exits non-zero or times out; with no
    input, a request that asks for output ("print ...", a question) is run once with empty
    stdin and repaired if it crashes or prints nothing. --no-verify skips that. When
    verification still fails after the repairs, the code is printed anyway; the failure goes to
    stderr and the exit status is 1. The last stderr line says what was checked and in how
    many rounds ("ran cleanly on the given input (1 round)", "tests passed (2 rounds)", "not
    run"). gen reads the data piped to it: a program piped on to `agentcode run -` gets it
    only with --stdin FILE (a note on stderr says so).
    """
    from agentcode.api.generation import known_input_options
    from agentcode.config import load_settings
    from agentcode.models.registry import split_names

    names = split_names(model or [])
    if verify is False and (test is not None or check is not None):
        raise UsageError("--test and --check verify the code: drop --no-verify")
    if sandbox is not None:
        from agentcode.sandbox.registry import check_name

        check_name(sandbox)
    settings = load_settings(model=names or None, region=region, profile=profile,
                             sandbox=sandbox, **history_overrides(no_history, db))
    prompt, given = _read(prompt, stdin_file, files or [], limit=settings.max_input_bytes)
    # The library's rule for known input (and for a request with none), as `generate`, the
    # server and MCP use it: the model sees each input's sample, and the code may run on it.
    asked: dict[str, Any] = {"verify": verify, "tests": test, "check": check}
    if max_repairs is not None:
        asked["max_repairs"] = max_repairs
    context, options = known_input_options(asked, files=given.files, stdin=given.stdin,
                                           prompt=prompt, sample=given.sample, args=args or ())
    if server:
        _only_here(test, check, files, stdin_file, args, sandbox, cont, session_id)
        _generate_on_server(server, prompt, model=",".join(names) or None, system=system,
                            context=context, verify=verify, json_output=json_output,
                            max_repairs=max_repairs)  # unset: the server's rule, as here
        return
    verifying = bool(options.get("verify"))
    if not verifying and (sandbox is not None or max_repairs is not None or checks):
        raise UsageError("--sandbox, --max-repairs and --checks apply to verification: add "
                         "--verify, --stdin or --file")
    options = _verification(options, settings, checks) if verifying else {}
    with _conversation(settings, cont=cont, session_id=session_id) as conversation:
        generation = _generate(prompt, system=system, context=context, session=conversation,
                               live=is_terminal(sys.stdout) and not json_output, **options)
    if stdin_file is None and (given.stdin is not None or given.sample is not None) \
            and not json_output and _stdout_is_pipe():
        sys.stderr.write(PIPED_ON_NOTE)
    _finish(generation, json_output=json_output, failed=verifying and generation.failed)


# `cat data | agentcode gen "..." | agentcode run -` runs the program with empty stdin: gen read
# the data. Said once on stderr when data was piped in and the code goes on down a pipe (not to
# a file or a terminal), since the program's empty output would otherwise look like its answer.
PIPED_ON_NOTE = ("agentcode: note: gen read the data piped to it; a program piped on to "
                 "`agentcode run -` gets no input: give it the data with "
                 "`agentcode run --stdin FILE -`\n")


def _stdout_is_pipe() -> bool:
    import stat

    try:
        return stat.S_ISFIFO(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no real stdout (a test's capture)
        return False


def _read(prompt: str, stdin_file: str | None, files: list[Path], *,
          limit: int) -> tuple[str, ProgramInput]:
    """The prompt ('-': from stdin) and the program's input: ``--stdin``, else data piped in
    (unless the prompt came that way), and ``--file``s."""
    _require_text(prompt)
    if prompt == "-" and stdin_file == "-":
        raise UsageError("stdin cannot be both the prompt and --stdin: pass --stdin a file")
    given = read_program_input(stdin_file, files, limit=limit, piped=prompt != "-")
    if prompt == "-":
        prompt = read_text("-", limit=limit, what="prompt")
        _require_text(prompt)
    return prompt, given


def _verification(options: dict[str, Any], settings: Settings,
                  checks: str | None) -> dict[str, Any]:
    """The library's options for a run, with ``--checks`` and warnings printed here."""
    from agentcode.generation.options import configured_checks

    options["checks"] = configured_checks(settings, (checks or "").split(","))
    # Without a sandbox the library writes the code unrun (a run it chose) and says why.
    options["on_warning"] = lambda message: sys.stderr.write(f"agentcode: warning: {message}\n")
    return options


def _conversation(settings: Settings, *, cont: bool, session_id: str | None) -> Session:
    """The conversation `gen` continues (``--continue``, ``--session``), or a new one that a
    later `gen -c` can continue; each program runs in a sandbox of its own."""
    from agentcode.api.session import Session

    if cont or session_id is not None:
        conversation = Session.resume(session_id, settings=settings)
    else:
        conversation = Session(settings=settings)
    conversation.stateful = False
    return conversation


def _finish(generation: Generation, *, json_output: bool, failed: bool) -> None:
    """The code on stdout; on stderr a failed verification (exit status 1), then the label."""
    _print_generation(generation, json_output=json_output)
    if failed:
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


def _only_here(*given: object) -> None:
    """Refuse what runs here, not on a server (files, tests, a sandbox, a local conversation)."""
    if any(value not in (None, False, []) for value in given):  # unset, as typer leaves it
        raise UsageError("--test, --check, --file, --stdin, --arg, --sandbox, --continue and "
                         "--session run here, not on a server: drop --server (or unset "
                         "AGENTCODE_SERVER)")


def _generate_on_server(url: str, prompt: str, *, json_output: bool, **options: Any) -> None:
    """The generation from a running `agentcode serve` (it records the history), shown as
    without a server."""
    generation = _ask_server(url, prompt, **options)
    _finish(generation, json_output=json_output, failed=generation.failed
            or bool(options["verify"]) and not generation.verified)


def _ask_server(url: str, prompt: str, **options: Any) -> Generation:
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
