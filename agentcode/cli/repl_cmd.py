"""`agentcode repl`: a conversation with a model over one stateful sandbox session."""

from __future__ import annotations

from typing import Annotated

import typer

from agentcode.cli.choices import model_names, sandbox_names


def repl(
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Run generated code without asking.")
    ] = False,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", envvar="AGENTCODE_MODEL",
                     help=f"Model name(s): {model_names()}."),
    ] = None,
    sandbox: Annotated[
        str | None,
        typer.Option("--sandbox", envvar="AGENTCODE_SANDBOX",
                     help=f"Where code runs: {sandbox_names()}."),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option("--resume", "-r", help="Continue the conversation of this session id "
                     "(variables do not survive a process: earlier code is not re-run)."),
    ] = None,
    cont: Annotated[
        bool, typer.Option("--continue", "-c", help="Continue the most recent conversation.")
    ] = False,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Do not record this session in the history.")
    ] = False,
) -> None:
    """Talk to the model, see the code, run it, keep the variables.

    Plain text is a request; !CODE runs Python directly; /help lists the commands. With stdin
    not a terminal, requests are read line by line (code runs only with --yes).
    """
    from rich.console import Console

    from agentcode.api.session import Session
    from agentcode.cli.repl import Repl, ReplOptions
    from agentcode.config import data_dir, load_settings
    from agentcode.inputs import stdin_is_terminal
    from agentcode.models.registry import split_names, validate_names
    from agentcode.sandbox.registry import check_name

    models = split_names(model or [])
    settings = load_settings(
        model=models or None, sandbox=sandbox, history=False if no_history else None
    )
    validate_names(settings.model)
    check_name(settings.sandbox)
    interactive = stdin_is_terminal()
    console = Console(stderr=True, highlight=False)
    history_file = data_dir() / "repl_history" if interactive else None
    if history_file is not None:
        history_file.parent.mkdir(parents=True, exist_ok=True)
    if settings.sandbox == "local":
        from agentcode.sandbox.local import spare

        # The jail starts while the user types the first request (and again after /reset).
        spare.keep(settings)
    if cont and resume is None:
        session = Session.resume(None, settings=settings)
    elif resume is not None:
        session = Session.resume(resume, settings=settings)
    else:
        session = Session(settings=settings)
    with session:
        if interactive:
            console.print(f"agentcode repl — session {session.id[:8]}; /help for help, "
                          "Ctrl-D to leave", highlight=False)
        options = ReplOptions(yes=yes, interactive=interactive, history_file=history_file)
        try:
            Repl(session, console, options).loop()
        finally:
            if settings.sandbox == "local":
                spare.stop()


def register(app: typer.Typer) -> None:
    app.command("repl")(repl)
