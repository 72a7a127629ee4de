"""Verification that draws several candidates at once (a model with ``draw_many``, like the
embedded one), with a scripted model at the boundary and the real local sandbox."""

from __future__ import annotations

import pytest
from test_verify_repair import NEAR_MISS, RIGHT, TESTS, WRONG, block

from agentcode.config import Settings, load_settings
from agentcode.errors import ModelError, NoUsableCodeError
from agentcode.generation.codegen import AskOptions, adraw_codes, run_sync
from agentcode.generation.judge import Verifier
from agentcode.generation.options import REPAIR_TEMPERATURE, VerifyOptions
from agentcode.generation.verify import generate_verified
from agentcode.testing import FakeCall, FunctionModel
from agentcode.types import Generation

# A candidate whose tests crash (not one that cannot run: see test_verify_repair's CRASH).
CRASH = "def double(x):\n    return x / 0\n"


@pytest.fixture
def settings() -> Settings:
    return load_settings(timeout=10, history=False)


def last_user_text(call: FakeCall) -> str:
    return str(call.messages[-1]["content"][0]["text"])


class Script:
    """Answers by what is asked: the first request, a repair, or a batch of fresh draws."""

    def __init__(self, first: str, repairs: list[str], fresh: list[str | BaseException]) -> None:
        self.first, self.repairs, self.fresh = first, list(repairs), list(fresh)
        self.asked: list[str] = []

    def __call__(self, call: FakeCall) -> str | BaseException:
        if last_user_text(call).startswith(("Running that code failed", "That code failed")):
            self.asked.append("repair")
            return block(self.repairs.pop(0))
        if "batch" in call.config or self.asked:
            self.asked.append("fresh")
            item = self.fresh.pop(0)
            return item if isinstance(item, BaseException) else block(item)
        self.asked.append("first")
        return block(self.first)


def verify(model: FunctionModel, settings: Settings, **options: object) -> Generation:
    return generate_verified("double(x)", VerifyOptions(tests=TESTS, **options),  # type: ignore[arg-type]
                             ask=AskOptions(model=model), settings=settings)


def test_once_repairs_are_stuck_fresh_draws_come_several_at_once(settings: Settings):
    # The repair returns the code that failed: the rest of the budget is fresh draws, decoded
    # together up to the model's width (never a repair beside them: see `_Loop.next_batch`).
    script = Script(WRONG, repairs=[WRONG], fresh=[CRASH, NEAR_MISS, RIGHT, WRONG])
    model = FunctionModel(script, parallel=4)
    generation = verify(model, settings, max_repairs=5)
    assert generation.verified and generation.code == RIGHT
    assert [r.kind for r in generation.rounds] == ["first", "repair", "resample", "resample",
                                                   "resample"]
    assert model.batches == [4]  # one call; the fourth draw is not judged (the third passed)
    assert script.asked[:2] == ["first", "repair"]
    fresh = [c.config for c in model.calls if "batch" in c.config]
    assert {(c["temperature"], c["batch"], c["seed"]) for c in fresh} == {
        (REPAIR_TEMPERATURE, 4, 2)}


def test_repairs_are_drawn_one_at_a_time_until_one_passes(settings: Settings):
    script = Script(WRONG, repairs=[CRASH, RIGHT], fresh=[])
    model = FunctionModel(script, parallel=4)
    generation = verify(model, settings, max_repairs=8)
    assert [r.kind for r in generation.rounds] == ["first", "repair", "repair"]
    assert generation.verified and model.batches == []


def test_the_batch_is_no_wider_than_the_budget_left(settings: Settings):
    script = Script(WRONG, repairs=[WRONG], fresh=[CRASH, NEAR_MISS, RIGHT])
    model = FunctionModel(script, parallel=4)
    generation = verify(model, settings, max_repairs=3)
    assert len(generation.rounds) == 4 and model.batches == [2]
    assert not generation.verified and generation.code == NEAR_MISS  # the nearest miss


