"""How candidates are asked for: the first answer, a repair shown the failure, fresh draws.

A repair is one more turn of the conversation (the task, the candidate that failed as the
model's answer, then its failure: `repair_history`, `repair_request`); a fresh draw asks the
original request again at the repair temperature, several decoded together where the model can
(`draw_batch`). A model error takes the place of an answer (`Draw.outcome`): a spent round, not
the end of verification (`model_failure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from agentcode.errors import ModelError
from agentcode.generation.judge import first_line
from agentcode.generation.pipeline import Failure, Kind, Stage
from agentcode.types import Generation

if TYPE_CHECKING:
    from strands.types.content import Messages

    from agentcode.config import Settings
    from agentcode.generation.codegen import AskOptions

# How a round's candidate was asked for (`RepairRound.kind`).
DrawKind = Literal["first", "repair", "resample", "rewrite", "vote"]


@dataclass(slots=True)
class Draw:
    """One candidate to judge, and how it came: the model's answer, or why there was none."""

    kind: DrawKind
    temperature: float | None
    outcome: Generation | ModelError


def repair_request(failure: Failure) -> str:
    """The user turn that follows a failed candidate: what went wrong, and what to send back."""
    lead = "That code" if failure.before_running else "Running that code"
    return (
        f"{lead} failed:\n{failure.message}\n\n"
        "Fix the code so that it does the task and passes. Reply with the complete corrected "
        "program in one ```python block."
    )


def repair_history(
    prompt: str, code: str, *, context: str | None, history: Messages | None
) -> Messages:
    """The conversation so far, as the model sees it: the task and the candidate that failed.

    Only the latest candidate is kept (not every failed one), so a small model's context stays
    short however many rounds run.
    """
    from agentcode.generation.codegen import build_messages

    messages = build_messages(prompt, context=context, history=history)
    messages.append(
        {"role": "assistant", "content": [{"text": f"```python\n{code.rstrip()}\n```"}]}
    )
    return messages


def answer(prompt: str, ask: AskOptions, settings: Settings) -> Generation | ModelError:
    """One answer of the chain, or the model error that took its place (a spent round)."""
    from agentcode.generation.codegen import generate_code

    try:
        return generate_code(prompt, ask, settings=settings)
    except ModelError as exc:
        return exc


def draw_batch(prompt: str, ask: AskOptions, settings: Settings, *, n: int, seed: int,
               temperature: float, model_id: str) -> list[Generation | ModelError]:
    """``n`` fresh draws of ``prompt`` decoded together (nothing streams), by the model that
    answered (``model_id``; empty: the chain's first)."""
    from agentcode.generation.codegen import adraw_codes, run_sync

    return run_sync(adraw_codes(prompt, ask.but(on_token=None), n=n, seed=seed,
                                temperature=temperature, settings=settings,
                                model_id=model_id or None))


def model_failure(error: ModelError) -> Failure:
    """A round the model did not answer with usable code, as the failure the loop ranks."""
    reasons = " ".join(line.strip() for line in str(error).splitlines())
    return Failure(Stage.MODEL, Kind.NO_CODE, f"no usable code: {first_line(reasons, 300)}")


def plan_text(failure: Failure, *, repair: bool, stuck: bool, index: int, size: int,
              max_repairs: int) -> str:
    """What a live display says when it drops the streamed candidate for the next round(s)."""
    changed = " (the repair changed nothing)" if stuck else ""
    if repair:
        plan = f"repair {index}/{max_repairs}"
    elif size == 1:
        plan = f"a fresh draw{changed} {index}/{max_repairs}"
    else:
        plan = f"{size} fresh draws at once{changed}, {index}-{index + size - 1}/{max_repairs}"
    return f"verification failed ({first_line(failure.message)}): {plan}"
