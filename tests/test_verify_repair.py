"""How repair rounds are drawn and which candidate is kept, with fake models (the boundary) and
the real local sandbox (bubblewrap)."""

from __future__ import annotations

import pytest

from agentcode.config import Settings, load_settings
from agentcode.errors import UsageError
from agentcode.generation.codegen import AskOptions
from agentcode.generation.options import REPAIR_TEMPERATURE, VerifyOptions
from agentcode.generation.rounds import best_round, round_rank
from agentcode.generation.verify import generate_verified
from agentcode.models.sampling import Sampling
from agentcode.testing import FakeModel
from agentcode.types import RepairRound

TESTS = """\
def test_one():
    assert double(1) == 2

def test_two():
    assert double(2) == 4

def test_three():
    assert double(0) == 0
"""
NEAR_MISS = "def double(x):\n    return x * 2 if x < 2 else x * 3\n"  # fails only double(2)
WRONG = "def double(x):\n    return x - 100\n"  # fails 3 of 3
CRASH = "raise SystemExit('no idea')\n"  # does not even run
RIGHT = "def double(x):\n    return 2 * x\n"


def block(code: str) -> str:
    return f"```python\n{code}```\n"


@pytest.fixture
def settings() -> Settings:
    return load_settings(timeout=10, history=False)


