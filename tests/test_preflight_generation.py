"""The static pre-flight inside generation: certain imports added without asking the model,
other undefined names quoted back in one repair round (plain gen), or failing a verify round
before it runs; a session's own variables are not undefined."""

from __future__ import annotations

import pytest

from agentcode.api.generation import generate
from agentcode.api.session import Session
from agentcode.config import Settings, load_settings
from agentcode.generation.codegen import AskOptions
from agentcode.generation.options import VerifyOptions
from agentcode.generation.verify import generate_verified
from agentcode.testing import FakeModel


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


@pytest.fixture
def settings() -> Settings:
    return load_settings(history=False)


def test_a_missing_stdlib_import_is_added_without_asking_again(settings: Settings) -> None:
    model = FakeModel(fenced("for line in sys.stdin:\n    print(line.upper(), end='')\n"))
    generation = generate("upper-case stdin", model=model, settings=settings)
    assert generation.code == (
        "import sys\nfor line in sys.stdin:\n    print(line.upper(), end='')\n"
    )
    assert len(model.calls) == 1 and generation.rounds == []


def test_an_undefined_name_gets_one_repair_round_that_quotes_it(settings: Settings) -> None:
    broken = "for row in rows:\n    seen.add(row)\nseen = set()\n"
    fixed = "import sys\nseen = set()\nfor row in sys.stdin:\n    seen.add(row)\nprint(len(seen))\n"
    model = FakeModel([fenced(broken), fenced(fixed)])
    generation = generate("count distinct lines", model=model, settings=settings)
    assert generation.code == fixed
    assert "name 'rows' is used but never defined" in model.calls[1].prompt
    assert "name 'seen'" in model.calls[1].prompt
    assert [m["role"] for m in model.calls[1].messages] == ["user", "assistant", "user"]
    first, repair = generation.rounds
    assert (first.stage, first.passed, first.kind) == ("names", False, "first")
    assert (repair.stage, repair.passed, repair.kind) == (None, True, "repair")
    assert not generation.verified  # nothing ran


def test_a_repair_that_is_worse_does_not_replace_the_first_answer(settings: Settings) -> None:
    one_problem = "print(total)\n"
    two_problems = "print(total + extra)\n"
    model = FakeModel([fenced(one_problem), fenced(two_problems)])
    generation = generate("print the total", model=model, settings=settings)
    assert generation.code == one_problem
    assert generation.rounds[1].stage == "names" and not generation.rounds[1].passed


def test_in_verify_an_undefined_name_fails_the_round_before_it_runs(settings: Settings) -> None:
    model = FakeModel([fenced("print(undefined_total)\n"), fenced("print(42)\n")])
    generation = generate_verified("print 42", VerifyOptions(check="True"),
                                   ask=AskOptions(model=model), settings=settings)
    assert generation.verified and generation.code == "print(42)\n"
    first = generation.rounds[0]
    assert first.stage == "names" and "undefined_total" in (first.error or "")
    assert model.calls[1].prompt.startswith("That code failed:\nchecked before running")


def test_a_session_variable_is_not_an_undefined_name(settings: Settings) -> None:
    model = FakeModel(fenced("print(rate * 5)\n"))
    with Session(settings=settings, model=model) as session:
        session.execute("rate = 3")
        generation = session.generate("triple 5 with the rate")
        assert generation.code == "print(rate * 5)\n" and len(model.calls) == 1
        assert session.execute(generation.code).stdout == "15\n"


def test_a_verified_program_comes_back_with_the_imports_the_pre_flight_added(
    settings: Settings,
) -> None:
    # The loop judged the pre-flight's program (import sys added) and must return that one,
    # not the model's, which raises NameError when run.
    model = FakeModel([fenced("print(sys.stdin.read().upper(), end='')\n")])
    generation = generate_verified("upper-case stdin", VerifyOptions(stdin=b"abc\n"),
                                   ask=AskOptions(model=model), settings=settings)
    assert generation.verified and len(model.calls) == 1
    assert generation.code == "import sys\nprint(sys.stdin.read().upper(), end='')\n"
    assert generation.rounds[0].code == generation.code
