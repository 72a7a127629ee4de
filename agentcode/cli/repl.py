"""The interactive loop behind `agentcode repl`: talk, see the code, run it, keep the state.

Plain text is a request to the model; ``!code`` runs Python directly; ``/command`` controls the
REPL. On a terminal, prompt_toolkit gives persistent input history and multi-line input
(Esc then Enter, or Alt+Enter, inserts a newline). With stdin not a terminal, requests are read line
by line so the REPL is scriptable: generated code goes to stderr, program output to stdout, and code
runs only with ``--yes`` (there is nobody to ask).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agentcode.cli.terminal import shown_text, write_program_output
from agentcode.errors import AgentcodeError, ExecutionTimeoutError

if TYPE_CHECKING:
    from rich.console import Console

    from agentcode.api.session import Session
    from agentcode.types import Execution

HELP = """\
Type a request in plain words and agentcode writes Python for it, shows it, and asks to run it.
  !CODE          run Python directly in the session (e.g. !print(x))
  /help          this text
  /history [N]   the last N requests and runs of this session (default 10)
  /save FILE     write every piece of code that ran in this session to FILE
  /model NAME    use another model: {models}
  /reset         forget the conversation and start a fresh sandbox (variables are lost)
  /exit          leave (Ctrl-D does the same)
