"""The repair loop, with fake models (the boundary) and the real local sandbox (bubblewrap)."""

from __future__ import annotations

import pytest

from agentcode.config import Settings, load_settings
from agentcode.errors import UsageError
from agentcode.generation.codegen import AskOptions
from agentcode.generation.judge import MAX_FEEDBACK_CHARS
from agentcode.generation.options import VerifyOptions
from agentcode.generation.verify import generate_verified
from agentcode.testing import FakeModel


def block(code: str) -> str:
    return f"```python\n{code}\n```\n"


BROKEN = "numbers = [1, 2, 3]\nprint(sum(numbers) / 0)\n"
FIXED = "numbers = [1, 2, 3]\nprint(sum(numbers) / len(numbers))\n"


@pytest.fixture
def settings() -> Settings:
    return load_settings(timeout=10)


def test_broken_then_fixed_is_verified_in_two_rounds(settings: Settings) -> None:
    model = FakeModel([block(BROKEN), block(FIXED)], model_id="fake-coder")
    generation = generate_verified(
        "average of 1, 2, 3",
        ask=AskOptions(model=model),
        settings=settings,
    )

    assert generation.verified is True
    assert generation.code.strip() == FIXED.strip()
    assert [r.passed for r in generation.rounds] == [False, True]
    assert generation.repairs == 1
    first = generation.rounds[0]
    assert first.code.strip() == BROKEN.strip()
    assert "ZeroDivisionError" in (first.error or "")
    assert all(r.model == generation.model_id for r in generation.rounds)
    assert "fake-coder" in generation.model_id
    assert generation.prompt == "average of 1, 2, 3"
    assert len(generation.attempts) == 2
    assert generation.usage["outputTokens"] > 0

    # The repair turn: the task, the failed code as the model's answer, then the error.
    repair = model.calls[1]
    assert repair.prompt.startswith("Running that code failed:")
    assert "ZeroDivisionError" in repair.prompt
    assert "print(sum(numbers) / 0)" in repair.messages[-2]["content"][0]["text"]
    assert repair.messages[-2]["role"] == "assistant"
    assert repair.messages[0]["content"][0]["text"].startswith("average of 1, 2, 3")


