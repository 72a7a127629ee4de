"""Verified generation: run each candidate in the sandbox and let the model repair what fails.

A round is: ask the model (through `agentcode.codegen.generate_code`, so any model works, local or
Bedrock), run the code in the sandbox (with the given stdin and files), then the user's tests and
``check`` expression in the same sandbox session. A candidate fails when it raises, exits non-zero,
runs past the time limit, or fails a test or the check; the failure, bounded to the lines that
matter, goes back to the model with the code, up to ``max_repairs`` times. Every round is recorded
on `Generation.rounds`; ``verified`` is true only when the last round passed. A failed
verification is data (``verified=False``), not an exception: the caller still gets the code.

Three choices, all from measuring the embedded 1.5B model on HumanEval (docs/benchmarks.md):

- the first round uses the model's own sampling (greedy locally); later rounds are drawn at
  ``repair_temperature`` with a seed per round, because greedy repair returned the very code that
  had just failed in 37 of 38 rounds;
- a repair round shows the model the failure; once a repair comes back as code already tried
  (the model is stuck on its own answer), the remaining rounds are fresh draws from the original
  request instead. Sampled repairs of the 1.5B model still mostly copied the failed code, while
  fresh draws differed every time, passed the examples more often, and cost a third of the time
  (the prompt's prefix stays in llama.cpp's cache);
- the repair request is built on the best candidate so far, not the latest, and when no round
  passes, the result is the best candidate (fewest failed tests; the earliest of equals). A
  sampled repair is as likely to be worse as better, and must not replace a nearer miss.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agentcode.errors import (
    ExecutionTimeoutError,
    ModelError,
    ModelUnavailableError,
    NoUsableCodeError,
    UsageError,
)
from agentcode.types import Attempt, Execution, Generation, RepairRound
from agentcode.verify_tests import TestSource, check_code, load_tests, tests_code, validate_check

if TYPE_CHECKING:
    from strands.types.content import Messages

    from agentcode.codegen import AskOptions
    from agentcode.config import Settings
    from agentcode.sandbox.base import SandboxSession

# What of a failed run goes back to the model: enough to locate the bug, little enough that a
# small model's context is not flooded by a program that printed a million lines.
TRACE_LINES = 15
STDERR_LINES = 12
STDOUT_LINES = 8
MAX_FEEDBACK_CHARS = 3000
NO_OUTPUT = (
    "running the code: it exited without error but printed nothing and wrote no file; "
    "it must print the result (read the whole input; do not skip rows you cannot parse)"
)
# Hot enough that a repair differs from the candidate it repairs, cool enough to stay on task.
REPAIR_TEMPERATURE = 0.7
_COUNTS = re.compile(r"^(\d+) of (\d+) tests failed")
# How far a candidate got, worst first: it could not even run, ..., it passed.
_STAGE_RANK = {
    "model": 6.0, "setup": 5.0, "preflight": 4.5, "run": 4.0, "output": 3.0, "tests": 2.0,
    "check": 1.0,
}

RoundCallback = Callable[[RepairRound, int], None]


def _tail(text: str, lines: int, chars: int) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    out = "\n".join(kept)
    return out if len(out) <= chars else "..." + out[-chars:]


def describe_failure(stage: str, execution: Execution, *, timeout: float | None = None) -> str:
    """A bounded report of a failed run: what happened, the traceback tail, some output."""
    parts: list[str] = []
    error = execution.error
    if timeout is not None:
        parts.append(
            f"{stage}: timed out after {timeout:g} s (an endless loop, or waiting for input?)"
        )
    elif error is not None and stage == "tests" and error.name == "AssertionError":
        parts.append(f"the tests failed: {error.value}")
    elif error is not None and stage == "the check" and error.name == "AssertionError":
        parts.append(f"the code ran, but the {error.value}")
    elif error is not None:
        parts.append(f"{stage}: raised {error.name}: {error.value}")
        if error.traceback.strip():
            parts.append("traceback (last lines):\n" + _tail(error.traceback, TRACE_LINES, 1500))
    else:
        parts.append(f"{stage}: exited with status {execution.exit_code}")
    if execution.stderr.strip() and (
        error is None or execution.stderr.strip() not in error.traceback
    ):
        parts.append("stderr (last lines):\n" + _tail(execution.stderr, STDERR_LINES, 1000))
    if execution.stdout.strip():
        dropped = execution.stdout_dropped
        note = f" ({dropped} bytes not kept)" if dropped else ""
        parts.append(f"stdout (last lines{note}):\n" + _tail(execution.stdout, STDOUT_LINES, 600))
    text = "\n".join(parts)
    return text if len(text) <= MAX_FEEDBACK_CHARS else text[:MAX_FEEDBACK_CHARS] + "\n..."


def first_line(failure: str, limit: int = 160) -> str:
    """The gist of a failure report, for one-line messages."""
    line = next((text.strip() for text in failure.splitlines() if text.strip()), "failed")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def repair_request(failure: str) -> str:
    """The user turn that follows a failed candidate: what went wrong, and what to send back."""
    lead = "That code" if failure.startswith("checked before running") else "Running that code"
    return (
        f"{lead} failed:\n{failure}\n\n"
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
    from agentcode.codegen import build_messages

    messages = build_messages(prompt, context=context, history=history)
    messages.append(
        {"role": "assistant", "content": [{"text": f"```python\n{code.rstrip()}\n```"}]}
    )
    return messages


def _stdin_bytes(stdin: bytes | str | os.PathLike[str] | None) -> bytes | None:
    if stdin is None or isinstance(stdin, bytes):
        return stdin
    if isinstance(stdin, str):
        return stdin.encode("utf-8")
    path = Path(stdin)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read stdin file {path}: {exc.strerror or exc}") from None


def _file_map(
    files: Mapping[str, bytes] | Sequence[str | os.PathLike[str]] | None,
) -> dict[str, bytes]:
    """Files for the work dir: a mapping of names to bytes, or host paths (kept by base name)."""
    if not files:
        return {}
    if isinstance(files, Mapping):
        return dict(files)
    out: dict[str, bytes] = {}
    for item in files:
        path = Path(item)
        try:
            out[path.name] = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --file {path}: {exc.strerror or exc}") from None
    return out


class Verifier:
    """Runs candidates in a sandbox: a fresh session per candidate unless one is given."""

    def __init__(
        self,
        settings: Settings,
        *,
        sandbox: SandboxSession | str | None = None,
        stdin: bytes | None = None,
        files: Mapping[str, bytes] | None = None,
        tests: TestSource | None = None,
        check: str | None = None,
        setup: str | None = None,
    ) -> None:
        self.settings = settings
        self.shared = None if sandbox is None or isinstance(sandbox, str) else sandbox
        self.backend = sandbox if isinstance(sandbox, str) else settings.sandbox
        self.stdin = stdin
        self.files = dict(files or {})
        self.tests = tests
        self.check = check
        self.setup = setup

    def _open(self) -> SandboxSession:
        from agentcode.sandbox import open_sandbox

        return open_sandbox(self.backend, self.settings)

    def run(self, code: str) -> str | None:
        """None when the candidate passes, else a bounded description of the failure."""
        return self.assess(code).failure

    def assess(self, code: str) -> Assessment:
        """How the candidate did: whether it passed, where it failed and how many tests failed."""
        session = self.shared if self.shared is not None else self._open()
        try:
            return self._run_in(session, code)
        finally:
            if self.shared is None:
                session.close()

    def _run_in(self, session: SandboxSession, code: str) -> Assessment:
        timeout = self.settings.timeout
        if self.files:
            session.write_files(self.files)
        steps: list[tuple[str, str, str, bytes | None]] = []
        if self.setup:
            steps.append(("setup", "the setup code", self.setup, None))
        steps.append(("run", "running the code", code, self.stdin))
        if self.tests is not None:
            steps.append(("tests", "tests", tests_code(self.tests), None))
        if self.check is not None:
            steps.append(("check", "the check", check_code(self.check), None))
        before = set(session.list_files()) if self.expects_output else set()
        for key, stage, source, stdin in steps:
            try:
                execution = session.execute(source, timeout=timeout, stdin=stdin)
            except ExecutionTimeoutError as exc:
                partial = exc.execution or Execution()
                return Assessment(describe_failure(stage, partial, timeout=timeout), key)
            if not execution.ok:
                failed = total = None
                if key == "tests" and execution.error is not None:
                    counts = _COUNTS.match(execution.error.value)
                    if counts:
                        failed, total = int(counts[1]), int(counts[2])
                return Assessment(describe_failure(stage, execution), key, failed, total)
            if key == "run" and self.expects_output and not self._left_a_result(
                session, execution, before
            ):
                return Assessment(NO_OUTPUT, "output")
        return Assessment(None)

    @property
    def expects_output(self) -> bool:
        """A run on known input with nothing else to judge it must show a result: a program
        that prints nothing and writes nothing has not done the task (a repair that guards
        every line with ``if`` "passes" that way)."""
        given = bool(self.stdin) or bool(self.files)
        return given and self.tests is None and self.check is None and self.shared is None

    def _left_a_result(
        self, session: SandboxSession, execution: Execution, before: set[str]
    ) -> bool:
        if execution.stdout.strip() or execution.outputs:
            return True
        after = set(session.list_files())
        if after - before:
            return True
        return any(session.read_file(name) != data for name, data in self.files.items()
                   if name in after)


@dataclass(frozen=True, slots=True)
class Assessment:
    """A candidate's verdict: ``failure`` is None when it passed (see `Verifier.assess`)."""

    failure: str | None
    stage: str | None = None
    tests_failed: int | None = None
    tests_total: int | None = None

    @property
    def passed(self) -> bool:
        return self.failure is None