def test_repair_rounds_are_sampled_with_a_seed_per_round(settings: Settings) -> None:
    model = FakeModel([block(WRONG), block(WRONG), block(RIGHT)])
    generation = generate_verified(
        "double(x)",
        VerifyOptions(tests=TESTS),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.verified and generation.code == RIGHT
    first, second, third = (call.config for call in model.calls)
    assert first.get("temperature") is None  # the first round is the model's own (greedy)
    assert (second["temperature"], third["temperature"]) == (REPAIR_TEMPERATURE,) * 2
    assert [r.temperature for r in generation.rounds] == [None, REPAIR_TEMPERATURE,
                                                          REPAIR_TEMPERATURE]
    assert model.get_config().get("temperature") is None  # put back after each call


def test_llamacpp_style_models_get_a_different_seed_each_round(settings: Settings) -> None:
    model = FakeModel([block(WRONG), block(WRONG), block(WRONG)])
    model.update_config(params={"temperature": 0.0, "max_tokens": 64})
    generate_verified(
        "double(x)",
        VerifyOptions(tests=TESTS, repair_temperature=0.5, max_repairs=2),
        ask=AskOptions(model=model),
        settings=settings,
    )
    params = [call.config["params"] for call in model.calls]
    assert params[0] == {"temperature": 0.0, "max_tokens": 64}
    assert [(p["temperature"], p["seed"]) for p in params[1:]] == [(0.5, 1), (0.5, 2)]
    assert model.get_config()["params"] == {"temperature": 0.0, "max_tokens": 64}


def test_first_round_sampling_can_be_chosen(settings: Settings) -> None:
    model = FakeModel([block(RIGHT)])
    generate_verified(
        "double(x)",
        VerifyOptions(tests=TESTS),
        ask=AskOptions(model=model, sampling=Sampling(0.3, seed=9)),
        settings=settings,
    )
    assert model.calls[0].config["temperature"] == 0.3


@pytest.mark.parametrize("temperature", [-1.0, 2.1])
def test_repair_temperature_out_of_range_is_a_usage_error(
    settings: Settings, temperature: float
) -> None:
    with pytest.raises(UsageError, match="repair_temperature"):
        generate_verified(
            "x",
            VerifyOptions(repair_temperature=temperature),
            ask=AskOptions(model=FakeModel([])),
            settings=settings,
        )


def test_the_nearest_miss_is_kept_and_repaired_from(settings: Settings) -> None:
    model = FakeModel([block(NEAR_MISS), block(WRONG), block(CRASH)])
    generation = generate_verified(
        "double(x)",
        VerifyOptions(tests=TESTS, max_repairs=2),
        ask=AskOptions(model=model),
        settings=settings,
    )

    assert generation.verified is False
    assert generation.code == NEAR_MISS  # not the last candidate, which did not even run
    assert generation.kept_round == 0
    near, wrong, crash = generation.rounds
    assert (near.stage, near.tests_failed, near.tests_total) == ("tests", 1, 3)
    assert (wrong.stage, wrong.tests_failed, wrong.tests_total) == ("tests", 3, 3)
    assert (crash.stage, crash.tests_failed) == ("run", None)
    # Both repairs start from the near miss, not from the worse candidate that came after it.
    for call in model.calls[1:]:
        assert call.messages[-2]["content"][0]["text"] == f"```python\n{NEAR_MISS.rstrip()}\n```"
        assert "1 of 3 tests failed" in call.prompt


def test_a_better_later_candidate_becomes_the_base(settings: Settings) -> None:
    model = FakeModel([block(CRASH), block(NEAR_MISS), block(RIGHT)])
    generation = generate_verified(
        "double(x)",
        VerifyOptions(tests=TESTS),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.verified and generation.kept_round == 2
    assert NEAR_MISS.rstrip() in model.calls[2].messages[-2]["content"][0]["text"]


def test_the_check_and_setup_stages_are_recorded(settings: Settings) -> None:
    model = FakeModel([block("x = 1\n")])
    generation = generate_verified(
        "x",
        VerifyOptions(check="x == 2", max_repairs=0),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.rounds[0].stage == "check"
    broken_setup = generate_verified(
        "x",
        VerifyOptions(setup="raise ValueError('setup')", max_repairs=0),
        ask=AskOptions(model=FakeModel([block("x = 1\n")])),
        settings=settings,
    )
    assert broken_setup.rounds[0].stage == "setup"


def _round(passed: bool = False, stage: str | None = None, failed: int | None = None,
           total: int | None = None) -> RepairRound:
    return RepairRound(code="", model="m", passed=passed, error=None if passed else "x",
                       stage=stage, tests_failed=failed, tests_total=total)


def test_rank_orders_by_how_far_a_candidate_got() -> None:
    order = [
        _round(passed=True),
        _round(stage="check"),
        _round(stage="tests", failed=1, total=4),
        _round(stage="tests", failed=3, total=4),
        _round(stage="tests"),  # a test file that failed as a whole: counts unknown
        _round(stage="run"),
        _round(stage="setup"),
    ]
    ranks = [round_rank(r) for r in order]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)


def test_best_round_takes_the_earliest_of_equals() -> None:
    rounds = [_round(stage="run"), _round(stage="tests", failed=2, total=3),
              _round(stage="tests", failed=2, total=3), _round(stage="run")]
    assert best_round(rounds) == 1
    assert best_round([*rounds, _round(passed=True)]) == 4


def test_a_repair_that_changes_nothing_turns_later_rounds_into_fresh_draws(
    settings: Settings,
) -> None:
    same_again = "def double(x):\n    # still the same\n    return x - 100\n"  # WRONG, re-laid out
    model = FakeModel([block(WRONG), block(same_again), block(NEAR_MISS), block(RIGHT)])
    generation = generate_verified(
        "double(x)",
        VerifyOptions(tests=TESTS, max_repairs=3),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.verified and generation.code == RIGHT
    assert [r.kind for r in generation.rounds] == ["first", "repair", "resample", "resample"]
    # A fresh draw is the original request alone, at the repair temperature with its own seed.
    for call in model.calls[2:]:
        assert [m["role"] for m in call.messages] == ["user"]
        assert call.prompt == "double(x)"
        assert call.config["temperature"] == REPAIR_TEMPERATURE
    assert model.calls[1].prompt.startswith("Running that code failed:")


def test_a_repair_that_changes_the_code_keeps_repairing(settings: Settings) -> None:
    model = FakeModel([block(WRONG), block(NEAR_MISS), block(RIGHT)])
    generation = generate_verified(
        "double(x)",
        VerifyOptions(tests=TESTS),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert [r.kind for r in generation.rounds] == ["first", "repair", "repair"]
    assert "1 of 3 tests failed" in model.calls[2].prompt


def test_a_round_with_no_usable_code_is_recorded_and_the_loop_goes_on(
    settings: Settings,
) -> None:
    # The router asks once more after a reply without code; both fail, so the round is spent.
    model = FakeModel([block(WRONG), "I am not sure.", "Still no code.", block(RIGHT)])
    generation = generate_verified(
        "double(x)",
        VerifyOptions(tests=TESTS),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.verified and generation.code == RIGHT
    first, empty, last = generation.rounds
    assert (empty.stage, empty.code, empty.passed) == ("model", "", False)
    assert "no usable code" in (empty.error or "")
    assert last.kind == "resample"


def test_a_first_reply_with_no_usable_code_is_a_spent_round_not_the_end(
    settings: Settings,
) -> None:
    # Issue 11: the model answered; its code did not parse. That is a failed round of a model
    # that answered (then a fresh draw), not "no model could answer".
    broken = "```python\nprint('x'\n```"
    model = FakeModel([broken, broken, block(RIGHT)])
    generation = generate_verified("double(x)", VerifyOptions(tests=TESTS),
                                   ask=AskOptions(model=model), settings=settings)
    assert generation.verified and generation.code == RIGHT
    assert [r.kind for r in generation.rounds] == ["first", "resample"]
    assert generation.rounds[0].stage == "model"


def test_when_no_round_gives_code_the_unusable_reply_error_is_raised(
    settings: Settings,
) -> None:
    from agentcode.errors import NoUsableCodeError

    with pytest.raises(NoUsableCodeError):
        generate_verified("double(x)", VerifyOptions(tests=TESTS, max_repairs=1),
                          ask=AskOptions(model=FakeModel("no code")), settings=settings)


def test_an_unavailable_model_ends_the_loop_with_the_best_candidate(settings: Settings) -> None:
    from agentcode.errors import ModelUnavailableError
    from agentcode.testing import FunctionModel

    def reply(call: object) -> str | BaseException:
        if len(model.calls) == 1:
            return block(NEAR_MISS)
        return ModelUnavailableError("the weights are gone")

    model = FunctionModel(reply)
    generation = generate_verified(
        "double(x)",
        VerifyOptions(tests=TESTS),
        ask=AskOptions(model=model),
        settings=settings,
    )
    assert generation.code == NEAR_MISS and not generation.verified
    assert len(generation.rounds) == 1
    assert any("weights are gone" in (a.error or "") for a in generation.attempts)
