"""Verified generation: run each candidate in the sandbox and let the model repair what fails.

A round is: ask the model (through `generation.codegen.generate_code`, so any model works, local or
Bedrock), run the code in the sandbox (with the given stdin and files), then the user's tests and
``check`` expression in the same sandbox session (`generation.judge`). A candidate fails when it
raises, exits non-zero, runs past the time limit, or fails a test or the check (without tests,
a run on known input must also show it did the task: `generation.checks.output`); the failure,
bounded to the lines that matter, goes back to the model with the code, up to ``max_repairs``
times. Every round is recorded
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

Two more, from 2026-12-01 (docs/benchmarks.md, "Drawing candidates"): a program drawn again (the
same AST) keeps its first verdict instead of running again; and where the model decodes several
sequences at once (the embedded model with ``local_parallel`` slots) the fresh draws come several
per call, never beside a repair. The embedded model has one slot by default: on 2 cores a batch of
four took 0.92x the time of four draws in a row, which can stop at the first that passes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentcode.errors import (
    ModelError,
    ModelUnavailableError,
    NoUsableCodeError,
    SandboxUnavailableError,
    UsageError,
)
from agentcode.generation.checks.user_tests import load_tests, validate_check
from agentcode.generation.judge import Verifier, first_line
from agentcode.generation.pipeline import Checks, Failure, Heuristic, Kind, Stage
from agentcode.generation.rounds import (  # noqa: F401 - also importable from here
    best_round,
    file_map,
    round_rank,
    same_code,
    stdin_bytes,
)
from agentcode.types import DEFAULT_MAX_REPAIRS, Attempt, Generation, RepairRound

if TYPE_CHECKING:
    from strands.types.content import Messages

    from agentcode.config import Settings
    from agentcode.generation.codegen import AskOptions
    from agentcode.sandbox.base import SandboxSession

logger = logging.getLogger(__name__)
# Hot enough that a repair differs from the candidate it repairs, cool enough to stay on task.
REPAIR_TEMPERATURE = 0.7
# An inferred output failure that a different program repeats is waived (Heuristic.WAIVER);
# a run that left no result at all is not: two programs that both do nothing are both wrong.
_WAIVABLE = frozenset(set(Heuristic) - {Heuristic.OUTPUT_EMPTY, Heuristic.NO_INPUT_RUN})

RoundCallback = Callable[[RepairRound, int], None]


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


def _merge_usage(total: dict[str, int], usage: Mapping[str, int]) -> None:
    for key, value in usage.items():
        if isinstance(value, int):
            total[key] = total.get(key, 0) + value


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyOptions:
    """What verification runs and how hard it tries; see `generate_verified`."""

    tests: str | os.PathLike[str] | None = None
    check: str | None = None
    max_repairs: int = DEFAULT_MAX_REPAIRS
    stdin: bytes | str | os.PathLike[str] | None = None
    files: Mapping[str, bytes] | Sequence[str | os.PathLike[str]] | None = None
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


@dataclass(slots=True)
class _Draw:
    """One candidate to judge, and how it came: the model's answer, or why there was none."""

    kind: str
    temperature: float | None
    outcome: Generation | ModelError


def _answer(prompt: str, ask: AskOptions, settings: Settings) -> Generation | ModelError:
    """One answer of the chain, or the model error that took its place (a spent round)."""
    from agentcode.generation.codegen import generate_code

    try:
        return generate_code(prompt, ask, settings=settings)
    except ModelError as exc:
        return exc


