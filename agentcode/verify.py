"""Verified generation: run each candidate in the sandbox and let the model repair what fails.

A round is: ask the model (through `agentcode.generate.generate`, so any model works, local or
Bedrock), run the code in the sandbox (with the given stdin and files), then the user's tests and
``check`` expression in the same sandbox session. A candidate fails when it raises, exits non-zero,
runs past the time limit, or fails a test or the check; the failure, bounded to the lines that
matter, goes back to the model with the code, up to ``max_repairs`` times. Every round is recorded
on `Generation.rounds`; ``verified`` is true only when the last round passed. A failed
verification is data (``verified=False``), not an exception: the caller still gets the code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcode.errors import ExecutionTimeoutError, ModelError, UsageError
from agentcode.types import Attempt, Execution, Generation, RepairRound
from agentcode.verify_tests import TestSource, check_code, load_tests, tests_code, validate_check

if TYPE_CHECKING:
    from strands.types.content import Messages

    from agentcode.config import Settings
    from agentcode.sandbox.base import SandboxSession

# What of a failed run goes back to the model: enough to locate the bug, little enough that a
# small model's context is not flooded by a program that printed a million lines.
TRACE_LINES = 15
STDERR_LINES = 12
STDOUT_LINES = 8
MAX_FEEDBACK_CHARS = 3000

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
    return (
        f"Running that code failed:\n{failure}\n\n"
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
    from agentcode.generate import build_messages

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
        session = self.shared if self.shared is not None else self._open()
        try:
            return self._run_in(session, code)
        finally:
            if self.shared is None:
                session.close()

    def _run_in(self, session: SandboxSession, code: str) -> str | None:
        timeout = self.settings.timeout
        if self.files:
            session.write_files(self.files)
        steps: list[tuple[str, str, bytes | None]] = []
        if self.setup:
            steps.append(("the setup code", self.setup, None))
        steps.append(("running the code", code, self.stdin))
        if self.tests is not None:
            steps.append(("tests", tests_code(self.tests), None))
        if self.check is not None:
            steps.append(("the check", check_code(self.check), None))
        for stage, source, stdin in steps:
            try:
                execution = session.execute(source, timeout=timeout, stdin=stdin)
            except ExecutionTimeoutError as exc:
                partial = exc.execution or Execution()
                return describe_failure(stage, partial, timeout=timeout)
            if not execution.ok:
                return describe_failure(stage, execution)
        return None


def _merge_usage(total: dict[str, int], usage: Mapping[str, int]) -> None:
    for key, value in usage.items():
        if isinstance(value, int):
            total[key] = total.get(key, 0) + value


def generate_verified(
    prompt: str,
    *,
    tests: str | os.PathLike[str] | None = None,
    check: str | None = None,
    max_repairs: int = 2,
    stdin: bytes | str | os.PathLike[str] | None = None,
    files: Mapping[str, bytes] | Sequence[str | os.PathLike[str]] | None = None,
    sandbox: SandboxSession | str | None = None,
    setup: str | None = None,
    settings: Settings | None = None,
    context: str | None = None,
    history: Messages | None = None,
    on_round: RoundCallback | None = None,
    **generate_options: Any,
) -> Generation:
    """Generate code for ``prompt``, run it, and repair it until it passes or rounds run out.

    ``tests`` is a test file (``Path``) or test source (``str``); ``check`` an expression that must
    be true after the code ran; ``stdin`` and ``files`` are what the code gets when run;
    ``sandbox`` a backend name or an open session (a `Session`'s: candidates then share it);
    ``setup`` code run before each candidate (not shown to the model). A repair round is one more
    turn of the conversation: the task, the failed candidate as the model's answer, then the
    failure. Other keyword arguments (model, system, on_token, ...) go to every `generate` call.
    ``on_round`` is called after each round with the round and its index (0 for the first).
    """
    from agentcode.config import load_settings
    from agentcode.generate import generate

    if max_repairs < 0:
        raise UsageError(f"max_repairs must be 0 or more, not {max_repairs}")
    settings = settings or load_settings()
    verifier = Verifier(
        settings,
        sandbox=sandbox,
        stdin=_stdin_bytes(stdin),
        files=_file_map(files),
        tests=load_tests(tests),
        check=validate_check(check),
        setup=setup,
    )
    started = time.perf_counter()
    rounds: list[RepairRound] = []
    attempts = []
    usage: dict[str, int] = {}
    request, turns, data = prompt, history, context
    last: Generation | None = None
    for index in range(max_repairs + 1):
        try:
            candidate = generate(
                request, settings=settings, context=data, history=turns, **generate_options
            )
        except ModelError as exc:
            if last is None:
                raise  # no code at all: that is the caller's error to see
            # A repair that no model could write: keep the last candidate, say why in attempts.
            attempts.extend(exc.attempts or [Attempt(model="?", error=str(exc))])
            break
        last = candidate
        attempts.extend(last.attempts)
        _merge_usage(usage, last.usage)
        failure = verifier.run(last.code)
        this_round = RepairRound(
            code=last.code, model=last.model_id, passed=failure is None, error=failure
        )
        rounds.append(this_round)
        if on_round is not None:
            on_round(this_round, index)
        if failure is None or index == max_repairs:
            break
        notify = generate_options.get("on_restart")
        if callable(notify):  # a live display drops the streamed candidate and says why
            notify(f"verification failed ({first_line(failure)}): repair {index + 1}/{max_repairs}")
        request = repair_request(failure)
        turns = repair_history(prompt, last.code, context=context, history=history)
        data = None  # the data context is already in the first user turn
    assert last is not None  # the loop runs at least once
    return Generation(
        code=last.code,
        model_id=last.model_id,
        language=last.language,
        prompt=prompt,
        attempts=attempts,
        usage=usage,
        verified=rounds[-1].passed,
        rounds=rounds,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
