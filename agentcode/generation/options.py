"""What verification runs and how hard it tries (`VerifyOptions`), checked once before the loop.

`generation.verify.generate_verified` takes these; `generation.request.build_request` makes them
from `agentcode.generate`'s options.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentcode.errors import UsageError
from agentcode.generation.pipeline import Checks
from agentcode.types import DEFAULT_MAX_REPAIRS, RepairRound

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.sandbox.base import SandboxSession

# Hot enough that a repair differs from the candidate it repairs, cool enough to stay on task.
REPAIR_TEMPERATURE = 0.7

RoundCallback = Callable[[RepairRound, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyOptions:
    """What verification runs and how hard it tries; see `generate_verified`."""

    tests: str | os.PathLike[str] | None = None
    check: str | None = None
    max_repairs: int = DEFAULT_MAX_REPAIRS
    stdin: bytes | str | os.PathLike[str] | None = None
    files: Mapping[str, bytes] | Sequence[str | os.PathLike[str]] | None = None
    # The program's arguments: its sys.argv[1:] (sys.argv[0] is "-", as for `agentcode run -`).
    args: Sequence[str] = ()
    sandbox: SandboxSession | str | None = None
    setup: str | None = None
    repair_temperature: float = REPAIR_TEMPERATURE
    on_round: RoundCallback | None = None
    # Candidates drawn together after a failure (None: as many as the model decodes at once).
    parallel: int | None = None
    # A failed run's repair is shown the failing frame's variables (`judge.frame_variables`).
    show_variables: bool = True
    # The heuristic checks that run (None: the defaults; see generation.pipeline.Checks).
    checks: Checks | None = None
    # The run is the library's choice, not the caller's: where no sandbox can run it, the first
    # candidate comes back unrun (checked "not run", no second model request) and
    # ``on_warning`` (else the log) says why.
    optional_run: bool = False
    on_warning: Callable[[str], None] | None = None
    # No input is known and the request asks for output: each candidate that needs no input is
    # run once with empty stdin; one that reads input is returned unrun (checks/no_input.py,
    # Heuristic.NO_INPUT_RUN; off, nothing runs).
    no_input: bool = False
    # Candidates in all when the first passes on known input (no tests): the others are drawn
    # and run too, and the largest group of equal outputs wins (generation.agreement); 1: off.
    agreement: int = 1

    def validate(self) -> None:
        """Raise `UsageError` for a budget or sampling no run can have."""
        from agentcode.models.sampling import Sampling

        if self.max_repairs < 0:
            raise UsageError(f"max_repairs must be 0 or more, not {self.max_repairs}")
        try:
            Sampling(self.repair_temperature)  # checks the range where sampling is defined
        except ValueError as exc:
            raise UsageError(f"repair_temperature: {exc}") from None
        if self.parallel is not None and self.parallel < 1:
            raise UsageError(f"parallel must be 1 or more, not {self.parallel}")
        if self.agreement < 1:
            raise UsageError(f"agreement must be 1 or more candidates, not {self.agreement}")


def configured_checks(settings: Settings, extra: Sequence[str] = ()) -> Checks:
    """The heuristic checks the config file (``checks``) and then ``extra`` words choose."""
    try:
        return Checks.parse([*settings.checks, *extra])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
