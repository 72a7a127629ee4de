"""What verification runs after the candidate: the user's test file and the ``--check`` expression.

Both run in the candidate's namespace, so they see its functions and variables: in a session
of the Verifier's own, in a judging process (`checks.fresh`); in a shared session, as later
requests of that session (the code built here). The code built here only *describes* the run;
nothing is executed in agentcode's own process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agentcode.errors import UsageError

# Frames of the runner itself are dropped from reports (see test_harness._describe).
RUNNER_FILENAME = "<agentcode-test-runner>"
# A step that exits (sys.exit(0) in a function the tests call, a planted pytest.py that exits
# when the runner imports it) ends with exit code 0, which a run counts as clean: here it fails.
_EXIT_FAILS = (
    "except SystemExit as _agentcode_exit:\n"
    "    raise AssertionError('the code exited (' + repr(_agentcode_exit.code)[:100] + ') '\n"
    "                         'before the tests finished') from None\n"
)


@dataclass(frozen=True, slots=True)
class TestSource:
    """A test file's code and the name its tracebacks show."""

    code: str
    filename: str


def load_tests(tests: str | os.PathLike[str] | None) -> TestSource | None:
    """A path (``Path``) is read; a ``str`` is the tests' source code itself."""
    if tests is None:
        return None
    if isinstance(tests, os.PathLike):
        path = Path(tests)
        try:
            code = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"test file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read test file {path}: {exc}") from None
        filename = path.name
    else:
        code = tests
        if "\n" not in code and code.strip().endswith(".py"):
            raise UsageError(
                f"tests={code!r} looks like a file name: pass pathlib.Path({code!r}) to read a "
                "test file, or the tests' source code as a str"
            )
        filename = "tests.py"
    try:
        compile(code, filename, "exec")  # syntax only: nothing runs here
    except SyntaxError as exc:
        raise UsageError(
            f"test file {filename} is not valid Python: line {exc.lineno}: {exc.msg}"
        ) from None
    return TestSource(code, filename)


def runner_source() -> str:
    return Path(__file__).with_name("test_harness.py").read_text(encoding="utf-8")


# Where `tests_code` leaves the harness's report in the candidate's namespace; `REPORT_CODE`
# prints it as JSON (and removes it), so the counts come back as data, not from a message.
_REPORT = "_agentcode_tests_report"
REPORT_CODE = (
    "import json as _agentcode_json\n"
    f"print(_agentcode_json.dumps(globals().pop({_REPORT!r}, None)))\n"
    "del _agentcode_json\n"
)


@dataclass(frozen=True, slots=True)
class TestCounts:
    """How many of the user's tests ran and failed (None: the test file itself failed)."""

    failed: int | None
    total: int | None


def tests_code(tests: TestSource) -> str:
    """Code that runs the tests in the candidate's namespace, raising AssertionError on failure
    and leaving the counts for `REPORT_CODE`."""
    return (
        "def _agentcode_run_tests():\n"
        "    runner = {'__name__': 'agentcode_test_runner'}\n"
        f"    exec(compile({runner_source()!r}, {RUNNER_FILENAME!r}, 'exec'), runner)\n"
        f"    return runner['run_tests']({tests.code!r}, {tests.filename!r}, globals())\n"
        "try:\n"
        f"    {_REPORT} = _agentcode_run_tests()\n"
        f"{_EXIT_FAILS}"
        "finally:\n"
        "    del _agentcode_run_tests\n"
        f"if {_REPORT}['message']:\n"
        f"    raise AssertionError({_REPORT}['message'])\n"
        f"del {_REPORT}\n"
    )


def read_counts(report_stdout: str) -> TestCounts:
    """The counts `REPORT_CODE` printed (unknown when it printed none)."""
    import json

    try:
        report = json.loads(report_stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return TestCounts(None, None)
    if not isinstance(report, dict):
        return TestCounts(None, None)
    failed, total = report.get("failed"), report.get("ran")
    return TestCounts(failed if isinstance(failed, int) else None,
                      total if isinstance(total, int) else None)


def validate_check(check: str | None) -> str | None:
    """Refuse a ``--check`` that is not a Python expression before any model is asked."""
    if check is None:
        return None
    try:
        compile(check, "<check>", "eval")  # syntax only: nothing runs here
    except SyntaxError as exc:
        raise UsageError(f"--check {check!r} is not a Python expression: {exc.msg}") from None
    return check


def check_code(check: str) -> str:
    """Code that evaluates ``check`` in the candidate's namespace and raises unless it is true."""
    return (
        # The expression is part of the code, not given to eval(): code that replaced
        # builtins.eval cannot answer for it.
        "def _agentcode_check():\n"
        f"    _agentcode_value = (\n{check}\n    )\n"
        "    if not _agentcode_value:\n"
        f"        raise AssertionError('check ' + {check!r} + ' was ' + "
        "repr(_agentcode_value)[:300])\n"
        "try:\n"
        "    _agentcode_check()\n"
        f"{_EXIT_FAILS}"
        "finally:\n"
        "    del _agentcode_check\n"
    )
