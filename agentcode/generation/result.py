"""What verified generation returns: the kept round as a `Generation`, and what it went through.

`checked_label` says in words what the code met (`agentcode.types`: "tests passed", "ran
cleanly on the given input", "not run"); `unrun_generation` is the first candidate returned
without a run, where the run was optional and no sandbox could make it.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from agentcode.types import Attempt, Generation

if TYPE_CHECKING:
    from agentcode.generation.judge import Verifier


def add_usage(total: dict[str, int], usage: Mapping[str, int]) -> None:
    """Add a round's token counts to the verification's."""
    for key, value in usage.items():
        if isinstance(value, int):
            total[key] = total.get(key, 0) + value


def checked_label(verifier: Verifier, *, passed: bool, ran: bool = True) -> str:
    """What a verified generation's code went through, in words (`agentcode.types`); ``ran``
    False: the candidate was returned without a run (it reads input none was given for)."""
    from agentcode import types

    if not ran:
        return types.NOT_RUN
    if verifier.tests is not None or verifier.check is not None:
        return types.TESTS_PASSED if passed else types.TESTS_FAILED
    if verifier.stdin or verifier.files or verifier.args:
        return types.RAN_ON_INPUT if passed else types.FAILED_ON_INPUT
    return types.RAN_NO_INPUT if passed else types.FAILED_NO_INPUT


def unrun_generation(first: Generation, *, prompt: str, packages: Collection[str],
                     known: Collection[str] | None, attempts: list[Attempt],
                     usage: dict[str, int], started: float) -> Generation:
    """The first candidate, unrun (no sandbox for an optional run), with the imports the
    pre-flight finds certain (``packages``: the third-party modules it may import)."""
    from agentcode.generation.checks.preflight import preflight

    code = preflight(first.code, packages=packages, defined=known).code
    return Generation(code=code, model_id=first.model_id, prompt=prompt, attempts=attempts,
                      usage=usage, duration_ms=(time.perf_counter() - started) * 1000)