def round_rank(round_: RepairRound) -> tuple[float, float]:
    """Lower is nearer to passing: by how far the candidate got, then by its share of failed
    tests. The order in which `generate_verified` picks the candidate to repair and to return."""
    if round_.passed:
        return (0.0, 0.0)
    stage = _STAGE_RANK.get(round_.stage or "run", 4.0)
    if round_.stage == "tests" and round_.tests_failed is not None and round_.tests_total:
        return (stage, round_.tests_failed / round_.tests_total)
    return (stage, 1.0)


def same_code(code: str) -> str:
    """A key equal for candidates that differ only in layout or comments."""
    import ast

    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        return code.strip()


def best_round(rounds: Sequence[RepairRound]) -> int:
    """The index of the best round: the first that passed, else the nearest miss (earliest of
    equals)."""
    return min(range(len(rounds)), key=lambda index: (round_rank(rounds[index]), index))


def _merge_usage(total: dict[str, int], usage: Mapping[str, int]) -> None:
    for key, value in usage.items():
        if isinstance(value, int):
            total[key] = total.get(key, 0) + value


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyOptions:
    """What verification runs and how hard it tries; see `generate_verified`."""

    tests: str | os.PathLike[str] | None = None
    check: str | None = None
    max_repairs: int = 2
    stdin: bytes | str | os.PathLike[str] | None = None
    files: Mapping[str, bytes] | Sequence[str | os.PathLike[str]] | None = None
    sandbox: SandboxSession | str | None = None
    setup: str | None = None
    repair_temperature: float = REPAIR_TEMPERATURE
    on_round: RoundCallback | None = None


