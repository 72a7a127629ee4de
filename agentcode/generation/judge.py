"""Judging one candidate: run it in the sandbox with the user's input, tests and check.

`generation.verify` asks the model and decides what to do next; this module says how a single
program did (`Assessment`) and describes a failure in the words the model is shown: bounded to
the lines that matter, the program's own traceback frames, and where its input really is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentcode.errors import ExecutionTimeoutError
from agentcode.generation.checks.output import (
    files_to_write,
    input_whereabouts,
    missing_file_hint,
    output_problem,
)
from agentcode.generation.checks.user_tests import TestSource, check_code, tests_code
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
_COUNTS = re.compile(r"^(\d+) of (\d+) tests failed")


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
    lines = [f"  {name} = {value}"
             for name, value in list(error.frame_locals.items())[:LOCALS_SHOWN]]
    text = "\n".join(lines)
    return text if len(text) <= LOCALS_CHARS else text[:LOCALS_CHARS] + "..."


def describe_failure(stage: str, execution: Execution, *, timeout: float | None = None,
                     variables: bool = True) -> str:
    """A bounded report of a failed run: what happened, the traceback tail, with
    ``variables`` the failing frame's variables (`frame_variables`), some output."""
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
            parts.append("traceback (last lines):\n"
                         + _tail(user_traceback(error.traceback), TRACE_LINES, 1500))
        seen = frame_variables(error) if variables else None
        if seen is not None:
            parts.append(f"variables where it failed:\n{seen}")
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
        task: str | None = None,
        variables: bool = True,
    ) -> None:
        self.settings = settings
        self.variables = variables  # a failed run's report shows the failing frame's variables
        self.shared = None if sandbox is None or isinstance(sandbox, str) else sandbox
        self.backend = sandbox if isinstance(sandbox, str) else settings.sandbox
        self.stdin = stdin
        self.files = dict(files or {})
        # The files the request asks the program to write (``task``: the user's request).
        self.expected_files = files_to_write(task, self.files) if task else []
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
                failure = describe_failure(stage, execution,
                                           variables=self.variables and key == "run")
                hint = self._missing_file_hint(execution) if key == "run" else None
                return Assessment(failure if hint is None else f"{failure}\n{hint}", key,
                                  failed, total)
            if key == "run" and self.expects_output:
                verdict = self._judge_output(session, execution, before)
                if verdict is not None:
                    return verdict
        return Assessment(None)

    @property
    def expects_output(self) -> bool:
        """A run on known input with nothing else to judge it must show a result: a program
        that prints nothing and writes nothing has not done the task (a repair that guards
        every line with ``if`` "passes" that way)."""
        given = bool(self.stdin) or bool(self.files)
        return given and self.tests is None and self.check is None and self.shared is None

    def _missing_file_hint(self, execution: Execution) -> str | None:
        error = execution.error
        # In a shared session earlier code may have made files we never saw: no hint there.
        if error is None or error.name != "FileNotFoundError" or self.shared is not None:
            return None
        return missing_file_hint(error.value, stdin_given=bool(self.stdin), files=self.files)

    def _judge_output(
        self, session: SandboxSession, execution: Execution, before: set[str]
    ) -> Assessment | None:
        """The failure of a clean run on known input that did not do the task: it left no
        result at all (a fact), or `generation.checks.output` infers so from what it left."""
        after = set(session.list_files())
        written = (after - before) | {
            name for name, data in self.files.items()
            if name in after and session.read_file(name) != data
        }
        if not (execution.stdout.strip() or execution.outputs or written):
            where = input_whereabouts(stdin_given=bool(self.stdin), files=self.files)
            stderr = execution.stderr.strip()
            return Assessment(NO_OUTPUT + "".join([
                f"\n{where}" if where and self.files else "",
                f"\nstderr (last lines):\n{_tail(stderr, STDERR_LINES, 1000)}" if stderr else "",
            ]), "output")
        problem = output_problem(stdout=execution.stdout, stdin=self.stdin, written=written,
                                 expected_files=self.expected_files)
        if problem is None:
            return None
        return Assessment(problem, "output", doubt=f"{problem}\0{execution.stdout}")


@dataclass(frozen=True, slots=True)
class Assessment:
    """A candidate's verdict: ``failure`` is None when it passed (see `Verifier.assess`)."""

    failure: str | None
    stage: str | None = None
    tests_failed: int | None = None
    tests_total: int | None = None
    # Set when the failure is an inference from the output (`generation.checks.output`), not a
    # fact: the problem and the output, equal for programs that did the same thing.
    doubt: str | None = None

    @property
    def passed(self) -> bool:
        return self.failure is None


