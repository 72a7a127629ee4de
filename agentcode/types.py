"""Result types shared by every layer.

Plain dataclasses rather than pydantic models: `agentcode run` imports these on its start-up
path, and pydantic costs ~100 ms there (see docs/benchmarks.md). Each type round-trips through
``to_dict()`` / ``from_dict()`` and ``to_json()`` so the CLI's ``--json`` and the history store
share one wire format.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Self


def doc(text: str, default: Any = dataclasses.MISSING, *,
        factory: Any = dataclasses.MISSING, ge: float | None = None) -> Any:
    """A field with its description (and lower bound): the one definition the JSON schemas
    (`agentcode.api.schemas`) and the tool results are derived from."""
    metadata = {"doc": text, **({"ge": ge} if ge is not None else {})}
    return field(default=default, default_factory=factory, metadata=metadata)


class _Serializable:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(slots=True)
class Output(_Serializable):
    """One rich result, like a notebook cell's: the last expression's value, an object the code
    passed to ``display()``, or a figure it left open.

    ``png`` and ``jpeg`` are base64-encoded, ``svg`` is the SVG text. ``main`` marks the value of
    the code's last expression; ``name`` is set on an image the code saved (its work-dir path).
    """

    text: str | None = doc("Plain-text representation (repr).", None)
    html: str | None = doc("HTML representation, when the value has one.", None)
    png: str | None = doc("A PNG image, base64-encoded (matplotlib figures).", None)
    main: bool = doc("True for the value of the code's last expression.", False)
    jpeg: str | None = doc("A JPEG image, base64-encoded.", None)
    svg: str | None = doc("An SVG image (its text).", None)
    markdown: str | None = doc("Markdown, when the value has it.", None)
    name: str | None = doc("The work-dir path of an image the code saved.", None)

    def formats(self) -> list[str]:
        return [name for name in ("text", "html", "markdown", "png", "jpeg", "svg")
                if getattr(self, name) is not None]


@dataclass(slots=True)
class ExecutionError(_Serializable):
    """An exception raised by the user's code: data, not a failure of agentcode.

    ``frame_locals``: the variables of the program's innermost frame where it failed, name ->
    short repr (bounded in count and length), when the sandbox reports them (the local one
    does; {} otherwise). A repair is shown them.
    """

    name: str = doc("Exception class name, e.g. ValueError.")
    value: str = doc("str() of the exception.")
    traceback: str = doc("The formatted traceback.", "")
    frame_locals: dict[str, str] = doc(
        "Variables of the program's frame where it failed: name -> short repr (local sandbox "
        "only).", factory=dict)


@dataclass(slots=True)
class Execution(_Serializable):
    """What running a piece of code produced.

    ``error`` is set when the code raised; ``exit_code`` mirrors what ``python script.py`` would
    return (0, 1 on an exception, n for ``SystemExit(n)``).
    """

    stdout: str = doc("Captured standard output (capped).", "")
    stderr: str = doc("Captured standard error (capped).", "")
    stdout_dropped: int = doc("Bytes of stdout over the cap, not kept.", 0, ge=0)
    stderr_dropped: int = doc("Bytes of stderr over the cap, not kept.", 0, ge=0)
    outputs: list[Output] = doc("Rich results.", factory=list)
    error: ExecutionError | None = doc("Set when the code raised.", None)
    exit_code: int = doc("As `python script.py` would exit: 0, 1 on an exception, n for exit(n).",
                         0)
    duration_ms: float = doc("Wall-clock time of the execution.", 0.0, ge=0)
    backend: str = doc("The sandbox that ran the code: local, agentcore, ...", "")
    # One meaning on the way up: set by `Session.execute`, None at the sandbox layer.
    session_id: str | None = doc("The agentcode session the code ran in (its id in the history, "
                                 "the server and MCP); null for a one-shot run.", None)
    artifacts: list[str] = doc("Files the code left in its work dir (relative paths).",
                               factory=list)
    skipped_files: list[str] = doc(
        "Files not copied out to --out, each as 'name: reason' (exists, a link in the way, a "
        ".git directory, over the copy-out budget, ...).", factory=list)
    files: list[str] = doc("Work-dir files the code created or changed (relative paths), saved "
                           "or not.", factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.exit_code == 0

    @property
    def text(self) -> str | None:
        """The text of the main output (the last expression's repr), if any."""
        for out in self.outputs:
            if out.main:
                return out.text
        return None

    @property
    def displayed(self) -> list[str]:
        """The text form of the other outputs with one (what the code passed to display()):
        Markdown where the object has it, else its repr. Figures have none."""
        return [out.markdown or out.text or "" for out in self.outputs
                if not out.main and (out.markdown or out.text)]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        data = dict(data)
        data["outputs"] = [Output.from_dict(o) for o in data.get("outputs") or []]
        if data.get("error"):
            data["error"] = ExecutionError.from_dict(data["error"])
        return super(Execution, cls).from_dict(data)


@dataclass(slots=True)
class Attempt(_Serializable):
    """One call to one model: who answered (or not) and why."""

    model: str
    error: str | None = None
    duration_ms: float = 0.0
    retries: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


# Rounds after the first candidate that verification may draw, by default (CLI, library, server,
# MCP): repairs, then fresh draws. HumanEval with the embedded model gained 0.6 points at 2 and
# 9.2 at 8, almost all from the fresh draws after the first repair; a candidate that passes ends
# the loop, so the budget costs time only on tasks that keep failing (docs/benchmarks.md).
DEFAULT_MAX_REPAIRS = 8
# The same for the run `gen` makes on its own when it knows the input (piped data, --stdin,
# --file; no --verify): on the 51-task benchmark (2026-12-01) 26 tasks passed at the first
# round, 28 after 2 more and still 28 after 4 (30 after 8), while a task that never runs
# cleanly would spend all 9 rounds.
SMOKE_MAX_REPAIRS = 2


@dataclass(slots=True)
class RepairRound(_Serializable):
    """One round of verified generation: the candidate, what it did, who wrote it.

    ``stage`` is where a failed candidate failed ("preflight": it uses a name it never defines,
    found before running; "setup", "run"; "output": it ran on known input but its output did not
    show the task done (nothing printed or written, a file not written, or the output review's
    "no"); "tests" or "check"; "model" when the round's reply had no usable code, and
    ``code`` is empty);
    ``tests_failed`` of ``tests_total`` counts the user's tests when they ran; ``temperature`` is
    the sampling temperature the round was drawn at (None: the model's default); ``kind`` is how
    the candidate was asked for: "first", "repair" (shown the failure), "resample" (the
    original request drawn again, after a repair came back unchanged), "rewrite" (the
    pre-flight's, no model call) or "vote" (drawn to choose by agreement, after one passed).
    """

    code: str
    model: str
    passed: bool
    error: str | None = None
    stage: str | None = None
    tests_failed: int | None = None
    tests_total: int | None = None
    temperature: float | None = None
    kind: str = "first"


# What a generation's code went through, in words (never a bare "verified"): Generation.checked.
TESTS_PASSED = "tests passed"  # the user's tests and/or check held
RAN_ON_INPUT = "ran cleanly on the given input"  # stdin or files given, no tests
RAN_NO_INPUT = "ran cleanly (no input)"  # run once with empty stdin
NOT_RUN = "not run"
TESTS_FAILED = "failed the tests"
FAILED_ON_INPUT = "failed on the given input"
FAILED_NO_INPUT = "failed (no input)"


@dataclass(slots=True)
class Generation(_Serializable):
    """The code a model wrote for a prompt, and how it got there.

    ``checked`` says what the code went through: one of `TESTS_PASSED`, `RAN_ON_INPUT`,
    `RAN_NO_INPUT`, `NOT_RUN` or a failed form (`TESTS_FAILED`, `FAILED_ON_INPUT`,
    `FAILED_NO_INPUT`); `label` adds the rounds it took.
    """

    code: str
    model_id: str
    language: str = "python"
    prompt: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    verified: bool = False
    rounds: list[RepairRound] = field(default_factory=list)
    duration_ms: float = 0.0
    checked: str = NOT_RUN

    @property
    def failed(self) -> bool:
        """The code ran (or met the tests) and failed: ``checked`` is a failed form."""
        return self.checked in (TESTS_FAILED, FAILED_ON_INPUT, FAILED_NO_INPUT)

    @property
    def label(self) -> str:
        """``checked`` and, when the code ran, after how many rounds ("tests passed after 2
        rounds", "ran cleanly on the given input (1 round)")."""
        if self.checked == NOT_RUN or not self.rounds:
            return self.checked
        count = len(self.rounds)
        return f"{self.checked} ({count} round{'s' if count != 1 else ''})"

    @property
    def repairs(self) -> int:
        return max(0, len(self.rounds) - 1)

    @property
    def kept_round(self) -> int | None:
        """The index of the round whose candidate is ``code`` (None without rounds)."""
        return next((i for i, r in enumerate(self.rounds) if r.code == self.code), None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        data = dict(data)
        data["attempts"] = [Attempt.from_dict(a) for a in data.get("attempts") or []]
        data["rounds"] = [RepairRound.from_dict(r) for r in data.get("rounds") or []]
        return super(Generation, cls).from_dict(data)


@dataclass(slots=True)
class HistoryEntry(_Serializable):
    """One recorded `gen` or `run`, as the history store keeps it."""

    id: int
    kind: str  # "gen" or "run"
    created_at: str
    # The agentcode Session that ran it (`Session.id`: what its history entries carry and what
    # a server or MCP client passes back to use it again); None from a one-shot run
    # (`agentcode.execute`) and at the sandbox layer, below any Session.
    session_id: str | None = None
    prompt: str | None = None
    code: str | None = None
    model: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    stdout: str | None = None
    stderr: str | None = None
    exit_code: int | None = None
    duration_ms: float | None = None
    # Added by the history store (agentcode/store): details of what was recorded.
    error: str | None = None  # exception name when the code raised (e.g. "ValueError")
    backend: str | None = None  # sandbox that ran the code ("local", "agentcore", ...)
    language: str | None = None
    verified: bool | None = None  # gen only: whether the code passed verification
    checked: str | None = None  # gen only: Generation.label (None: recorded before it existed)
    stdout_dropped: int = 0  # bytes of stdout not kept (by the sandbox or the store's cap)
    stderr_dropped: int = 0
    code_dropped: int = 0  # bytes of code not kept (the store's cap)

    @property
    def failed(self) -> bool:
        """A run whose code raised or exited non-zero."""
        return bool(self.error) or (self.exit_code is not None and self.exit_code != 0)
