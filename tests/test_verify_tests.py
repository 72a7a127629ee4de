"""User tests (``tests=``) and ``check=`` in verified generation, run in the real local sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcode.config import Settings, load_settings
from agentcode.errors import UsageError
from agentcode.generation.checks.user_tests import load_tests
from agentcode.generation.codegen import AskOptions
from agentcode.generation.judge import Verifier
from agentcode.generation.options import VerifyOptions
from agentcode.generation.verify import generate_verified
from agentcode.testing import FakeModel


def block(code: str) -> str:
    return f"```python\n{code}\n```\n"


SLUG_WRONG = "def slugify(title: str) -> str:\n    return title.lower()\n"
SLUG_RIGHT = (
    "import re\n\n"
    "def slugify(title: str) -> str:\n"
    "    return re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')\n"
)
SLUG_TESTS = """\
from slugify import slugify


def test_lowercase():
    assert slugify("hello") == "hello"


def test_spaces_become_dashes():
    assert slugify("Hello World") == "hello-world"


def test_punctuation_is_dropped():
    assert slugify("Hi, there!") == "hi-there"
"""


@pytest.fixture
def settings() -> Settings:
    return load_settings(timeout=10)


@pytest.fixture
def slug_tests(tmp_path: Path) -> Path:
    path = tmp_path / "test_slugify.py"
    path.write_text(SLUG_TESTS, encoding="utf-8")
    return path


def test_failing_tests_are_repaired(settings: Settings, slug_tests: Path) -> None:
    model = FakeModel([block(SLUG_WRONG), block(SLUG_RIGHT)])
    generation = generate_verified(
        "a function slugify(title) -> str",
        VerifyOptions(tests=slug_tests),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.verified
    assert len(generation.rounds) == 2
    error = generation.rounds[0].error or ""
    # The first failure, with its assertion and both sides, as pytest would show them.
    assert "2 of 3 tests failed" in error
    assert "test_spaces_become_dashes failed" in error
    assert 'assert slugify("Hello World") == "hello-world"' in error
    assert "left:  'hello world'" in error
    assert "right: 'hello-world'" in error
    assert "test_punctuation_is_dropped" in error
    assert "test_slugify.py" in error
    assert "Running that code failed:" in model.calls[1].prompt


def test_tests_that_keep_failing_leave_it_unverified(settings: Settings, slug_tests: Path) -> None:
    generation = generate_verified(
        "slugify",
        VerifyOptions(tests=slug_tests, max_repairs=1),
        ask=AskOptions(model=FakeModel(block(SLUG_WRONG))),
        settings=settings,
    )
    assert not generation.verified
    assert len(generation.rounds) == 2


def _run(tests: str, code: str, settings: Settings) -> str | None:
    return Verifier(settings, tests=load_tests(tests)).run(code)


def test_plain_top_level_asserts(settings: Settings) -> None:
    tests = "assert double(2) == 4\nassert double(-1) == -2\n"
    assert _run(tests, "def double(x):\n    return 2 * x\n", settings) is None
    failure = _run(tests, "def double(x):\n    return x + 2\n", settings)
    assert failure is not None
    assert "the test file failed" in failure
    assert "assert double(-1) == -2" in failure
    assert "left:  1" in failure


def test_error_inside_the_candidate_shows_its_traceback(settings: Settings) -> None:
    tests = "def test_it():\n    assert parse('x') == 1\n"
    failure = _run(tests, "def parse(text):\n    return int(text)\n", settings) or ""
    assert "test_it failed: ValueError: invalid literal for int()" in failure
    assert "return int(text)" in failure


def test_pytest_features_without_pytest(settings: Settings) -> None:
    tests = """\
import pytest


@pytest.mark.parametrize(("a", "b", "total"), [(1, 2, 3), (2, 2, 4), (0.1, 0.2, 0.3)])
def test_add(a, b, total):
    assert add(a, b) == pytest.approx(total)


def test_rejects_strings():
    with pytest.raises(TypeError):
        add("a", 1)


@pytest.mark.slow
def test_marked():
    assert add(0, 0) == 0
