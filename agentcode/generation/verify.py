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

The loop is this module; what it uses lives beside it: `options` (`VerifyOptions`), `drawing`
(how each candidate is asked for), `verdicts` (each program judged once: pre-flight, sandbox,
waiver), `rounds` (how rounds compare), `agreement` and `result` (the `Generation` returned).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING

from agentcode.errors import (
    ModelError,
    ModelUnavailableError,
    NoUsableCodeError,
    SandboxUnavailableError,
)
from agentcode.generation.checks.user_tests import load_tests, validate_check
from agentcode.generation.drawing import (
    Draw,
    DrawKind,
    answer,
    draw_batch,
    model_failure,
    plan_text,
    repair_history,
    repair_request,
)
from agentcode.generation.judge import Verifier
from agentcode.generation.options import VerifyOptions, configured_checks
from agentcode.generation.pipeline import Failure, Heuristic, Kind, Stage
from agentcode.generation.result import add_usage, checked_label, unrun_generation
from agentcode.generation.rounds import as_round, best_round, file_map, stdin_bytes
from agentcode.generation.verdicts import Verdicts
from agentcode.types import Attempt, Generation, RepairRound

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.generation.codegen import AskOptions

logger = logging.getLogger(__name__)


class _Loop:
    """The rounds of one `generate_verified` call: ask, judge, and plan the next batch."""

    def __init__(self, prompt: str, ask: AskOptions, settings: Settings, verdicts: Verdicts,
                 options: VerifyOptions) -> None:
        self.prompt, self.ask, self.settings = prompt, ask, settings
        self.verdicts, self.options = verdicts, options
        self.rounds: list[RepairRound] = []
        self.failures: list[Failure | None] = []  # beside rounds: each round's typed failure
        self.attempts: list[Attempt] = []
        self.usage: dict[str, int] = {}
        self.last_error: ModelError | None = None
        self.stuck = False  # a repair came back as code already tried: only fresh draws now
        self.out_of_models = False
        self._width = options.parallel  # None: asked of the model when first needed
        # Every later round asks with the names the pre-flight knows, and runs it itself.
        self.later = ask.but(known_names=verdicts.known, preflight=False)
        self.reviewed = False  # the output review is asked once (Heuristic.OUTPUT_REVIEW)
        self.rejected: int | None = None  # the round whose output the review said no to

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

    def ask_first(self) -> Draw:
        from agentcode.generation.codegen import generate_code

        sampling = self.ask.sampling
        temperature = None if sampling is None else sampling.temperature
        try:
            return Draw("first", temperature,
                        generate_code(self.prompt, self.later, settings=self.settings))
        except NoUsableCodeError as exc:  # any other failure: no model could answer at all,
            return Draw("first", temperature, exc)  # which is the caller's error to see

    def next_batch(self, max_repairs: int) -> None:
        """The next round, or rounds: a repair of the best candidate so far, shown its failure
        (until a repair comes back as code already tried, or the best has no code), else fresh
        draws of the original request, up to `width` decoded together; judged in order until
        one passes.

        A repair is never drawn beside fresh draws: in two requests at once the second slot
        evaluates the whole prompt again, which made a repair and three draws take 1.9x as
        long as the same four one after the other (benchmarks/decoding.py, 2026-12-01).
        """
        from agentcode.models.sampling import Sampling

        best = best_round(self.rounds)
        base, failure = self.rounds[best], self.failures[best]
        assert failure is not None  # no round passed
        index = self.asked
        repair = not self.stuck and bool(base.code)
        size = 1 if repair else max(1, min(self.width(base.model), max_repairs + 1 - index))
        temperature = self.options.repair_temperature
        if self.ask.on_restart is not None:  # a live display drops the streamed candidate
            self.ask.on_restart(plan_text(failure, repair=repair, stuck=self.stuck, index=index,
                                          size=size, max_repairs=max_repairs))
        sampling = Sampling(temperature, seed=index)
        if repair:
            turns = repair_history(self.prompt, base.code, context=self.ask.context,
                                   history=self.ask.history)
            # The data context is already in the first user turn of ``turns``.
            asked = self.later.but(history=turns, context=None, sampling=sampling)
            self.record(Draw("repair", temperature,
                             answer(repair_request(failure), asked, self.settings)))
            return
        if size == 1:
            drawn = [answer(self.prompt, self.later.but(sampling=sampling), self.settings)]
        else:
            drawn = draw_batch(self.prompt, self.later, self.settings, n=size, seed=index,
                               temperature=temperature, model_id=base.model)
        for outcome in drawn:
            self.record(Draw("resample", temperature, outcome))
            if self.rounds[-1].passed or self.out_of_models:
                break

    def agree(self, candidates: int) -> int:
        """Choose by agreement (`generation.agreement`): draw ``candidates - 1`` more fresh
        candidates after the first that passed, judge each on the same input, and return the
        index of the round to keep: the earliest member of the largest group of passing
        candidates that printed and wrote the same thing."""
        from agentcode.generation.agreement import Ballot, choose

        first = next(i for i, r in enumerate(self.rounds) if r.passed)
        temperature = self.options.repair_temperature
        drawn = draw_batch(self.prompt, self.later, self.settings, n=candidates - 1,
                           seed=self.asked, temperature=temperature,
                           model_id=self.rounds[first].model)
        voters = [first]
        for outcome in drawn:
            self.record(Draw("vote", temperature, outcome))
            voters.append(len(self.rounds) - 1)
        ballots = [Ballot(self.rounds[i].passed, self.verdicts.output(self.rounds[i].code))
                   for i in voters]
        chosen = choose(ballots)
        return first if chosen is None else voters[chosen]

    def record(self, draw: Draw) -> None:
        """Judge ``draw`` and add it as a round; when it failed and the pre-flight offers a
        rewrite that reads all of stdin, judge that too, as a round of its own."""
        outcome = draw.outcome
        rewrite = None
        if isinstance(outcome, ModelError):
            self.last_error = outcome
            self.attempts.extend(outcome.attempts or [Attempt(model="?", error=str(outcome))])
            if isinstance(outcome, ModelUnavailableError):
                self.out_of_models = True  # no model left to ask: keep the best candidate
                return
            # A repair the model could not answer (too long a conversation?) is not retried.
            self.stuck = self.stuck or draw.kind == "repair"
            code, model_id = "", ""
            failure: Failure | None = model_failure(outcome)
        else:
            code, model_id = outcome.code, outcome.model_id
            if draw.kind == "repair" and self.verdicts.seen(code):
                self.stuck = True
            self.attempts.extend(outcome.attempts)
            add_usage(self.usage, outcome.usage)
            failure, rewrite = self.verdicts.judge(code)
            code = self.verdicts.judged_code(code)
        self._add(code, model_id, failure, draw.kind, draw.temperature)
        if failure is not None and rewrite is not None:
            # The original stays unless it fails: a rewrite changes what a program does.
            failure, _ = self.verdicts.judge(rewrite)
            self._add(rewrite, model_id, failure, "rewrite", draw.temperature)

    def review_due(self, code: str, kind: DrawKind) -> str | None:
        """What the candidate printed, when its clean run is the one to review: the review is
        on, not yet asked, the input is known and decides alone (no tests, no check), and a
        repair round is left for a "no" (otherwise the request would change nothing)."""
        verifier = self.verdicts.verifier
        if (Heuristic.OUTPUT_REVIEW not in self.verdicts.checks or self.reviewed
                or kind == "vote" or self.verdicts.no_input or not verifier.expects_output):
            return None
        if self.asked + (kind != "rewrite") > self.options.max_repairs:
            return None
        return self.verdicts.shown(code)

    def review(self, output: str) -> Failure | None:
        """Ask the model once whether ``output`` does the task (`generation.review`); a "no"
        is a failure of stage "output" that the next round repairs."""
        from agentcode.generation.review import input_sample, rejection, review_output

        self.reviewed = True
        verifier = self.verdicts.verifier
        sample = input_sample(verifier.stdin, verifier.files, verifier.args)
        found = review_output(self.prompt, sample, output, self.ask, self.settings)
        self.attempts.extend(found.attempts)
        add_usage(self.usage, found.usage)
        if found.ok:
            return None
        self.rejected = len(self.rounds)  # the index of the round about to be added
        return Failure(Stage.OUTPUT, Kind.REVIEWED, rejection(found.reason, output),
                       heuristic=Heuristic.OUTPUT_REVIEW, output=output)

    def _add(self, code: str, model_id: str, failure: Failure | None, kind: DrawKind,
             temperature: float | None) -> None:
        if failure is None and code:
            output = self.review_due(code, kind)
            if output is not None:
                failure = self.review(output)
        this_round = as_round(code, model_id, failure, kind=kind, temperature=temperature)
        self.rounds.append(this_round)
        self.failures.append(failure)
        if self.options.on_round is not None:
            self.options.on_round(this_round, len(self.rounds) - 1)


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
    from agentcode.generation.codegen import AskOptions
    from agentcode.sandbox.local.packages import importable_packages

    options = verification or VerifyOptions()
    options.validate()
    ask = ask or AskOptions()
    settings = settings or load_settings()
    checks = configured_checks(settings) if options.checks is None else options.checks
    options = dataclasses.replace(options, checks=checks)
    verifier = _verifier(prompt, options, settings)
    # Choosing by agreement compares clean runs on known input, where no test decides.
    voting = options.agreement > 1 and verifier.expects_output and not options.no_input
    verifier.keep_output = voting
    started = time.perf_counter()
    # The model is told the packages of the sandbox the candidates run in, not the configured.
    backend = verifier.backend if verifier.shared is None else verifier.shared.backend
    ask = ask.but(sandbox=backend)
    packages = {name.lower() for name in importable_packages(backend, settings)}
    verdicts = Verdicts(verifier, known=_known_names(ask, options), packages=packages,
                        checks=checks, no_input=options.no_input)
    loop = _Loop(prompt, ask, settings, verdicts, options)
    first = loop.ask_first()
    try:
        loop.record(first)
    except SandboxUnavailableError as exc:
        if not options.optional_run or isinstance(first.outcome, ModelError):
            raise
        _warn(options, f"not running the code: {exc}")
        return unrun_generation(first.outcome, prompt=prompt, packages=verdicts.packages,
                                known=verdicts.known, attempts=loop.attempts, usage=loop.usage,
                                started=started)
    while not loop.done(options.max_repairs):
        loop.next_batch(options.max_repairs)
    rounds = loop.rounds
    final = rounds[best_round(rounds)]  # a round without code ranks last
    passed = final.passed
    if not passed and loop.rejected is not None:
        # The review's "no" is a doubt: when no repair runs cleanly, the candidate it doubted
        # (which did) stands.
        final, passed = rounds[loop.rejected], True
    if voting and final.passed and not loop.out_of_models:
        final = rounds[loop.agree(options.agreement)]
    if not final.code and loop.last_error is not None:
        raise loop.last_error  # no round gave code to return
    ran = verdicts.ran(final.code)  # unrun: it reads input none was given for
    return Generation(
        code=final.code,
        model_id=final.model,
        prompt=prompt,
        attempts=loop.attempts,
        usage=loop.usage,
        verified=passed and ran,
        rounds=rounds,
        duration_ms=(time.perf_counter() - started) * 1000,
        checked=checked_label(verifier, passed=passed, ran=ran),
    )


def _known_names(ask: AskOptions, options: VerifyOptions) -> set[str] | None:
    """The names that exist before a candidate runs; None: unknown, so not checked. An open
    sandbox session may hold variables we never saw, unless the caller (a Session) says which
    exist; the setup code's names exist too."""
    from agentcode.generation.checks.preflight import defined_names

    shared = options.sandbox is not None and not isinstance(options.sandbox, str)
    if ask.known_names is None or (shared and ask.known_names == ()):
        return None
    known = set(ask.known_names)
    if options.setup:
        known |= defined_names(options.setup)
    return known


def _verifier(prompt: str, options: VerifyOptions, settings: Settings) -> Verifier:
    """The sandbox runs of ``options``: their input, tests, check and setup, read once."""
    return Verifier(
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
        args=[str(arg) for arg in options.args],
    )


def _warn(options: VerifyOptions, why: str) -> None:
    if options.on_warning is not None:
        options.on_warning(why)
    else:
        logger.warning("%s", why)