class _Loop:
    """The rounds of one `generate_verified` call: ask, judge, and plan the next batch."""

    def __init__(self, prompt: str, ask: AskOptions, settings: Settings, verifier: Verifier,
                 known: set[str] | None, options: VerifyOptions) -> None:
        self.prompt, self.ask, self.settings = prompt, ask, settings
        self.verifier, self.known, self.options = verifier, known, options
        self.rounds: list[RepairRound] = []
        self.failures: list[Failure | None] = []  # beside rounds: each round's typed failure
        self.packages: set[str] = set()  # third-party modules the pre-flight may import
        self.attempts: list[Attempt] = []
        self.usage: dict[str, int] = {}
        self.last_error: ModelError | None = None
        self.checks = options.checks or Checks()
        # same_code key -> (failure or None, the pre-flight's rewrite): each program judged once
        self.verdicts: dict[str, tuple[Failure | None, str | None]] = {}
        self.doubts: dict[tuple[Kind, str], str] = {}  # inferred failure -> first program so
        self.unrun: set[str] = set()  # same_code keys of candidates returned without a run
        self.judged: dict[str, str] = {}  # same_code key -> the code judged (the pre-flight's)
        self.outputs: dict[str, str] = {}  # same_code key -> what its clean run did (agreement)
        self.stuck = False  # a repair came back as code already tried: only fresh draws now
        self.out_of_models = False
        self._width = options.parallel  # None: asked of the model when first needed

    def width(self, model_id: str) -> int:
        """Fresh draws decoded together: the caller's ``parallel``, else what the model that
        answered can do. Asked once, and only when fresh draws are due (it loads the model)."""
        if self._width is None:
            from agentcode.generation.codegen import parallel_draws

            self._width = parallel_draws(self.ask, self.settings, model_id or None)
        return self._width

    @property
    def asked(self) -> int:
        """Rounds the model answered (or failed to); a rewrite of the pre-flight is no round
        of the budget."""
        return sum(1 for r in self.rounds if r.kind != "rewrite")

    def done(self, max_repairs: int) -> bool:
        return (self.out_of_models or self.asked > max_repairs
                or any(r.passed for r in self.rounds))

    def ask_first(self) -> _Draw:
        from agentcode.generation.codegen import generate_code

        sampling = self.ask.sampling
        temperature = None if sampling is None else sampling.temperature
        try:
            return _Draw("first", temperature, generate_code(
                self.prompt, self.ask.but(known_names=self.known, preflight=False),
                settings=self.settings))
        except NoUsableCodeError as exc:  # any other failure: no model could answer at all,
            return _Draw("first", temperature, exc)  # which is the caller's error to see

    def next_batch(self, max_repairs: int) -> None:
        """The next round, or rounds: a repair of the best candidate so far, shown its failure
        (until a repair comes back as code already tried, or the best has no code), else fresh
        draws of the original request, up to `width` decoded together; judged in order until
        one passes.

        A repair is never drawn beside fresh draws: in two requests at once the second slot
        evaluates the whole prompt again, which made a repair and three draws take 1.9x as
        long as the same four one after the other (benchmarks/decoding.py, 2026-12-01).
        """
        from agentcode.generation.codegen import adraw_codes, run_sync
        from agentcode.models.sampling import Sampling

        best = best_round(self.rounds)
        base, failure = self.rounds[best], self.failures[best]
        assert failure is not None  # no round passed
        index = self.asked
        repair = not self.stuck and bool(base.code)
        size = 1 if repair else max(1, min(self.width(base.model), max_repairs + 1 - index))
        temperature = self.options.repair_temperature
        notify = self.ask.on_restart
        if notify is not None:  # a live display drops the streamed candidate and says why
            changed = " (the repair changed nothing)" if self.stuck else ""
            if repair:
                plan = f"repair {index}/{max_repairs}"
            elif size == 1:
                plan = f"a fresh draw{changed} {index}/{max_repairs}"
            else:
                last = index + size - 1
                plan = f"{size} fresh draws at once{changed}, {index}-{last}/{max_repairs}"
            notify(f"verification failed ({first_line(failure.message)}): {plan}")
        ask = self.ask.but(known_names=self.known, preflight=False)
        sampling = Sampling(temperature, seed=index)
        if repair:
            turns = repair_history(self.prompt, base.code, context=self.ask.context,
                                   history=self.ask.history)
            # The data context is already in the first user turn of ``turns``.
            asked = ask.but(history=turns, context=None, sampling=sampling)
            self.record(_Draw("repair", temperature,
                              _answer(repair_request(failure), asked, self.settings)))
            return
        if size == 1:
            drawn = [_answer(self.prompt, ask.but(sampling=sampling), self.settings)]
        else:
            drawn = run_sync(adraw_codes(self.prompt, ask.but(on_token=None), n=size, seed=index,
                                         temperature=temperature, settings=self.settings,
                                         model_id=base.model or None))
        for outcome in drawn:
            self.record(_Draw("resample", temperature, outcome))
            if self.rounds[-1].passed or self.out_of_models:
                break

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
        first = self.doubts.setdefault((failure.kind, failure.output), key)
        return failure if first == key else None

    def judge(self, code: str) -> tuple[Failure | None, str | None]:
        """The pre-flight (once), then the sandbox: the failure or None, and the rewrite the
        pre-flight offers as a second candidate."""
        from agentcode.generation.checks.preflight import preflight

        key = same_code(code)
        cached = self.verdicts.get(key)
        if cached is not None:
            return cached  # the same program again: its verdict stands
        checked = preflight(code, defined=self.known, stdin=self.verifier.stdin,
                            packages=self.packages, checks=self.checks)
        # The program judged, and kept, is the pre-flight's (with the imports that are certain):
        # both keys name it, so a repair that returns either is the same program again.
        self.judged[key] = checked.code
        keys = {key, same_code(checked.code)}
        if self.unrun_by_request(checked.code) and checked.failure is None:
            self.unrun |= keys  # it reads input the request does not give: not judged by a run
            failure = None
        else:
            failure = checked.failure or self.verifier.assess(checked.code)
        if failure is None and self.verifier.last_output is not None:
            self.outputs.update(dict.fromkeys(keys, self.verifier.last_output))
        verdict = (self._settle(failure, key), checked.rewrite)
        self.verdicts.update(dict.fromkeys(keys, verdict))
        return verdict

    def unrun_by_request(self, code: str) -> bool:
        """With no input known (``no_input``), whether ``code`` stays unrun: it reads input
        (`checks.no_input.needs_input`), or the no-input run is turned off."""
        if not self.options.no_input:
            return False
        from agentcode.generation.checks.no_input import needs_input

        return Heuristic.NO_INPUT_RUN not in self.checks or needs_input(code) is not None

    def agree(self, candidates: int) -> int:
        """Choose by agreement (`generation.agreement`): draw ``candidates - 1`` more fresh
        candidates after the first that passed, judge each on the same input, and return the
        index of the round to keep: the earliest member of the largest group of passing
        candidates that printed and wrote the same thing."""
        from agentcode.generation.agreement import Ballot, choose
        from agentcode.generation.codegen import adraw_codes, run_sync

        first = next(i for i, r in enumerate(self.rounds) if r.passed)
        temperature = self.options.repair_temperature
        ask = self.ask.but(known_names=self.known, preflight=False, on_token=None)
        drawn = run_sync(adraw_codes(self.prompt, ask, n=candidates - 1, seed=self.asked,
                                     temperature=temperature, settings=self.settings,
                                     model_id=self.rounds[first].model or None))
        voters = [first]
        for outcome in drawn:
            self.record(_Draw("vote", temperature, outcome))
            voters.append(len(self.rounds) - 1)
        ballots = [Ballot(self.rounds[i].passed, self.outputs.get(same_code(self.rounds[i].code)))
                   for i in voters]
        chosen = choose(ballots)
        return first if chosen is None else voters[chosen]

    def record(self, draw: _Draw) -> None:
        """Judge ``draw`` and add it as a round; when it failed and the pre-flight offers a
        rewrite that reads all of stdin, judge that too, as a round of its own."""
        outcome = draw.outcome
        rewrite = None
        if isinstance(outcome, ModelError):
            error = outcome
            self.last_error = error
            self.attempts.extend(error.attempts or [Attempt(model="?", error=str(error))])
            if isinstance(error, ModelUnavailableError):
                self.out_of_models = True  # no model left to ask: keep the best candidate
                return
            # A repair the model could not answer (too long a conversation?) is not retried.
            self.stuck = self.stuck or draw.kind == "repair"
            reasons = " ".join(line.strip() for line in str(error).splitlines())
            code, model_id = "", ""
            failure: Failure | None = Failure(
                Stage.MODEL, Kind.NO_CODE, f"no usable code: {first_line(reasons, 300)}")
        else:
            code, model_id = outcome.code, outcome.model_id
            if draw.kind == "repair" and same_code(code) in self.verdicts:
                self.stuck = True
            self.attempts.extend(outcome.attempts)
            _merge_usage(self.usage, outcome.usage)
            failure, rewrite = self.judge(code)
            code = self.judged.get(same_code(code), code)
        self._add(code, model_id, failure, draw.kind, draw.temperature)
        if failure is not None and rewrite is not None:
            # The original stays unless it fails: a rewrite changes what a program does.
            failure, _ = self.judge(rewrite)
            self._add(rewrite, model_id, failure, "rewrite", draw.temperature)

    def _add(self, code: str, model_id: str, failure: Failure | None, kind: str,
             temperature: float | None) -> None:
        this_round = RepairRound(
            code=code, model=model_id, passed=failure is None,
            error=None if failure is None else failure.message,
            stage=None if failure is None else failure.stage.value,
            tests_failed=None if failure is None else failure.tests_failed,
            tests_total=None if failure is None else failure.tests_total,
            temperature=temperature, kind=kind,
        )
        self.rounds.append(this_round)
        self.failures.append(failure)
        if self.options.on_round is not None:
            self.options.on_round(this_round, len(self.rounds) - 1)