def test_a_program_drawn_again_is_judged_once(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    judged: list[str] = []
    assess = Verifier.assess

    def counting(self: Verifier, code: str) -> object:
        judged.append(code)
        return assess(self, code)

    monkeypatch.setattr(Verifier, "assess", counting)
    script = Script(WRONG, repairs=["def double(x):\n  return x-100\n"],
                    fresh=[CRASH, WRONG, RIGHT])
    generation = verify(FunctionModel(script, parallel=4), settings, max_repairs=4)
    assert generation.verified
    assert judged == [WRONG, CRASH, RIGHT]  # the same program (reformatted too) ran once
    assert generation.rounds[1].error == generation.rounds[0].error  # its verdict stands


def test_an_unusable_draw_is_a_failed_round_not_the_end(settings: Settings):
    script = Script(WRONG, repairs=[WRONG], fresh=["no code here", RIGHT])
    model = FunctionModel(script, parallel=4)
    generation = verify(model, settings, max_repairs=3)
    assert [(r.kind, r.stage) for r in generation.rounds] == [
        ("first", "tests"), ("repair", "tests"), ("resample", "model"), ("resample", None)]
    assert generation.verified and model.batches == [2]


def test_a_failed_batch_call_is_drawn_one_at_a_time_through_the_router(settings: Settings):
    state = {"batch_failed": False}

    def reply(call: FakeCall) -> str | BaseException:
        if "batch" in call.config:
            state["batch_failed"] = True
            return ModelError("llama.cpp answered HTTP 500: slot error")
        if last_user_text(call).startswith("Running that code failed"):
            return block(WRONG)  # stuck
        singles = [c for c in model.calls if "batch" not in c.config]
        return block(WRONG if len(singles) == 1 else RIGHT)

    model = FunctionModel(reply, parallel=4)
    generation = verify(model, settings, max_repairs=4)
    assert state["batch_failed"] and generation.verified
    assert [r.kind for r in generation.rounds] == ["first", "repair", "resample"]


def test_parallel_1_draws_one_candidate_at_a_time(settings: Settings):
    script = Script(WRONG, repairs=[WRONG], fresh=[CRASH, RIGHT])
    model = FunctionModel(script, parallel=4)
    generation = verify(model, settings, max_repairs=4, parallel=1)
    assert model.batches == [] and generation.verified
    assert [r.kind for r in generation.rounds] == ["first", "repair", "resample", "resample"]


def test_the_display_is_told_what_is_drawn_at_once(settings: Settings):
    notes: list[str] = []
    script = Script(WRONG, repairs=[WRONG], fresh=[CRASH, RIGHT])
    model = FunctionModel(script, parallel=4)
    generate_verified("double(x)", VerifyOptions(tests=TESTS, max_repairs=3),
                      ask=AskOptions(model=model, on_restart=notes.append), settings=settings)
    assert [note.split("): ")[-1] for note in notes] == [
        "repair 1/3", "2 fresh draws at once (the repair changed nothing), 2-3/3"]
    assert notes[0].startswith("verification failed (the tests failed")


def test_adraw_codes_keeps_the_code_as_written_and_unusable_replies_as_errors(
    settings: Settings,
):
    # The pre-flight (imports that are certain) runs once per candidate, in the verify loop.
    replies = iter([block("print(sys.argv)\n"), "sorry, no code", block("print(1)\n")])
    model = FunctionModel(lambda call: next(replies), parallel=4)
    draws = run_sync(adraw_codes("args", AskOptions(model=model), n=3, seed=9, temperature=0.8,
                                 settings=settings))
    assert model.batches == [3]
    first, second, third = draws
    assert isinstance(first, Generation) and first.code == "print(sys.argv)\n"
    assert isinstance(second, NoUsableCodeError)
    assert isinstance(third, Generation) and third.code == "print(1)\n"
    assert {c.config["seed"] for c in model.calls} == {9}


def test_adraw_codes_without_batching_draws_one_after_another_with_a_seed_each(
    settings: Settings,
):
    model = FunctionModel(lambda call: block("print(2)\n"))  # parallel 1: no draw_many batches
    model.update_config(params={"temperature": 0.0})  # llama.cpp-style: sampling in params
    draws = run_sync(adraw_codes("two", AskOptions(model=model), n=3, seed=4, temperature=0.8,
                                 settings=settings))
    assert all(isinstance(d, Generation) for d in draws) and model.batches == []
    assert [(c.config["params"]["temperature"], c.config["params"]["seed"])
            for c in model.calls] == [(0.8, 4), (0.8, 5), (0.8, 6)]