"""
    assert _run(tests, "def add(a, b):\n    return a + b\n", settings) is None
    failure = _run(tests, "def add(a, b):\n    return a * b\n", settings) or ""
    assert "3 of 5 tests failed" in failure
    assert "test_add[a=1, b=2, total=3] failed" in failure


def test_fixtures_are_reported_not_crashed(settings: Settings) -> None:
    failure = _run("def test_needs(tmp_path):\n    assert tmp_path\n", "x = 1\n", settings) or ""
    assert "needs fixture(s) tmp_path" in failure


def test_test_file_problems_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="test file not found"):
        load_tests(tmp_path / "missing.py")
    bad = tmp_path / "test_bad.py"
    bad.write_text("def test_x(:\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid Python"):
        load_tests(bad)
    with pytest.raises(UsageError, match="looks like a file name"):
        load_tests("tests/test_slugify.py")


def test_check_expression(settings: Settings) -> None:
    wrong = "def fib(n):\n    return n\n"
    right = (
        "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n"
        "    return a\n"
    )
    model = FakeModel([block(wrong), block(right)])
    generation = generate_verified(
        "fib(n)",
        VerifyOptions(check="fib(10) == 55"),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.verified
    assert "check fib(10) == 55 was False" in (generation.rounds[0].error or "")


def test_check_that_raises_is_a_failure(settings: Settings) -> None:
    generation = generate_verified(
        "x",
        VerifyOptions(check="undefined_name > 1", max_repairs=0),
        ask=AskOptions(model=FakeModel([block("x = 1")])),
        settings=settings,
    )
    assert "NameError" in (generation.rounds[0].error or "")


def test_bad_check_is_refused_before_any_model_call(settings: Settings) -> None:
    model = FakeModel([])
    with pytest.raises(UsageError, match="not a Python expression"):
        generate_verified(
            "x",
            VerifyOptions(check="x =="),
            ask=AskOptions(model=model),
            settings=settings,
        )
    assert model.calls == []


def test_pytest_stand_in_when_pytest_is_missing(settings: Settings) -> None:
    # Hide any real pytest the sandbox might see, so the stand-in answers `import pytest`.
    hide = "import sys\nsys.modules['pytest'] = None\n"
    tests = """\
import pytest


@pytest.mark.parametrize("n, square", [(2, 4), (3, 9), pytest.param(4, 16)])
def test_square(n, square):
    assert sq(n) == square


def test_raises_and_approx():
    with pytest.raises(TypeError, match="unsupported"):
        sq("x")
    assert sq(0.1) == pytest.approx(0.01)


@pytest.mark.skip(reason="test data: the verify runner must honour a skip marker")
def test_skipped():
    pytest.fail("never runs")
"""
    verifier = Verifier(settings, tests=load_tests(tests), setup=hide)
    assert verifier.run("def sq(n):\n    return n ** 2\n") is None
    failure = verifier.run("def sq(n):\n    return n * 2\n") or ""
    assert "3 of 4 tests failed" in failure
    assert "test_square[n=3, square=9] failed" in failure


def test_code_cannot_forge_the_tests_or_the_checks_verdict(settings: Settings) -> None:
    """Issue 24: a test file with `assert False` and a check `1 == 2` were reported as passed
    when the candidate forged the runner's report: exited with 0 from inside a check or from a
    planted pytest module, or replaced builtins the worker compiles and encodes with."""
    failing_tests = "def test_it():\n    assert False\n"
    exits = "import sys\ndef f(x):\n    sys.exit(0)\n"
    assert Verifier(settings, check="f(1) == 2").run(exits) is not None
    planted = ("open('pytest.py', 'w').write('raise SystemExit(0)\\n')\n"
               "def f(x):\n    return x\n")
    assert _run(failing_tests, planted, settings) is not None
    patched = (
        "import builtins, json\n"
        "_real = builtins.compile\n"
        "def _compile(source, *args, **kwargs):\n"
        "    text = source if isinstance(source, str) else ''\n"
        "    return _real('pass' if 'agentcode' in text else source, *args, **kwargs)\n"
        "builtins.compile = _compile\n"
        "builtins.eval = lambda *args, **kwargs: True\n"
        "_dumps = json.dumps\n"
        "json.dumps = lambda obj, *a, **k: _dumps({**obj, 'status': 'ok', 'exit_code': 0,\n"
        "                                          'error': None} if isinstance(obj, dict)\n"
        "                                         and obj.get('type') == 'result' else obj)\n"
    )
    assert _run(failing_tests, patched, settings) is not None
    assert Verifier(settings, check="1 == 2").run(patched) is not None
    # Names in a check resolve as before (a global called value included).
    assert Verifier(settings, check="value == 3\n# why").run("value = 3") is None


def test_the_judging_process_reads_stdin_as_the_worker_does(settings: Settings) -> None:
    """The fresh judging process (checks/fresh.py) gets the candidate's stdin unencoded after
    the job's line: newlines (universal, as in the worker), non-ASCII and 2 MB arrive."""
    data = "a\nb\r\n\u00e9\n".encode() + b"x" * 2_000_000
    code = "import sys\ntext = sys.stdin.read()\n"
    check = "text[:6] == 'a\\nb\\n\\u00e9\\n' and len(text) == 2_000_006"  # as the worker reads
    assert Verifier(settings, stdin=data, check=check).run(code) is None
