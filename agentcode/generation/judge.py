"""Judging one candidate: run it in the sandbox with the user's input, tests and check.

`generation.verify` asks the model and decides what to do next; this module says how a single
program did (a `Failure`, or None when it passed) and describes a failure in the words the model
is shown: bounded to the lines that matter, the program's own traceback frames, and where its
input really is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from agentcode.errors import ExecutionTimeoutError, SandboxError
from agentcode.generation.checks.output import (
    files_to_write,
    input_whereabouts,
    missing_file_hint,
    output_problem,
)
from agentcode.generation.checks.user_tests import (
    REPORT_CODE,
    TestSource,
    check_code,
    read_counts,
    tests_code,
)
from agentcode.generation.pipeline import Checks, Failure, Heuristic, Kind, Stage
from agentcode.sandbox.local.jail import PYTHON_ROOT, VENV_ROOT
from agentcode.sandbox.local.packages import JAIL_PATH
from agentcode.types import Execution, ExecutionError

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.sandbox.base import SandboxSession

# What of a failed run goes back to the model: enough to locate the bug, little enough that a
# small model's context is not flooded by a program that printed a million lines.
TRACE_LINES = 15
STDERR_LINES = 12
STDOUT_LINES = 8
MAX_FEEDBACK_CHARS = 3000
LOCALS_SHOWN = 8
LOCALS_CHARS = 700
NO_OUTPUT = (
    "running the code: it exited without error but printed nothing and wrote no file; "
    "it must print the result (read the whole input; do not skip rows you cannot parse)"
)
NO_OUTPUT_ASKED = (
    "running the code (no input): it exited without error but printed nothing and wrote no "
    "file; the request asks for a result: print it (a function that is defined must also be "
    "called)"
)
# How each stage that runs code is named in the report the model is shown.
_LABELS = {Stage.SETUP: "the setup code", Stage.RUN: "running the code", Stage.TESTS: "tests",
           Stage.CHECK: "the check"}


def _tail(text: str, lines: int, chars: int) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    out = "\n".join(kept)
    return out if len(out) <= chars else "..." + out[-chars:]


_FRAME = re.compile(r'^  File "([^"]+)", line \d+')
# Frames of installed code: the model can fix only its own lines, and pandas' internals would
# fill the traceback's tail (a FileNotFoundError from read_csv showed 15 lines of pandas and not
# the call that named the missing file).
_LIBRARY_FRAME = re.compile("|".join([
    "site-packages", "dist-packages", "/lib/python3", "^<frozen",
    *(re.escape(root + "/") for root in (PYTHON_ROOT, VENV_ROOT, JAIL_PATH)),  # the jail's
]))


def user_traceback(traceback: str) -> str:
    """``traceback`` without the frames of installed libraries, a note where they were."""
    kept: list[str] = []
    hidden = 0
    skipping = False
    for line in traceback.splitlines():
        frame = _FRAME.match(line)
        if frame is not None:
            skipping = bool(_LIBRARY_FRAME.search(frame.group(1)))
            if skipping:
                if not hidden:
                    kept.append("  ... (frames inside installed libraries)")
                hidden += 1
                continue
        elif skipping and line.startswith("    "):
            continue  # the library frame's source line and its carets
        else:
            skipping = False
        kept.append(line)
    return "\n".join(kept) if hidden else traceback


def frame_variables(error: ExecutionError) -> str | None:
    """The failing frame's variables as the model sees them (``row = {'r': 'e'}``), bounded;
    None when the sandbox did not report them (AgentCore) or there were none. LDB's debugger
    feedback showed variables to the model; here the one frame the program failed in."""
    if not error.frame_locals:
        return None
    from agentcode.secrets import redact, secret_values

    known = secret_values()  # a token the program read goes to no model
    lines = [f"  {name} = {redact(value, known=known)}"
             for name, value in list(error.frame_locals.items())[:LOCALS_SHOWN]]
    text = "\n".join(lines)
    return text if len(text) <= LOCALS_CHARS else text[:LOCALS_CHARS] + "..."


def describe_failure(stage: Stage, execution: Execution, *, timeout: float | None = None,
                     variables: bool = True) -> str:
    """A bounded report of a failed run: what happened, the traceback tail, with
    ``variables`` the failing frame's variables (`frame_variables`), some output."""
    parts: list[str] = []
    error = execution.error
    label = _LABELS.get(stage, stage.value)
    if timeout is not None:
        parts.append(
            f"{label}: timed out after {timeout:g} s (an endless loop, or waiting for input?)"
        )
    elif error is not None and stage is Stage.TESTS and error.name == "AssertionError":
        parts.append(f"the tests failed: {error.value}")
    elif error is not None and stage is Stage.CHECK and error.name == "AssertionError":
        parts.append(f"the code ran, but the {error.value}")
    elif error is not None:
        parts.append(f"{label}: raised {error.name}: {error.value}")
        if error.traceback.strip():
            parts.append("traceback (last lines):\n"
                         + _tail(user_traceback(error.traceback), TRACE_LINES, 1500))
        seen = frame_variables(error) if variables else None
        if seen is not None:
            parts.append(f"variables where it failed:\n{seen}")
    else:
        parts.append(f"{label}: exited with status {execution.exit_code}")
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


