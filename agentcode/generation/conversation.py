"""A session's conversation: what was asked, the code that came back, and what running it did.

The model sees earlier turns as chat messages so that "now also plot it" means something. Each
turn is one user message (the request, preceded by the results of code that ran since the last
turn) and one assistant message (the code). Turns are trimmed oldest-first to a character budget,
because the embedded model has a small context window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strands.types.content import Messages

    from agentcode.types import Execution, HistoryEntry

# About 3,000 tokens of history: leaves room for the system prompt, the request and the answer in
# the embedded model's 8k-token context.
DEFAULT_BUDGET_CHARS = 12_000
_OUTPUT_TAIL = 1_000

SESSION_SYSTEM = (
    "This is an interactive session: code you wrote earlier already ran, and the variables, "
    "imports and functions it defined still exist. Build on them instead of repeating them."
)
# For `gen -c`: each program runs in a fresh process, so earlier answers are context, not state.
STANDALONE_SYSTEM = (
    "This continues an earlier conversation, but each program runs on its own in a new process: "
    "write a complete program that includes whatever it needs from the earlier answers."
)


@dataclass(slots=True)
class Ran:
    """Code that ran in the session and a short account of what it did."""

    code: str
    report: str
    generated: bool


@dataclass(slots=True)
class Turn:
    prompt: str
    code: str
    ran: list[Ran] = field(default_factory=list)  # what ran after this turn's code was written


def describe_execution(execution: Execution) -> str:
    """A few lines a model can act on: exit status, the tail of the output, the error."""
    lines = [f"exit code {execution.exit_code}"]
    if execution.stdout.strip():
        lines.append("stdout:\n" + _tail(execution.stdout))
    if execution.text is not None and execution.text != "None":
        lines.append("value: " + _tail(execution.text))
    if execution.error is not None:
        detail = execution.error.traceback or f"{execution.error.name}: {execution.error.value}"
        lines.append("error:\n" + _tail(detail))
    elif execution.stderr.strip():
        lines.append("stderr:\n" + _tail(execution.stderr))
    return "\n".join(lines)


def describe_entry(entry: HistoryEntry) -> str:
    """The same account, rebuilt from a history entry (for `Session.resume`)."""
    lines = [f"exit code {entry.exit_code}"]
    if entry.stdout and entry.stdout.strip():
        lines.append("stdout:\n" + _tail(entry.stdout))
    if entry.stderr and entry.stderr.strip():
        lines.append(("error:\n" if entry.error else "stderr:\n") + _tail(entry.stderr))
    return "\n".join(lines)


def _tail(text: str) -> str:
    text = text.rstrip("\n")
    if len(text) <= _OUTPUT_TAIL:
        return text
    return "…" + text[-_OUTPUT_TAIL:]


def _fence(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


def _user_text(prompt: str, ran: list[Ran]) -> str:
    parts = []
    for item in ran:
        if item.generated:
            parts.append(f"I ran that code. Result:\n{item.report}")
        else:
            parts.append(
                f"I also ran this code myself:\n{_fence(item.code)}\nResult:\n{item.report}"
            )
    parts.append(prompt)
    return "\n\n".join(parts)


class Conversation:
    """Turns so far, plus what ran since the last turn, rendered as strands messages."""

    def __init__(self, budget_chars: int = DEFAULT_BUDGET_CHARS) -> None:
        self.budget_chars = budget_chars
        self.turns: list[Turn] = []
        self.pending: list[Ran] = []  # ran before the first turn, or since the last one

    def add_turn(self, prompt: str, code: str) -> None:
        self.turns.append(Turn(prompt=_user_text(prompt, self.pending), code=code))
        self.pending = []

    def add_run(self, code: str, report: str) -> None:
        generated = bool(self.turns) and not self.pending and self.turns[-1].code == code
        self.pending.append(Ran(code=code, report=report, generated=generated))

    def clear(self) -> None:
        self.turns.clear()
        self.pending.clear()

    def messages(self, prompt: str) -> tuple[Messages, str]:
        """(history messages within budget, the new request with pending results folded in)."""
        request = _user_text(prompt, self.pending)
        budget = self.budget_chars - len(request)
        kept: list[Turn] = []
        for turn in reversed(self.turns):
            size = len(turn.prompt) + len(turn.code) + 20
            if size > budget:
                break
            kept.append(turn)
            budget -= size
        messages: Messages = []
        for turn in reversed(kept):
            messages.append({"role": "user", "content": [{"text": turn.prompt}]})
            messages.append({"role": "assistant", "content": [{"text": _fence(turn.code)}]})
        return messages, request