Ctrl-C interrupts running code and keeps the session's variables.
Multi-line input: Esc then Enter (or Alt+Enter) inserts a newline; pasted text keeps its lines."""


@dataclass
class ReplOptions:
    yes: bool = False
    interactive: bool = True
    history_file: Path | None = None


class Repl:
    """One REPL over one `Session`. ``ask`` answers the run/edit/skip question (for tests)."""

    def __init__(
        self,
        session: Session,
        console: Console,
        options: ReplOptions,
        ask: Callable[[str], str] | None = None,
    ) -> None:
        self.session = session
        self.console = console
        self.options = options
        self.ask = ask or self._ask
        self.ran: list[str] = []  # code that ran, for /save

    # -- input -------------------------------------------------------------------------------
    def lines(self) -> Iterator[str]:
        if not self.options.interactive:
            for line in sys.stdin:
                yield line.rstrip("\n")
            return
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()

        @bindings.add("escape", "enter")
        def _newline(event: object) -> None:
            event.current_buffer.insert_text("\n")  # type: ignore[attr-defined]

        history = (
            FileHistory(str(self.options.history_file))
            if self.options.history_file
            else InMemoryHistory()
        )
        prompt: PromptSession[str] = PromptSession(
            history=history, key_bindings=bindings, multiline=False, enable_history_search=True
        )
        while True:
            try:
                yield prompt.prompt("agentcode> ", prompt_continuation="... ")
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line, like Python's REPL
            except EOFError:
                return

    def loop(self) -> int:
        for raw in self.lines():
            line = raw.strip()
            if not line:
                continue
            try:
                if self.handle(line) is False:
                    break
            except KeyboardInterrupt:
                self.console.print("[yellow]interrupted[/]")
            except AgentcodeError as exc:
                self.console.print(f"[red]error:[/] {_escape(str(exc))}", highlight=False)
        return 0

    # -- dispatch ----------------------------------------------------------------------------
    def handle(self, line: str) -> bool:
        if line.startswith("!"):
            self.run(line[1:].strip())
        elif line.startswith("/"):
            return self.command(line)
        else:
            self.request(line)
        return True

    def command(self, line: str) -> bool:
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if name in ("exit", "quit", "q"):
            return False
        if name == "help":
            from agentcode.models.registry import names_help

            self.console.print(HELP.format(models=names_help()), highlight=False, markup=False)
        elif name == "history":
            self.show_history(int(arg) if arg.isdigit() else 10)
        elif name == "save":
            self.save(arg)
        elif name == "model":
            if not arg:
                self.console.print(f"model: {', '.join(self.session.model_names)}")
            else:
                self.session.use_model(arg)
                self.console.print(f"model: {arg}")
        elif name == "reset":
            self.session.reset()
            self.ran.clear()
            self.console.print("session reset: conversation and variables cleared")
        else:
            self.console.print(f"unknown command /{name}: type /help", highlight=False)
        return True

    # -- requests ----------------------------------------------------------------------------
    def request(self, prompt: str) -> None:
        from agentcode.cli.gen_display import LiveCode

        if self.options.interactive:
            with LiveCode(self.console) as live:
                generation = self.session.generate(
                    prompt, on_token=live.token, on_restart=live.restart
                )
        else:
            generation = self.session.generate(prompt)
        code = generation.code
        self.show_code(code, generation.model_id)
        if self.options.yes:
            self.run(code)
            return
        if not self.options.interactive:
            return  # scripted without --yes: show the code, run nothing
        while True:
            answer = self.ask("Run it? [Y]es / [e]dit / [s]kip: ").strip().lower()
            if answer in ("", "y", "yes"):
                self.run(code)
                return
            if answer in ("s", "skip", "n", "no"):
                return
            if answer in ("e", "edit"):
                code = edit_in_editor(code)
                self.show_code(code, "edited")

    def show_code(self, code: str, label: str) -> None:
        if self.options.interactive:
            from rich.syntax import Syntax

            self.console.print(f"[dim]# {_escape(label)}[/]")
            self.console.print(Syntax(code, "python", theme="ansi_dark", word_wrap=True))
        else:
            sys.stderr.write(code.rstrip("\n") + "\n")
            sys.stderr.flush()

    def run(self, code: str) -> Execution | None:
        if not code.strip():
            return None
        try:
            execution = self.session.execute(
                code, on_stdout=self._stdout, on_stderr=self._stderr
            )
        except ExecutionTimeoutError as exc:
            self.console.print(f"[red]{_escape(str(exc))}[/]", highlight=False)
            return None
        except KeyboardInterrupt:
            self.console.print("[yellow]KeyboardInterrupt: the session keeps its variables[/]")
            return None
        self.ran.append(code)
        error = execution.error
        if error is not None:
            text = error.traceback or f"{error.name}: {error.value}\n"
            # The local sandbox already streamed the traceback to stderr: show it once.
            if text.strip() not in execution.stderr:
                write_program_output(sys.stderr, text)
        write_program_output(sys.stdout, shown_text(execution, show_value=True))
        return execution

    @staticmethod
    def _stdout(text: str) -> None:
        write_program_output(sys.stdout, text)

    @staticmethod
    def _stderr(text: str) -> None:
        write_program_output(sys.stderr, text)

    # -- housekeeping ------------------------------------------------------------------------
    def show_history(self, limit: int) -> None:
        entries = self.session.entries(limit)
        if not entries:
            self.console.print("no history in this session yet")
        for entry in entries:
            first = (entry.prompt or entry.code or "").strip().splitlines()
            summary = first[0][:70] if first else ""
            status = "" if entry.exit_code in (None, 0) else f" (exit {entry.exit_code})"
            self.console.print(f"{entry.id:>5} {entry.kind:<3} {summary}{status}",
                               highlight=False, markup=False)

    def save(self, target: str) -> None:
        if not target:
            self.console.print("usage: /save FILE")
            return
        path = Path(target).expanduser()
        body = "\n\n".join(code.rstrip("\n") for code in self.ran) + "\n"
        path.write_text(body, encoding="utf-8")
        self.console.print(f"saved {len(self.ran)} piece(s) of code to {path}")

    def _ask(self, question: str) -> str:
        from prompt_toolkit import prompt

        try:
            return prompt(question)
        except EOFError:
            return "s"


def edit_in_editor(code: str) -> str:
    """Open the code in $VISUAL / $EDITOR (vi by default) and return what was saved."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as handle:
        handle.write(code)
        path = handle.name
    try:
        subprocess.run([*shlex.split(editor), path], check=False)
        return Path(path).read_text(encoding="utf-8")
    finally:
        os.unlink(path)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