def generate_verified(
    prompt: str,
    verification: VerifyOptions | None = None,
    *,
    ask: AskOptions | None = None,
    settings: Settings | None = None,
) -> Generation:
    """Generate code for ``prompt``, run it, and repair it until it passes or rounds run out.

    ``verification`` (`VerifyOptions`): ``tests`` is a test file (``Path``) or test source
    (``str``); ``check`` an expression that must be true after the code ran; ``stdin`` and
    ``files`` are what the code gets when run; ``sandbox`` a backend name or an open session (a
    `Session`'s: candidates then share it); ``setup`` code run before each candidate (not shown
    to the model). A candidate that uses a name it never defines fails the static pre-flight
    (`agentcode.preflight`) without running (stage "preflight"); imports that are certain were
    added already; ``ask.known_names`` exist before the code runs (default: none, or unknown
    when ``sandbox`` is an open session). A repair round is one more turn of the conversation:
    the task, the best candidate so far as the model's answer, then its failure; once a repair
    returns code already tried, later rounds resample the original request instead. Both are
    drawn at ``repair_temperature`` (0 makes them greedy) with the round's index as seed.
    ``on_round`` is called after each round with the round and its index (0 for the first).

    ``ask`` (`agentcode.codegen.AskOptions`: model, system, context, history, on_token, ...)
    goes to every round's `generate_code`; its ``sampling`` is the first round's (default: the
    model's own).

    The result's ``code`` is the candidate that passed, or when none did, the best one
    (`best_round`); ``verified`` says whether it passed.
    """
    from agentcode.codegen import AskOptions, generate_code
    from agentcode.config import load_settings
    from agentcode.models.sampling import Sampling
    from agentcode.preflight import defined_names, describe_problems, preflight

    options = verification or VerifyOptions()
    ask = ask or AskOptions()
    max_repairs = options.max_repairs
    if max_repairs < 0:
        raise UsageError(f"max_repairs must be 0 or more, not {max_repairs}")
    try:
        Sampling(options.repair_temperature)  # checks the range once, where sampling is defined
    except ValueError as exc:
        raise UsageError(f"repair_temperature: {exc}") from None
    settings = settings or load_settings()
    # An open sandbox session may hold variables we never saw: then names are not checked,
    # unless the caller (a Session) says which exist.
    shared = options.sandbox is not None and not isinstance(options.sandbox, str)
    known: set[str] | None = (
        None if ask.known_names is None or (shared and ask.known_names == ())
        else set(ask.known_names)
    )
    if known is not None and options.setup:
        known |= defined_names(options.setup)
    verifier = Verifier(
        settings,
        sandbox=options.sandbox,
        stdin=_stdin_bytes(options.stdin),
        files=_file_map(options.files),
        tests=load_tests(options.tests),
        check=validate_check(options.check),
        setup=options.setup,
    )
    prompt_history, context = ask.history, ask.context
    started = time.perf_counter()
    rounds: list[RepairRound] = []
    attempts = []
    usage: dict[str, int] = {}
    request, turns, data = prompt, prompt_history, context
    draw = ask.sampling
    kind = "first"
    tried: set[str] = set()
    last_error: ModelError | None = None
    for index in range(max_repairs + 1):
        try:
            candidate = generate_code(
                request,
                ask.but(context=data, history=turns, sampling=draw, known_names=known,
                        repair_preflight=False),
                settings=settings,
            )
        except ModelError as exc:
            if not rounds and not isinstance(exc, NoUsableCodeError):
                raise  # no model could answer at all: that is the caller's error to see
            last_error = exc
            attempts.extend(exc.attempts or [Attempt(model="?", error=str(exc))])
            if isinstance(exc, ModelUnavailableError):
                break  # no model left to ask: keep the best candidate
            # A draw with no usable code (sampling can garble a reply): the round is spent.
            code, model_id = "", ""
            reasons = " ".join(line.strip() for line in str(exc).splitlines())
            verdict = Assessment(f"no usable code: {first_line(reasons, 300)}", "model")
            stuck = True
        else:
            code, model_id = candidate.code, candidate.model_id
            stuck = kind == "repair" and same_code(candidate.code) in tried
            tried.add(same_code(candidate.code))
            attempts.extend(candidate.attempts)
            _merge_usage(usage, candidate.usage)
            problems = preflight(candidate.code, defined=known,
                                 stdin=verifier.stdin).problems
            verdict = (
                Assessment(describe_problems(problems), "preflight")
                if problems
                else verifier.assess(candidate.code)
            )
        this_round = RepairRound(
            code=code,
            model=model_id,
            passed=verdict.passed,
            error=verdict.failure,
            stage=verdict.stage,
            tests_failed=verdict.tests_failed,
            tests_total=verdict.tests_total,
            temperature=None if draw is None else draw.temperature,
            kind=kind,
        )
        rounds.append(this_round)
        if options.on_round is not None:
            options.on_round(this_round, index)
        if verdict.passed or index == max_repairs:
            break
        base = rounds[best_round(rounds)]
        assert base.error is not None  # no round passed
        if stuck or kind == "resample":
            kind = "resample"  # the original request again, drawn afresh
            request, turns, data = prompt, prompt_history, context
        else:
            kind = "repair"
            request = repair_request(base.error)
            turns = repair_history(prompt, base.code, context=context, history=prompt_history)
            data = None  # the data context is already in the first user turn
        notify = ask.on_restart
        if notify is not None:  # a live display drops the streamed candidate and says why
            how = "repair" if kind == "repair" else "a fresh draw (the repair changed nothing)"
            notify(f"verification failed ({first_line(verdict.failure or '')}): "
                   f"{how} {index + 1}/{max_repairs}")
        draw = Sampling(temperature=options.repair_temperature, seed=index + 1)
    final = rounds[best_round(rounds)]  # a round without code ranks last
    if not final.code and last_error is not None:
        raise last_error  # no round gave code to return
    return Generation(
        code=final.code,
        model_id=final.model,
        prompt=prompt,
        attempts=attempts,
        usage=usage,
        verified=final.passed,
        rounds=rounds,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