def configured_checks(settings: Settings, extra: Sequence[str] = ()) -> Checks:
    """The heuristic checks the config file (``checks``) and then ``extra`` words choose."""
    try:
        return Checks.parse([*settings.checks, *extra])
    except ValueError as exc:
        raise UsageError(str(exc)) from None


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
    to the model); ``checks`` the heuristic checks that run (`generation.pipeline.Checks`).
    Each candidate meets the static pre-flight once (`generation.checks.preflight`): imports
    that are certain are added; a syntax error or a name it never defines fails it without
    running (stage "syntax" or "names"); ``ask.known_names`` exist before the code runs
    (default: none, or unknown when ``sandbox`` is an open session). When a candidate fails and
    the pre-flight offers a rewrite that reads all of stdin, the rewrite is judged next, as a
    round of kind "rewrite" that costs no model request. A repair round is one more turn of
    the conversation: the task, the best candidate so far as the model's answer, then its
    failure; once a repair returns code already tried, later rounds resample the original
    request instead. Both are
    drawn at ``repair_temperature`` (0 makes them greedy) with the round's index as seed.
    ``on_round`` is called after each round with the round and its index (0 for the first).

    ``ask`` (`generation.codegen.AskOptions`: model, system, context, history, on_token, ...)
    goes to every round's `generate_code`; its ``sampling`` is the first round's (default: the
    model's own).

    The result's ``code`` is the candidate that passed, or when none did, the best one
    (`best_round`); ``verified`` says whether it passed.
    """
    from agentcode.config import load_settings
    from agentcode.generation.checks.preflight import defined_names
    from agentcode.generation.codegen import AskOptions
    from agentcode.models.sampling import Sampling

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
    if options.checks is None:
        options = dataclasses.replace(options, checks=configured_checks(settings))
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
        stdin=stdin_bytes(options.stdin),
        files=file_map(options.files),
        tests=load_tests(options.tests),
        check=validate_check(options.check),
        setup=options.setup,
        task=prompt,
        variables=options.show_variables,
        checks=options.checks,
        no_input=options.no_input,
    )
    if options.parallel is not None and options.parallel < 1:
        raise UsageError(f"parallel must be 1 or more, not {options.parallel}")
    if options.agreement < 1:
        raise UsageError(f"agreement must be 1 or more candidates, not {options.agreement}")
    # Choosing by agreement compares clean runs on known input, where no test decides.
    voting = options.agreement > 1 and verifier.expects_output and not options.no_input
    verifier.keep_output = voting
    started = time.perf_counter()
    from agentcode.sandbox.local.packages import importable_packages

    # The model is told the packages of the sandbox the candidates run in, not the configured.
    backend = verifier.backend if verifier.shared is None else verifier.shared.backend
    ask = ask.but(sandbox=backend)
    loop = _Loop(prompt, ask, settings, verifier, known, options)
    loop.packages = {name.lower() for name in importable_packages(backend, settings)}
    first = loop.ask_first()
    try:
        loop.record(first)
    except SandboxUnavailableError as exc:
        if not options.optional_run or isinstance(first.outcome, ModelError):
            raise
        return _unrun(loop, first.outcome, f"not running the code: {exc}", started)
    while not loop.done(max_repairs):
        loop.next_batch(max_repairs)
    rounds = loop.rounds
    final = rounds[best_round(rounds)]  # a round without code ranks last
    if voting and final.passed and not loop.out_of_models:
        final = rounds[loop.agree(options.agreement)]
    if not final.code and loop.last_error is not None:
        raise loop.last_error  # no round gave code to return
    ran = same_code(final.code) not in loop.unrun  # unrun: it reads input none was given for
    return Generation(
        code=final.code,
        model_id=final.model,
        prompt=prompt,
        attempts=loop.attempts,
        usage=loop.usage,
        verified=final.passed and ran,
        rounds=rounds,
        duration_ms=(time.perf_counter() - started) * 1000,
        checked=checked_label(verifier, passed=final.passed, ran=ran),
    )


def _unrun(loop: _Loop, first: Generation, why: str, started: float) -> Generation:
    """The first candidate, unrun (no sandbox for an optional run), with its certain imports."""
    from agentcode.generation.checks.preflight import preflight

    if loop.options.on_warning is not None:
        loop.options.on_warning(why)
    else:
        logger.warning("%s", why)
    code = preflight(first.code, packages=loop.packages, defined=loop.known).code
    return Generation(code=code, model_id=first.model_id, prompt=loop.prompt,
                      attempts=loop.attempts, usage=loop.usage,
                      duration_ms=(time.perf_counter() - started) * 1000)


def checked_label(verifier: Verifier, *, passed: bool, ran: bool = True) -> str:
    """What a verified generation's code went through, in words (`agentcode.types`); ``ran``
    False: the candidate was returned without a run (it reads input none was given for)."""
    from agentcode import types

    if not ran:
        return types.NOT_RUN
    if verifier.tests is not None or verifier.check is not None:
        return types.TESTS_PASSED if passed else types.TESTS_FAILED
    if verifier.stdin or verifier.files:
        return types.RAN_ON_INPUT if passed else types.FAILED_ON_INPUT
    return types.RAN_NO_INPUT if passed else types.FAILED_NO_INPUT
