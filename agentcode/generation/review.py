"""The output review (`Heuristic.OUTPUT_REVIEW`): the model looks once at what a clean run printed.

A program can run cleanly on its input and still be wrong: on held-out tasks the embedded model
printed one IP five times for "the top 5 client IPs" and wrote a Markdown table of contents
wrongly, and no check that reads output alone can tell. Self-review methods (Self-Refine,
self-debugging with the execution result) show the model what the program did and ask whether
it does the task. Here that is one extra request, once per generation: the first candidate that
runs cleanly on known input (no tests, no check decide it) is shown to the model as the request,
a sample of the input and the program's output, and the model answers yes or no and why.

- "yes", or an answer that is neither (`parse_review`): the candidate stands. A reply the model
  could not give (an error) counts as "yes" too: the review never fails a correct program
  by itself.
- "no": the candidate fails with the reason (stage "output"), and the next round is a repair
  shown it. The "no" is a doubt, not a fact: when no later candidate runs cleanly, the reviewed
  one is kept (it did run cleanly), and a repair's clean run is not reviewed again.

It is off by default: it has not been measured on the task benchmark's test split
(docs/benchmarks.md); ``gen --checks output-review`` or ``checks=["output-review"]`` turns it on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strands.types.content import Messages

    from agentcode.config import Settings
    from agentcode.generation.codegen import AskOptions
    from agentcode.types import Attempt

# Short: a small model reads every line, and the answer's first word is all that is parsed.
REVIEW_SYSTEM = (
    "You check whether a program's output does what was asked. Answer with one word, yes or "
    "no, on the first line, then one sentence saying why."
)
# What the model is shown of the input and of the output: enough to judge, bounded.
INPUT_LINES = 20
INPUT_CHARS = 1500
OUTPUT_LINES = 30
OUTPUT_CHARS = 2000
REASON_CHARS = 400
_VERDICT = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Review:
    """The model's answer: ``ok`` False only for a plain "no"; ``reason`` its why."""

    ok: bool
    reason: str
    model: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)


def parse_review(text: str) -> tuple[bool | None, str]:
    """(True for yes, False for no, None when the answer is neither; the reason given)."""
    stripped = text.strip()
    found = _VERDICT.match(stripped)
    if found is None:
        return None, ""
    reason = " ".join(stripped[found.end():].split()).lstrip(".,:;-*) ").strip()
    if len(reason) > REASON_CHARS:
        reason = reason[:REASON_CHARS - 3] + "..."
    return found.group(1).lower() == "yes", reason


def _head(text: str, lines: int, chars: int) -> str:
    kept = text.splitlines()[:lines]
    out = "\n".join(kept)
    more = len(text.splitlines()) > lines or len(out) > chars
    out = out[:chars]
    return out + ("\n..." if more else "")


def _fenced(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"


def input_sample(stdin: bytes | None, files: Mapping[str, bytes],
                 args: Sequence[str] = ()) -> str:
    """The first lines of the program's input: stdin and each file, by name; its arguments."""
    parts: list[str] = [f"its arguments: sys.argv[1:] == {list(args)!r}"] if args else []
    sources = ([("stdin", stdin)] if stdin else []) + [(f"the file {name}", data)
                                                       for name, data in files.items()]
    for source, data in sources:
        text = data[:INPUT_CHARS * 2].decode("utf-8", errors="replace")
        parts.append(f"{source}:\n{_fenced(_head(text, INPUT_LINES, INPUT_CHARS))}")
    return "\n".join(parts)


def review_request(task: str, sample: str, output: str) -> str:
    """The one user turn of a review."""
    shown = _head(output, OUTPUT_LINES, OUTPUT_CHARS) if output.strip() else "(nothing)"
    return (
        f"The task: {task.strip()}\n\n"
        f"The program's input (the beginning):\n{sample}\n\n"
        f"What the program printed and wrote:\n{_fenced(shown)}\n\n"
        "Does this output do the task? Answer yes or no on the first line, then why."
    )


def rejection(reason: str, output: str) -> str:
    """The failure a "no" becomes, as the repair is shown it."""
    shown = _head(output, 8, 600) if output.strip() else "(nothing)"
    return (f"running the code: it ran cleanly, but a review of its output says it does not do "
            f"the task: {reason or 'no reason given'}\noutput (first lines):\n{shown}")


def review_output(task: str, sample: str, output: str, ask: AskOptions,
                  settings: Settings) -> Review:
    """Ask the model chain whether ``output`` does ``task``; an answer that is neither yes nor
    no, or none at all (every model failed), is "yes" (`Review.ok`)."""
    from agentcode.errors import ModelError
    from agentcode.generation.codegen import run_sync
    from agentcode.models.registry import candidates_for
    from agentcode.models.router import RetryPolicy, route

    messages: Messages = [
        {"role": "user", "content": [{"text": review_request(task, sample, output)}]}]
    try:
        reply = run_sync(route(
            candidates_for(ask.model, settings), messages,
            system_prompt=REVIEW_SYSTEM, accept=lambda text: text,
            policy=ask.policy or RetryPolicy.from_settings(settings), sampling=ask.sampling))
    except ModelError as exc:
        return Review(True, f"no review: {exc}".splitlines()[0], attempts=list(exc.attempts))
    verdict, reason = parse_review(reply.code)
    return Review(verdict is not False, reason, model=reply.model,
                  attempts=list(reply.attempts), usage=dict(reply.usage))
