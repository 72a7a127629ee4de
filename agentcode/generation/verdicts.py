"""Each program judged once: the pre-flight, then the sandbox, and what a verdict remembers.

A program drawn again (the same AST, `rounds.same_code`) keeps its first verdict instead of
running again (docs/benchmarks.md, "Drawing candidates"). The program judged, and kept, is the
pre-flight's (with the imports that are certain); the pre-flight's rewrite that reads all of
stdin comes back beside the verdict, for the loop to judge as a candidate of its own. An
inferred failure that a different program repeats is waived (`Heuristic.WAIVER`), and with no
input known, a program that reads input is not run at all (`checks.no_input`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from agentcode.generation.pipeline import Checks, Failure, Heuristic, Kind
from agentcode.generation.rounds import same_code

if TYPE_CHECKING:
    from agentcode.generation.judge import Verifier

# An inferred output failure that a different program repeats is waived (Heuristic.WAIVER);
# a run that left no result at all is not: two programs that both do nothing are both wrong.
_WAIVABLE = frozenset(set(Heuristic) - {Heuristic.OUTPUT_EMPTY, Heuristic.NO_INPUT_RUN})

Verdict = tuple[Failure | None, str | None]  # the failure or None, and the pre-flight's rewrite


class Verdicts:
    """The verdicts of one verification: ``known`` names exist before the code runs (None:
    unknown, not checked); ``packages`` are the third-party modules the pre-flight may import;
    ``no_input``: no input is known and the request asks for output."""

    def __init__(self, verifier: Verifier, *, known: Collection[str] | None,
                 packages: Collection[str], checks: Checks, no_input: bool) -> None:
        self.verifier, self.checks, self.no_input = verifier, checks, no_input
        self.known = None if known is None else set(known)
        self.packages = set(packages)
        self._verdicts: dict[str, Verdict] = {}  # same_code key -> its verdict
        self._doubts: dict[tuple[Kind, str], str] = {}  # inferred failure -> first program so
        self._unrun: set[str] = set()  # keys of candidates returned without a run
        self._judged: dict[str, str] = {}  # key -> the code judged (the pre-flight's)
        self._outputs: dict[str, str] = {}  # key -> what its clean run did (agreement)
        self._shown: dict[str, str] = {}  # key -> what its clean run printed (the review)

    def seen(self, code: str) -> bool:
        """Whether ``code`` (or the same program laid out otherwise) was judged already."""
        return same_code(code) in self._verdicts

    def judged_code(self, code: str) -> str:
        """The program kept for ``code``: the pre-flight's, once judged."""
        return self._judged.get(same_code(code), code)

    def ran(self, code: str) -> bool:
        """False when ``code`` was returned unrun (it reads input none was given for)."""
        return same_code(code) not in self._unrun

    def output(self, code: str) -> str | None:
        """What the clean run of ``code`` printed and wrote (`agreement.output_key`), if kept."""
        return self._outputs.get(same_code(code))

    def shown(self, code: str) -> str | None:
        """What the clean run of ``code`` on known input printed and wrote, as text, when the
        output review is on (`generation.review`)."""
        return self._shown.get(same_code(code))

    def judge(self, code: str) -> Verdict:
        """The pre-flight (once), then the sandbox: the failure or None, and the rewrite the
        pre-flight offers as a second candidate."""
        from agentcode.generation.checks.preflight import preflight

        key = same_code(code)
        cached = self._verdicts.get(key)
        if cached is not None:
            return cached  # the same program again: its verdict stands
        checked = preflight(code, defined=self.known, stdin=self.verifier.stdin,
                            packages=self.packages, checks=self.checks)
        # Both keys name the pre-flight's program, so a repair that returns either is the same
        # program again.
        self._judged[key] = checked.code
        keys = {key, same_code(checked.code)}
        if self.unrun_by_request(checked.code) and checked.failure is None:
            self._unrun |= keys  # it reads input the request does not give: not judged by a run
            failure = None
        else:
            failure = checked.failure or self.verifier.assess(checked.code)
            if failure is None and self.verifier.last_shown is not None:
                self._shown.update(dict.fromkeys(keys, self.verifier.last_shown))
        if failure is None and self.verifier.last_output is not None:
            self._outputs.update(dict.fromkeys(keys, self.verifier.last_output))
        verdict = (self._settle(failure, key), checked.rewrite)
        self._verdicts.update(dict.fromkeys(keys, verdict))
        return verdict

    def unrun_by_request(self, code: str) -> bool:
        """With no input known (``no_input``), whether ``code`` stays unrun: it reads input
        (`checks.no_input.needs_input`), or the no-input run is turned off. In a session, the
        variables of earlier code are input too: a program that reads one is not run, so a
        run made only to check it never changes the session's state twice (``x += 1``)."""
        if not self.no_input:
            return False
        from agentcode.generation.checks.no_input import needs_input
        from agentcode.generation.checks.preflight import names_used

        return (Heuristic.NO_INPUT_RUN not in self.checks or needs_input(code) is not None
                or bool(self.known and names_used(code, self.known)))

    def _settle(self, failure: Failure | None, key: str) -> Failure | None:
        """Waive an inferred failure that a different program repeated exactly.

        The output checks infer; an input on which the right answer looks wrong (sorted lines
        given to "sort the lines" print back unchanged) would fail every round. Two programs
        that differ yet print the same thing, flagged the same way, most likely did what was
        asked: the second passes. Where the check was right, the answer is no worse than
        without the checks, which took the first of those programs.
        """
        if (failure is None or failure.heuristic not in _WAIVABLE
                or Heuristic.WAIVER not in self.checks):
            return failure
        first = self._doubts.setdefault((failure.kind, failure.output), key)
        return failure if first == key else None