def test_never_fixed_gives_up_after_max_repairs(settings: Settings) -> None:
    model = FakeModel(block(BROKEN))
    generation = generate_verified(
        "average",
        VerifyOptions(max_repairs=2),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.verified is False
    assert len(generation.rounds) == 3
    assert len(model.calls) == 3
    assert generation.code.strip() == BROKEN.strip()
    assert all(not r.passed and "ZeroDivisionError" in (r.error or "") for r in generation.rounds)


def test_max_repairs_zero_runs_once(settings: Settings) -> None:
    model = FakeModel([block(BROKEN)])
    generation = generate_verified(
        "average",
        VerifyOptions(max_repairs=0),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert (generation.verified, len(generation.rounds)) == (False, 1)


def test_negative_max_repairs_is_a_usage_error(settings: Settings) -> None:
    with pytest.raises(UsageError, match="max_repairs"):
        generate_verified(
            "x",
            VerifyOptions(max_repairs=-1),
            ask=AskOptions(model=FakeModel([])),
            settings=settings,
        )


def test_non_zero_exit_is_a_failure(settings: Settings) -> None:
    failing = "import sys\nprint('bad input', file=sys.stderr)\nsys.exit(3)\n"
    model = FakeModel([block(failing), block("print('ok')")])
    generation = generate_verified("task", ask=AskOptions(model=model), settings=settings)
    error = generation.rounds[0].error or ""
    assert "exited with status 3" in error
    assert "bad input" in error  # stderr goes back to the model
    assert generation.verified


def test_timeout_counts_as_failure(settings: Settings) -> None:
    settings.timeout = 1.5
    model = FakeModel([block("print('start')\nwhile True:\n    pass\n"), block("print('done')")])
    generation = generate_verified("loop", ask=AskOptions(model=model), settings=settings)
    assert "timed out after 1.5 s" in (generation.rounds[0].error or "")
    assert generation.verified and len(generation.rounds) == 2


def test_stdin_and_files_reach_the_candidate(settings: Settings, tmp_path) -> None:  # noqa: ANN001
    code = (
        "import csv, sys\n"
        "rows = list(csv.reader(sys.stdin))\n"
        "extra = open('bonus.txt').read().strip()\n"
        "print(sum(int(r[1]) for r in rows) + int(extra))\n"
    )
    sample = tmp_path / "sample.csv"
    sample.write_text("a,1\nb,2\nc,3\n", encoding="utf-8")
    bonus = tmp_path / "bonus.txt"
    bonus.write_text("100\n", encoding="utf-8")
    model = FakeModel([block(code)])
    generation = generate_verified(
        "sum column 2",
        VerifyOptions(stdin=sample, files=[bonus]),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.verified, generation.rounds[0].error

    # Without the input the same code fails, and the failure says why.
    failed = generate_verified(
        "sum column 2",
        VerifyOptions(max_repairs=0),
        ask=AskOptions(model=FakeModel(block(code))),
        settings=settings,
    )
    assert "FileNotFoundError" in (failed.rounds[0].error or "")


def test_feedback_is_bounded(settings: Settings) -> None:
    noisy = "for i in range(20000):\n    print('line', i)\nraise ValueError('the real problem')\n"
    model = FakeModel([block(noisy)])
    generation = generate_verified(
        "noise",
        VerifyOptions(max_repairs=0),
        ask=AskOptions(model=model),
        settings=settings,
    )
    error = generation.rounds[0].error or ""
    assert "ValueError: the real problem" in error
    assert "line 19999" in error  # the end of stdout, where the program was when it failed
    assert "line 5\n" not in error
    assert len(error) <= MAX_FEEDBACK_CHARS + 10


def test_each_candidate_gets_a_fresh_sandbox(settings: Settings) -> None:
    leaky = "secret = 42\nraise RuntimeError('first candidate fails')\n"
    # Not print(secret): the static pre-flight would stop that before it runs.
    uses_it = "assert 'secret' not in globals(), 'state leaked'\n"
    generation = generate_verified(
        "task",
        VerifyOptions(max_repairs=1),
        ask=AskOptions(model=FakeModel([block(leaky), block(uses_it)])),
        settings=settings,
    )
    assert generation.verified
    assert generation.rounds[1].passed and generation.code == uses_it


def test_a_given_session_is_shared_by_candidates(settings: Settings) -> None:
    from agentcode.sandbox import open_sandbox

    with open_sandbox("local", settings) as session:
        session.execute("secret = 42")
        generation = generate_verified(
            "task",
            VerifyOptions(sandbox=session),
            ask=AskOptions(model=FakeModel([block("print(secret + 1)")])),
            settings=settings,
        )
        assert generation.verified
        assert session.execute("secret").text == "42"  # the session is still open and usable


def test_inside_a_session_candidates_use_its_sandbox(settings: Settings) -> None:
    from agentcode.api.session import Session

    with Session(settings=settings) as session:
        session.execute("rate = 3")
        generation = generate_verified(
            "triple 5 with the session's rate",
            VerifyOptions(sandbox=session.sandbox, check="rate == 3"),
            ask=AskOptions(model=FakeModel([block("print(rate * 5)")])),
            settings=settings,
        )
        assert generation.verified


def test_generate_delegates_to_the_loop(settings: Settings) -> None:
    from agentcode.api.generation import generate

    model = FakeModel([block(BROKEN), block(FIXED)])
    generation = generate("average", model=model, settings=settings, verify=True)
    assert generation.verified and len(generation.rounds) == 2

    # tests= or check= alone imply verification.
    checked = generate("average", model=FakeModel([block("total = 7")]), settings=settings,
                       check="total == 7")
    assert checked.verified and len(checked.rounds) == 1

    plain = generate("average", model=FakeModel([block(BROKEN)]), settings=settings)
    assert plain.rounds == [] and plain.verified is False


def test_a_model_failure_during_repair_spends_the_round_and_keeps_the_candidate(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcode.errors import ModelError
    from agentcode.testing import client_error

    monkeypatch.setenv("AGENTCODE_MODEL_RETRY_SECONDS", "0")
    settings = load_settings(timeout=10)
    model = FakeModel([block(BROKEN), client_error("ValidationException", "input too long")])
    generation = generate_verified(
        "average",
        VerifyOptions(max_repairs=1),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.verified is False
    assert generation.code.strip() == BROKEN.strip()  # the round that failed has no code
    assert [(r.kind, r.stage) for r in generation.rounds] == [("first", "run"),
                                                               ("repair", "model")]
    assert "input too long" in (generation.rounds[1].error or "")
    assert any(a.error and "input too long" in a.error for a in generation.attempts)

    # The round is spent, not the loop: the next one draws the (shorter) original request again.
    model = FakeModel([block(BROKEN), client_error("ValidationException", "input too long"),
                       block(FIXED)])
    generation = generate_verified("average", ask=AskOptions(model=model), settings=settings)
    assert generation.verified and generation.rounds[-1].kind == "resample"
    assert model.calls[2].prompt == "average"

    # Without any candidate there is nothing to return: the model error is the caller's.
    with pytest.raises(ModelError):
        generate_verified(
            "average",
            ask=AskOptions(model=FakeModel([client_error("ValidationException")])),
            settings=settings,
        )
