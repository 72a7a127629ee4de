"""The pipeline's vocabulary: the checks a candidate meets, in order, and what each can report.

A candidate program meets the checks in the order of `Stage`: the model answered with code
(``model``), it parses (``syntax``), it defines every name it uses (``names``), the setup code and
the program run (``setup``, ``run``), the run on known input shows a result (``output``), the
user's tests and check hold (``tests``, ``check``). The first that fails ends the candidate's
assessment with a `Failure`: typed fields, so no module reads another's message text.

Facts (a syntax error, a crash, a failed test) always count. A few checks infer instead: they can
call a correct program wrong. Each is a named `Heuristic` the caller can turn on or off
(`Checks`: ``checks=`` of `agentcode.generate`, ``checks`` in the config file, ``gen --checks``);
which are on by default is decided by their false-alarm rate on a corpus of correct programs
(benchmarks/false_alarms.py; docs/benchmarks.md, "False alarms"): a heuristic that fires on more
than 2% of them is off, and one on by default fires on none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    """Where a candidate failed; also the order in which the checks run (model first)."""

    MODEL = "model"
    SYNTAX = "syntax"
    NAMES = "names"
    SETUP = "setup"
    RUN = "run"
    OUTPUT = "output"
    TESTS = "tests"
    CHECK = "check"


class Kind(StrEnum):
    """What went wrong within a stage."""

    NO_CODE = "no-code"  # the model's reply held no usable program
    SYNTAX_ERROR = "syntax-error"
    UNDEFINED_NAME = "undefined-name"
    INPUT_LINES = "input-lines"  # Heuristic.INPUT_LINES
    RAISED = "raised"
    EXIT_STATUS = "exit-status"
    TIMEOUT = "timeout"
    NO_OUTPUT = "no-output"  # Heuristic.OUTPUT_EMPTY
    FILE_NOT_WRITTEN = "file-not-written"  # Heuristic.OUTPUT_FILE
    ECHO = "echo"  # Heuristic.OUTPUT_ECHO
    ERROR_PRINTED = "error-printed"  # Heuristic.OUTPUT_ERROR
    REVIEWED = "reviewed"  # Heuristic.OUTPUT_REVIEW: the model said the output misses the task
    TESTS_FAILED = "tests-failed"
    CHECK_FALSE = "check-false"


class Heuristic(StrEnum):
    """A check that infers rather than observes, by the name a user turns it off with."""

    # Pre-flight: a program reading input() fewer times than the known input has lines (several
    # calls, or one with a prompt) fails before running.
    INPUT_LINES = "input-lines"
    # Pre-flight: a second candidate that reads all of stdin where the program reads one
    # input() line or opens the path '-'/'stdin'; judged only when the original fails.
    STDIN_REWRITE = "stdin-rewrite"
    # Output of a clean run on known input (no tests, no check): printed nothing, wrote nothing.
    OUTPUT_EMPTY = "output-empty"
    # ... did not write a file the request names after a verb such as "write" or "save".
    OUTPUT_FILE = "output-file"
    # ... printed its input back unchanged.
    OUTPUT_ECHO = "output-echo"
    # ... printed what reads like an error message and exited 0.
    OUTPUT_ERROR = "output-error"
    # An inferred output failure that a different program repeats exactly is waived.
    WAIVER = "waiver"
    # A request with no known input that asks for output ("print ...", a question, "fibonacci
    # numbers below 100"), answered by a program that reads nothing: run it once with empty
    # stdin, so a crash or a clean run that printed nothing is repaired (checks/no_input.py).
    NO_INPUT_RUN = "no-input-run"
    # The first clean run on known input (no tests, no check) is shown to the model once: the
    # request, a sample of the input, the output; a "no" is repaired (generation/review.py).
    # Off by default: one more model request, not yet measured on the test split.
    OUTPUT_REVIEW = "output-review"


# Measured on benchmarks/false_alarms (benchmarks/results/false-alarms.json, docs/benchmarks.md
# "False alarms"): on by default are the heuristics that failed none of the corpus's correct
# programs (the rewrite and the waiver cannot fail one). Off: output-echo (a filter that keeps
# every line), output-error ("Error: 3 rows skipped") and output-empty (a filter that matches
# nothing) fired on more than 2%; input-lines on 1 of 122 ("the first line is a name and the
# second an age" read with two input() calls), and a check on by default must fail none.
# output-review asks the model, so the corpus cannot measure it: off until the test split has.
DEFAULT_ON: frozenset[Heuristic] = frozenset({
    Heuristic.STDIN_REWRITE, Heuristic.OUTPUT_FILE, Heuristic.WAIVER, Heuristic.NO_INPUT_RUN,
})


@dataclass(frozen=True, slots=True)
class Checks:
    """Which heuristic checks run. ``Checks()`` is the default set; see `Checks.parse`."""

    on: frozenset[Heuristic] = DEFAULT_ON

    def __contains__(self, heuristic: object) -> bool:
        return heuristic in self.on

    @classmethod
    def parse(cls, spec: str | Iterable[str] | Checks | None) -> Checks:
        """Checks from words applied in order to the defaults: ``NAME`` turns one on,
        ``no-NAME`` off, ``all`` / ``none`` / ``default`` set them all. A str is split at
        commas. Raises ValueError naming the unknown word."""
        if isinstance(spec, Checks):
            return spec
        if spec is None:
            return cls()
        words = spec.split(",") if isinstance(spec, str) else list(spec)
        on = set(DEFAULT_ON)
        for raw in words:
            word = raw.strip().lower()
            if not word:
                continue
            if word in ("all", "none", "default"):
                on = set(Heuristic) if word == "all" else set() if word == "none" \
                    else set(DEFAULT_ON)
                continue
            enable = not word.startswith("no-")
            name = word if enable else word[3:]
            try:
                heuristic = Heuristic(name)
            except ValueError:
                known = ", ".join(h.value for h in Heuristic)
                raise ValueError(f"unknown check {raw.strip()!r}: the checks are {known} "
                                 "(no-NAME turns one off; all, none, default)") from None
            (on.add if enable else on.discard)(heuristic)
        return cls(frozenset(on))

    def names(self) -> list[str]:
        return sorted(h.value for h in self.on)


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a candidate failed: where, what, the report the model is shown, and test counts.

    ``heuristic`` is set when the failure is an inference (`Heuristic`), not a fact; ``output``
    is then what the program printed (two programs that print the same thing, flagged the same
    way, waive it: `Heuristic.WAIVER`).
    """

    stage: Stage
    kind: Kind
    message: str
    tests_failed: int | None = None
    tests_total: int | None = None
    heuristic: Heuristic | None = None
    output: str = ""

    @property
    def before_running(self) -> bool:
        """Found without running the program (the pre-flight's stages)."""
        return self.stage in (Stage.SYNTAX, Stage.NAMES)
