"""What `agentcode gen` shows on a terminal while the model writes.

A spinner on stderr until code starts to arrive, then the code so far, syntax-highlighted, in a
transient live area on stderr (only the last lines that fit). When the call that streamed it
fails, a one-line marker says so and the area starts over, so a partial answer never shows twice.
When the answer is complete the live area disappears and the caller prints the final code once,
on stdout.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from agentcode.models.extract import partial_code

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live


class LiveCode:
    """Context manager fed by `generate`'s ``on_token`` / ``on_restart`` callbacks."""

    def __init__(self, console: Console, *, label: str = "generating", stream: bool = True) -> None:
        self.console = console
        self.label = label
        self.stream = stream
        self.reply = ""
        self._live: Live | None = None

    def __enter__(self) -> LiveCode:
        from rich.live import Live

        self._live = Live(self._spinner(), console=self.console, transient=True,
                          refresh_per_second=12)
        self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def token(self, text: str) -> None:
        self.reply += text
        if self.stream and self._live is not None:
            code = partial_code(self.reply)
            if code.strip():
                self._live.update(self._code_view(code))

    def restart(self, message: str) -> None:
        self.reply = ""
        if self._live is not None:
            self._live.console.print(f"[yellow]↻ {_escape(message)}[/]", highlight=False)
            self._live.update(self._spinner())

    def _spinner(self) -> RenderableType:
        from rich.spinner import Spinner

        return Spinner("dots", text=f"{self.label}…", style="cyan")

    def _code_view(self, code: str) -> RenderableType:
        from rich.syntax import Syntax

        room = max(3, self.console.size.height - 2)
        lines = code.split("\n")
        start = max(0, len(lines) - room)
        return Syntax("\n".join(lines[start:]), "python", theme="ansi_dark",
                      line_numbers=True, start_line=start + 1, word_wrap=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def print_code(console: Console, code: str) -> None:
    """The final program, highlighted, on ``console`` (stdout)."""
    from rich.syntax import Syntax

    console.print(Syntax(code.rstrip("\n"), "python", theme="ansi_dark", word_wrap=True))
