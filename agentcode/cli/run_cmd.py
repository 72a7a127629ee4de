"""`agentcode run [PATH|-] [ARGS]...`: run a Python program in the sandbox, like `python script.py`.

The program's stdout streams to our stdout and its stderr to our stderr as it runs; its exit
status is ours. Only light modules are imported at start-up: the sandbox loads on first use.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentcode.cli.choices import PLUGINS_NOTE, complete_sandbox, sandbox_names
from agentcode.cli.history_options import DbOption, NoHistoryOption, history_overrides
from agentcode.cli.terminal import shown_text, write_program_output
from agentcode.errors import UsageError
from agentcode.inputs import read_bytes, read_files, read_text, stdin_is_terminal

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.types import Execution

HELP = """Run a Python program in the sandbox, like `python script.py`.

PATH is a file, or '-' (or nothing, with piped input) to read the code from stdin.
Everything after PATH goes to the program, options included, as with `python PATH ARGS`:
sys.argv is [PATH's file name, *ARGS] ('-' for stdin), so run's own options go before
PATH. The program sees no variable of ours unless passed
with --env. Its stdout and stderr stream to ours and its exit status is ours: 0, n for
sys.exit(n), 1 if it raised; 2 bad input, 4 sandbox unavailable, 124 timed out,
130 interrupted.

Files it writes and figures it leaves open are kept only with --out DIR (figures as
figure-1.png, ...; a figure it saved itself is not saved twice).

Unlike `python script.py`, a last line that is a bare value (a name or an operation, not
a call) is shown like in the interactive interpreter: `echo 'x = 6*7; x' | agentcode run -`
prints 42. Calls are not shown (a final `f.write(...)` would print a byte count), nor None,
nor a line ending with ';'. --json always carries the value. display(obj), as in a notebook,
shows obj's text (or Markdown) after the program's output; --json carries its HTML, Markdown
and PNG forms too.
"""


def register(app: typer.Typer) -> None:
    # Like `python FILE ARGS`: options after PATH are the program's (`report.py --top 5`).
    app.command("run", help=HELP, context_settings={"allow_interspersed_args": False})(run)


def run(
    ctx: typer.Context,
    path: Annotated[str | None, typer.Argument(
        help="Python file to run; '-' reads the code from stdin.", show_default=False
    )] = None,
    args: Annotated[list[str] | None, typer.Argument(
        help="Arguments for the program (its sys.argv[1:]), options included.",
        show_default=False
    )] = None,
    env: Annotated[list[str] | None, typer.Option(
        "--env", help="Set a variable for the program: NAME=VALUE, or NAME to pass ours "
        "(repeatable).", show_default=False,
    )] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", envvar="AGENTCODE_TIMEOUT",
        help="Wall-clock limit in seconds (default 30). Past it the code is interrupted, and "
        "stopped if it has not ended within the kill grace (2 s): run returns within about "
        "TIMEOUT + 3 s.",
        show_default=False,
    )] = None,
    files: Annotated[list[str] | None, typer.Option(
        "--file", help="Copy a file into the sandbox's work dir (repeatable).", show_default=False
    )] = None,
    stdin_path: Annotated[str | None, typer.Option(
        "--stdin", help="File the program reads as its stdin ('-' for ours, if the code "
        "comes from PATH).", show_default=False,
    )] = None,
    out: Annotated[str | None, typer.Option(
        "--out", help="Copy the files the program creates or changes, and its figures, here.",
        show_default=False,
    )] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Let --out replace files that are already there (by default they "
        "are kept and listed as skipped).",
    )] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the result as JSON (and nothing else) on stdout."
    )] = False,
    sandbox: Annotated[str | None, typer.Option(
        "--sandbox", envvar="AGENTCODE_SANDBOX",
        help=f"Where code runs: {sandbox_names()}; {PLUGINS_NOTE}.",
        autocompletion=complete_sandbox,
        show_default=False,
    )] = None,
    max_input_bytes: Annotated[int | None, typer.Option(
        "--max-input-bytes", help="Refuse code, --file or --stdin input larger than this "
        "(default 10 MB).", show_default=False,
    )] = None,
    region: Annotated[str | None, typer.Option(
        "--region", help="AWS region (agentcore sandbox).", show_default=False
    )] = None,
    session_timeout: Annotated[int | None, typer.Option(
        "--session-timeout", help="AgentCore session timeout in seconds.", show_default=False
    )] = None,
    interpreter_id: Annotated[str | None, typer.Option(
        "--interpreter-id", help="AgentCore code interpreter identifier.", show_default=False
    )] = None,
    no_history: NoHistoryOption = False,
    db: DbOption = None,
) -> None:
    from agentcode.config import load_settings
    from agentcode.sandbox.registry import check_name

    if sandbox is not None:
        check_name(sandbox)
    if max_input_bytes is not None and max_input_bytes <= 0:
        raise UsageError("--max-input-bytes must be a positive number of bytes")
    settings = load_settings(
        timeout=timeout, sandbox=sandbox, max_input_bytes=max_input_bytes, region=region,
        session_timeout=session_timeout, interpreter_id=interpreter_id,
        **history_overrides(no_history, db),
    )
    check_name(settings.sandbox)  # from the config file or AGENTCODE_SANDBOX
    limit = settings.max_input_bytes
    source = path if path is not None else "-"
    if source == "-" and stdin_is_terminal():
        raise UsageError("no code to run: pass a file path, or '-' and pipe the code in")
    code = read_text(source, limit=limit, what="code")
    if not code.strip():
        raise UsageError(f"the code from {'stdin' if source == '-' else source} is empty")
    program_stdin = None
    if stdin_path is not None:
        if stdin_path == "-" and source == "-":
            raise UsageError("--stdin - needs the code from a file: stdin already holds the code")
        program_stdin = read_bytes(stdin_path, limit=limit, what="--stdin input")
    inputs = read_files(files or [], limit, what="--file input")
    argv = [source if source == "-" else Path(source).name, *(args or [])]
    variables = _environment(env or [])
    execution = _execute(code, settings, inputs, program_stdin, out, json_output, overwrite,
                         argv=argv, env=variables)
    if json_output:
        sys.stdout.write(execution.to_json() + "\n")
    else:
        _report(execution, out, show_value=_ends_with_bare_value(code))
    if execution.exit_code:
        _note_misplaced_options(ctx, args or [])
        raise typer.Exit(execution.exit_code)


def _note_misplaced_options(ctx: typer.Context, args: list[str]) -> None:
    """After a failed run: which of run's own options came after PATH and went to the program
    (they did before options after PATH became the program's, as with `python FILE ARGS`)."""
    ours = {opt for param in ctx.command.params for opt in getattr(param, "opts", ())
            if opt.startswith("--")}
    misplaced = list(dict.fromkeys(arg.split("=", 1)[0] for arg in args
                                   if arg.split("=", 1)[0] in ours))
    if misplaced:
        sys.stderr.write(f"agentcode: note: {', '.join(misplaced)} came after the file, so the "
                         f"program got {'it' if len(misplaced) == 1 else 'them'}; run's own "
                         "options go before the file\n")


def _environment(specs: list[str]) -> dict[str, str]:
    """--env NAME=VALUE, or --env NAME for our own value (never passed without being named)."""
    import os

    variables: dict[str, str] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep:
            if name not in os.environ:
                raise UsageError(f"--env {name}: {name} is not set here; give it a value "
                                 f"with --env {name}=VALUE")
            value = os.environ[name]
        variables[name] = value
    return variables


def _execute(code: str, settings: Settings, inputs: dict[str, bytes], stdin: bytes | None,
             out: str | None, json_output: bool, overwrite: bool = False, *,
             argv: list[str] | None = None, env: dict[str, str] | None = None) -> Execution:
    from agentcode.api.execution import execute
    from agentcode.errors import ExecutionTimeoutError

    try:
        return execute(
            code, settings=settings, files=inputs or None, stdin=stdin, argv=argv, env=env,
            out_dir=out, overwrite=overwrite, on_stdout=None if json_output else _write_stdout,
            on_stderr=None if json_output else _write_stderr,
            output_errors="replace" if json_output else "surrogateescape",
        )
    except ExecutionTimeoutError as exc:
        if json_output and exc.execution is not None:
            sys.stdout.write(exc.execution.to_json() + "\n")
        elif exc.execution is not None:
            report_skipped(exc.execution.skipped_files)
        raise


def _write_stdout(text: str) -> None:
    write_program_output(sys.stdout, text)


def _write_stderr(text: str) -> None:
    write_program_output(sys.stderr, text)


def _ends_with_bare_value(code: str) -> bool:
    """Whether the code's last statement is an expression worth echoing (not a call)."""
    import ast

    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError):
        return False
    return bool(body) and isinstance(body[-1], ast.Expr) and not isinstance(
        body[-1].value, ast.Call | ast.Await | ast.Yield | ast.YieldFrom
    )


def _report(execution: Execution, out: str | None, *, show_value: bool) -> None:
    write_program_output(sys.stdout, shown_text(execution, show_value=show_value))
    for stream in ("stdout", "stderr"):
        dropped = getattr(execution, f"{stream}_dropped")
        if dropped:
            sys.stderr.write(
                f"agentcode: {dropped} more bytes of the program's {stream} were dropped "
                "(raise the cap with AGENTCODE_LIMIT_OUTPUT_BYTES)\n"
            )
    if execution.error is not None and execution.error.name == "SandboxExited":
        sys.stderr.write(f"agentcode: {execution.error.value}\n")
    if out is not None and execution.artifacts:
        sys.stderr.write(f"agentcode: saved {len(execution.artifacts)} file(s) to {out}\n")
    elif out is None:
        note = unsaved_note(execution)
        if note:
            sys.stderr.write(f"agentcode: {note}\n")
    report_skipped(execution.skipped_files)


def report_skipped(skipped: list[str], shown: int = 10) -> None:
    """One warning line per file --out did not save (names already escaped), at most ``shown``."""
    for line in skipped[:shown]:
        sys.stderr.write(f"agentcode: warning: not saved: {line}\n")
    if len(skipped) > shown:
        sys.stderr.write(f"agentcode: warning: ... and {len(skipped) - shown} more not saved\n")


def unsaved_note(execution: Execution) -> str | None:
    """"2 files and 1 figure not saved; add --out DIR", or None when nothing was made."""
    figures = sum(1 for output in execution.outputs if output.png is not None and not output.name)
    parts = [f"{n} {word}{'' if n == 1 else 's'}"
             for n, word in ((len(execution.files), "file"), (figures, "figure")) if n]
    if not parts:
        return None
    return f"{' and '.join(parts)} not saved; add --out DIR"