def _with_output(message: str, output: str) -> str:
    """A failure report with the last lines the fresh process printed."""
    if output.strip():
        message += "\noutput (last lines):\n" + _tail(output, STDOUT_LINES, 600)
    return message if len(message) <= MAX_FEEDBACK_CHARS else message[:MAX_FEEDBACK_CHARS] + "\n..."


_FRESH_STAGES = {stage.value for stage in (Stage.SETUP, Stage.RUN, Stage.TESTS, Stage.CHECK)}


def first_line(failure: str, limit: int = 160) -> str:
    """The gist of a failure report, for one-line messages."""
    line = next((text.strip() for text in failure.splitlines() if text.strip()), "failed")
    return line if len(line) <= limit else line[: limit - 3] + "..."


class Verifier:
    """Runs candidates in a sandbox: a fresh session per candidate unless one is given.

    ``checks``: the heuristic checks of a clean run's output (`generation.pipeline.Checks`).
    """

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
        task: str | None = None,
        variables: bool = True,
        checks: Checks | None = None,
        no_input: bool = False,
        args: Sequence[str] = (),
    ) -> None:
        self.settings = settings
        # The program's arguments (sys.argv[1:]; sys.argv[0] is "-", as for `agentcode run -`).
        self.args = tuple(args)
        self.variables = variables  # a failed run's report shows the failing frame's variables
        # The run with empty stdin of a request that asks for output (Heuristic.NO_INPUT_RUN).
        self.no_input = no_input
        # With ``keep_output``: what the last clean run printed and wrote
        # (`agreement.output_key`), for choosing by agreement.
        self.keep_output = False
        self.last_output: str | None = None
        # What the last clean run on known input printed and wrote, as text (the output review,
        # generation.review): None when it was not judged by its output.
        self.last_shown: str | None = None
        self.shared = None if sandbox is None or isinstance(sandbox, str) else sandbox
        self.backend = sandbox if isinstance(sandbox, str) else settings.sandbox
        self.stdin = stdin
        self.files = dict(files or {})
        self.checks = checks or Checks()
        # The files the request asks the program to write (``task``: the user's request).
        self.expected_files = files_to_write(task, self.files) if task else []
        self.tests = tests
        self.check = check
        self.setup = setup

    @property
    def argv(self) -> list[str] | None:
        """The candidate's ``sys.argv`` (None: the sandbox's default, ``["-"]``)."""
        return ["-", *self.args] if self.args else None

    def _open(self) -> SandboxSession:
        from agentcode.sandbox import open_sandbox

        return open_sandbox(self.backend, self.settings)

    def run(self, code: str) -> str | None:
        """None when the candidate passes, else a bounded description of the failure."""
        failure = self.assess(code)
        return None if failure is None else failure.message

    def assess(self, code: str) -> Failure | None:
        """How the candidate did: None when it passed, else where and why it failed."""
        session = self.shared if self.shared is not None else self._open()
        try:
            return self.assess_in(session, code)
        finally:
            if self.shared is None:
                session.close()

    def assess_in(self, session: SandboxSession, code: str) -> Failure | None:
        """`assess` in a session the caller provides (and cleans)."""
        self.last_output = None
        self.last_shown = None
        if self.files:
            session.write_files(self.files)
        if self.shared is None and (self.tests is not None or self.check is not None):
            return self._assess_fresh(session, code)
        return self._steps(session, code)

    def _steps(self, session: SandboxSession, code: str, *, judged: bool = True) -> Failure | None:
        """The setup, the candidate and (``judged``) its tests and check as requests of
        ``session``: in a shared session the verdict, else only a failed run's description."""
        timeout = self.settings.timeout
        steps: list[tuple[Stage, str, bytes | None]] = []
        if self.setup:
            steps.append((Stage.SETUP, self.setup, None))
        steps.append((Stage.RUN, code, self.stdin))
        if self.tests is not None and judged:
            steps.append((Stage.TESTS, tests_code(self.tests), None))
        if self.check is not None and judged:
            steps.append((Stage.CHECK, check_code(self.check), None))
        before = set(session.list_files()) if self.expects_output else set()
        for stage, source, stdin in steps:
            try:  # every step sees the program's arguments, as in the fresh process
                execution = session.execute(source, timeout=timeout, stdin=stdin,
                                            argv=self.argv)
            except ExecutionTimeoutError as exc:
                partial = exc.execution or Execution()
                return Failure(stage, Kind.TIMEOUT,
                               describe_failure(stage, partial, timeout=timeout))
            if not execution.ok:
                return self._failed(session, stage, execution)
            if stage is Stage.RUN and self.expects_output:
                verdict = self._judge_output(session, execution, before)
                if verdict is not None:
                    return verdict
        return None

    def _assess_fresh(self, session: SandboxSession, code: str) -> Failure | None:
        """The verdict of a fresh process (`checks.fresh`), asked of a worker the candidate
        never ran in. When the candidate itself failed to run, a run in the worker describes
        it (traceback, variables) as without tests; the verdict stays the fresh process's."""
        from agentcode.generation.checks import fresh

        timeout = self.settings.timeout
        driver, job = fresh.driver_step(code=code, setup=self.setup, tests=self.tests,
                                        check=self.check, stdin=self.stdin, timeout=timeout,
                                        argv=self.argv or ("-",))
        stages = 1 + sum(x is not None for x in (self.setup, self.tests, self.check))
        answer = session.execute(driver, timeout=timeout * stages + 10, stdin=job)
        verdict = fresh.read_verdict(answer.stdout) if answer.ok else None
        if verdict is None:
            detail = answer.error.value if answer.error is not None else answer.stderr[-500:]
            raise SandboxError(f"the test runner failed in the sandbox: {first_line(detail)}")
        if verdict.ok:
            return None
        stage = Stage(verdict.stage) if verdict.stage in _FRESH_STAGES else Stage.RUN
        kind = Kind.TESTS_FAILED if stage is Stage.TESTS else (
            Kind.CHECK_FALSE if stage is Stage.CHECK else Kind.RAISED)
        report = verdict.report
        shown = Execution(stdout=verdict.output)
        if verdict.timed_out:
            return Failure(stage, Kind.TIMEOUT,
                           describe_failure(stage, shown, timeout=timeout))
        if verdict.tampered:
            return Failure(stage, kind, f"{_LABELS.get(stage, stage.value)}: the code changed "
                           f"what the test runner relies on ({verdict.tampered}), so the tests "
                           "cannot judge it")
        if stage in (Stage.SETUP, Stage.RUN) and not report.get("file"):
            try:
                described = self._steps(session, code, judged=False)
            except SandboxError:  # the code broke the worker too: the fresh report stands
                described = None
            if described is not None:
                return described
        error = report.get("error")
        if stage is Stage.TESTS and "message" in report:
            failed, total = report.get("failed"), report.get("ran")
            return Failure(stage, kind, _with_output(f"the tests failed: {report['message']}",
                                                     verdict.output),
                           failed if isinstance(failed, int) else None,
                           total if isinstance(total, int) else None)
        if stage is Stage.TESTS and report.get("file"):
            return Failure(stage, kind, _with_output(
                f"the tests failed: the test file failed: {report.get('detail', '')}",
                verdict.output))
        if stage is Stage.CHECK and "value" in report:
            return Failure(stage, kind, f"the code ran, but the check {self.check} was "
                                        f"{report['value']}")
        if isinstance(error, list) and len(error) == 2:
            return Failure(stage, Kind.RAISED, _with_output(
                f"{_LABELS.get(stage, stage.value)}: raised {error[0]}: {error[1]}",
                verdict.output))
        status = report.get("exit", verdict.exit_code)
        return Failure(stage, Kind.EXIT_STATUS if stage is Stage.RUN else kind, _with_output(
            f"{_LABELS.get(stage, stage.value)}: the code exited (status {status}) before "
            "it finished", verdict.output))

    def _failed(self, session: SandboxSession, stage: Stage, execution: Execution) -> Failure:
        error = execution.error
        message = describe_failure(stage, execution,
                                   variables=self.variables and stage is Stage.RUN)
        if stage is Stage.TESTS and error is not None and error.name == "AssertionError":
            counts = read_counts(session.execute(REPORT_CODE, timeout=self.settings.timeout)
                                 .stdout)
            return Failure(stage, Kind.TESTS_FAILED, message, counts.failed, counts.total)
        if stage is Stage.CHECK and error is not None and error.name == "AssertionError":
            return Failure(stage, Kind.CHECK_FALSE, message)
        hint = self._missing_file_hint(execution) if stage is Stage.RUN else None
        return Failure(stage, Kind.RAISED if error is not None else Kind.EXIT_STATUS,
                       message if hint is None else f"{message}\n{hint}")

    @property
    def expects_output(self) -> bool:
        """A run on known input with nothing else to judge it must show a result: a program
        that prints nothing and writes nothing has not done the task (a repair that guards
        every line with ``if`` "passes" that way). Also in a shared session (the server's, MCP's):
        the same request must meet the same checks whichever front end sends it; what the run
        wrote is what changed during it."""
        given = bool(self.stdin) or bool(self.files) or bool(self.args) or self.no_input
        return given and self.tests is None and self.check is None

    def _missing_file_hint(self, execution: Execution) -> str | None:
        error = execution.error
        # In a shared session earlier code may have made files we never saw: no hint there.
        if error is None or error.name != "FileNotFoundError" or self.shared is not None:
            return None
        return missing_file_hint(error.value, stdin_given=bool(self.stdin), files=self.files)

    def _judge_output(
        self, session: SandboxSession, execution: Execution, before: set[str]
    ) -> Failure | None:
        """The failure of a clean run on known input that did not do the task, as the output
        heuristics on (`self.checks`) infer from what it printed and wrote."""
        after = set(session.list_files())
        written = (after - before) | {
            name for name, data in self.files.items()
            if name in after and session.read_file(name) != data
        }
        shown = "".join(out.text or "" for out in execution.outputs if out.main)
        if Heuristic.OUTPUT_REVIEW in self.checks:
            self.last_shown = execution.stdout + shown + "".join(
                f"\n[wrote {name}]:\n{session.read_file(name)[:2000].decode('utf-8', 'replace')}"
                for name in sorted(written))
        if self.keep_output:
            from agentcode.generation.agreement import output_key

            self.last_output = output_key(execution.stdout + shown,
                                          {name: session.read_file(name) for name in written})
        # With no input, what the program logged to stderr is its output too (a warning).
        logged = self.no_input and bool(execution.stderr.strip())
        if not (execution.stdout.strip() or execution.outputs or written or logged):
            if self.no_input:  # the run was made to see this: the request asks for output
                return Failure(Stage.OUTPUT, Kind.NO_OUTPUT, NO_OUTPUT_ASKED,
                               heuristic=Heuristic.NO_INPUT_RUN)
            if Heuristic.OUTPUT_EMPTY not in self.checks:
                return None
            where = input_whereabouts(stdin_given=bool(self.stdin), files=self.files)
            stderr = execution.stderr.strip()
            return Failure(Stage.OUTPUT, Kind.NO_OUTPUT, NO_OUTPUT + "".join([
                f"\n{where}" if where and self.files else "",
                f"\nstderr (last lines):\n{_tail(stderr, STDERR_LINES, 1000)}" if stderr else "",
            ]), heuristic=Heuristic.OUTPUT_EMPTY)
        return output_problem(stdout=execution.stdout, stdin=self.stdin, written=written,
                              expected_files=self.expected_files, checks=self.checks)
