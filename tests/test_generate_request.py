"""`generate` and `agenerate` share one definition (`GenerateOptions`, one `Request`) and both
verify; with known input and ``verify`` unset, `generate` runs the candidate on it as `gen`
does; the model is told the packages of the sandbox the candidates run in."""

from __future__ import annotations

import asyncio

import pytest

import agentcode
from agentcode.config import Settings
from agentcode.generation.request import build_request
from agentcode.testing import FakeModel


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


@pytest.fixture
def settings() -> Settings:
    return Settings(history=False, sandbox="local")


def test_agenerate_verifies_like_generate(settings: Settings) -> None:
    replies = [fenced("x = 1\n"), fenced("x = 2\n")]
    synced = agentcode.generate("x is 2", model=FakeModel(list(replies)), check="x == 2",
                                settings=settings)
    awaited = asyncio.run(agentcode.agenerate("x is 2", model=FakeModel(list(replies)),
                                              check="x == 2", settings=settings))
    for generation in (synced, awaited):
        assert generation.verified and generation.code == "x = 2\n"
        assert [(r.kind, r.stage) for r in generation.rounds] == [("first", "check"),
                                                                 ("repair", None)]


def test_known_input_runs_the_candidate_as_gen_does(settings: Settings) -> None:
    crash = "import sys\nrows = sys.stdin.read().split()\nprint(rows[10])\n"
    fixed = "import sys\nprint(len(sys.stdin.read().split()))\n"
    model = FakeModel([fenced(crash), fenced(fixed)])
    generation = agentcode.generate("count the words", model=model, stdin=b"a b\nc\n",
                                    settings=settings)
    assert generation.verified and generation.code == fixed
    assert [r.stage for r in generation.rounds] == ["run", None]
    # The model saw the input's sample, as `gen` shows it.
    assert "Input data: the program reads it from stdin" in model.calls[0].prompt
    # verify=False: written, not run.
    model = FakeModel([fenced(crash)])
    unrun = agentcode.generate("count the words", model=model, stdin=b"a b\nc\n",
                               verify=False, settings=settings)
    assert unrun.rounds == [] and unrun.code == crash


def test_an_unknown_option_is_a_type_error_naming_it(settings: Settings) -> None:
    with pytest.raises(TypeError, match="unexpected keyword arguments: colour"):
        agentcode.generate("x", model=FakeModel([fenced("x = 1\n")]), settings=settings,
                           colour="red")  # type: ignore[call-arg]


def test_the_model_is_told_the_packages_of_the_sandbox_that_runs_the_code(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcode.sandbox.local import packages

    def importable(backend: str, _settings: Settings) -> list[str]:
        return {"local": [], "unsafe": ["polars"]}.get(backend, [])

    monkeypatch.setattr(packages, "importable_packages", importable)
    request = build_request("x", {"check": "True", "sandbox": "unsafe"}, settings=settings)
    assert request.verify is not None and request.verify.sandbox == "unsafe"
    model = FakeModel([fenced("x = 1\n")])
    agentcode.generate("x", model=model, check="True", sandbox="unsafe", settings=settings)
    assert "polars" in model.calls[0].system_prompt


def test_without_a_sandbox_the_optional_run_is_skipped_and_said(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from agentcode.api.generation import known_input_options
    from agentcode.errors import SandboxUnavailableError

    monkeypatch.setenv("PATH", str(tmp_path))  # no bubblewrap: the local sandbox cannot start
    code = "import sys\nprint(len(sys.stdin.read().split()))\n"
    # generate: the run on known input is the library's choice, so the code comes back unrun.
    generation = agentcode.generate("count the words", model=FakeModel([fenced(code)]),
                                    stdin=b"a b\n", settings=settings)
    assert generation.code == code and generation.checked == "not run"
    # A Session under the same rule (as `gen` uses one), told through on_warning.
    context, options = known_input_options({}, files={"notes.txt": b"a b\n"}, stdin=None,
                                           prompt="count the words")
    warnings: list[str] = []
    with agentcode.Session(settings=settings, model=FakeModel([fenced(code)])) as session:
        session.stateful = False  # candidates run in a sandbox of their own
        unrun = session.generate("count the words", context=context,
                                 on_warning=warnings.append, **options)
    assert unrun.checked == "not run" and warnings[0].startswith("not running the code: ")
    # Asked for, the run is no bonus: no sandbox is an error.
    with pytest.raises(SandboxUnavailableError):
        agentcode.generate("count the words", model=FakeModel([fenced(code)]), stdin=b"a b\n",
                           verify=True, settings=settings)


def test_tests_on_known_input_get_the_full_budget_and_the_model_sees_the_input(
    settings: Settings,
) -> None:
    # As `gen --test --stdin`: the caller's tests decide, with DEFAULT_MAX_REPAIRS rounds, not
    # the budget of the run on known input nobody asked for; the model sees the input's sample
    # whether or not ``verify`` was said.
    from agentcode.api.generation import known_input_options
    from agentcode.types import DEFAULT_MAX_REPAIRS

    _, options = known_input_options({"tests": "assert True"}, files={}, stdin=b"1\n2\n",
                                     prompt="sum the numbers")
    assert options["verify"] is True and "optional_run" not in options
    request = build_request("sum the numbers", options, settings=settings)  # type: ignore[arg-type]
    assert request.verify is not None and request.verify.max_repairs == DEFAULT_MAX_REPAIRS
    assert request.verify.optional_run is False
    model = FakeModel([fenced("import sys\nprint(sum(map(int, sys.stdin.read().split())))\n")])
    generation = agentcode.generate("sum the numbers", model=model, stdin=b"1\n2\n",
                                    verify=True, settings=settings)
    assert generation.verified and "Input data: the program reads it from stdin" in (
        model.calls[0].prompt)


def test_piped_input_too_large_to_keep_is_described_and_not_run_on() -> None:
    from agentcode.api.generation import known_input_options
    from agentcode.inputs import Piped

    sample = Piped(b"a,b\n1,2\n", total_bytes=10_000_000, total_lines=500_000, truncated=True)
    context, options = known_input_options({"verify": None}, files={}, stdin=None,
                                           prompt="print the sum of column b", sample=sample)
    assert context is not None and "a,b" in context and "more than 10,000,000 bytes" in context
    # No run: not on the sample (it is not the input), nor with empty stdin.
    assert options == {}


def test_arguments_are_known_input_the_model_is_told_and_every_run_gets(
    settings: Settings,
) -> None:
    # The program's arguments (sys.argv[1:]) are input as stdin is: the model sees them, the
    # candidate runs with them (a crash on them is repaired), and so do the tests and check
    # (in the fresh process that judges them).
    crash = "import sys\nprint(sys.argv[2])\n"
    fixed = "import sys\nn = int(sys.argv[1])\nprint(n + 1)\n"
    model = FakeModel([fenced(crash), fenced(fixed)])
    generation = agentcode.generate("print the first argument plus one", model=model,
                                    args=["3"], settings=settings)
    assert generation.verified and generation.code == fixed
    assert [r.stage for r in generation.rounds] == ["run", None]
    assert generation.checked == "ran cleanly on the given input"
    assert "sys.argv[1:] == ['3']" in model.calls[0].prompt
    checked = agentcode.generate("n is the first argument", model=FakeModel([fenced(fixed)]),
                                 args=["3"], check="n == 3 and sys.argv[1:] == ['3']",
                                 settings=settings)
    assert checked.verified and checked.checked == "tests passed"
