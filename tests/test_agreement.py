"""Choosing by agreement (generation.agreement): the output most clean candidates print wins."""

from __future__ import annotations

from agentcode.generation.agreement import Ballot, agreed, choose, output_key


def test_outputs_that_differ_only_in_line_endings_or_trailing_space_agree() -> None:
    assert output_key("a \r\nb\n\n") == output_key("a\nb")
    assert output_key("a\nb") != output_key("b\na")
    assert output_key("x", {"out.csv": b"1"}) == output_key("x", {"out.csv": b"1"})
    assert output_key("x", {"out.csv": b"1"}) != output_key("x", {"out.csv": b"2"})
    assert output_key("x", {"out.csv": b"1"}) != output_key("x")


def test_the_largest_group_of_passing_candidates_wins() -> None:
    wrong, right = output_key("10.0.0.1\n10.0.0.1\n"), output_key("10.0.0.1\n10.0.0.7\n")
    ballots = [Ballot(True, wrong), Ballot(True, right), Ballot(True, right)]
    assert choose(ballots) == 1 and agreed(ballots) == 2


def test_a_tie_keeps_the_earliest_candidate_the_greedy_answer() -> None:
    assert choose([Ballot(True, "a"), Ballot(True, "b")]) == 0
    assert choose([Ballot(True, "a"), Ballot(True, "b"), Ballot(True, "c")]) == 0
    assert choose([Ballot(True, "a"), Ballot(True, "b"), Ballot(True, "b"),
                   Ballot(True, "a")]) == 0


def test_failing_candidates_do_not_vote() -> None:
    ballots = [Ballot(False, "b"), Ballot(True, "a"), Ballot(False, "b"), Ballot(False, None)]
    assert choose(ballots) == 1 and agreed(ballots) == 1
    assert choose([Ballot(False, "a")]) is None and agreed([Ballot(False, "a")]) == 0
    assert choose([]) is None


# --- in the loop, with a scripted model and the local sandbox --------------------------------

WRONG = "import sys\nprint(len(sys.stdin.read()))\n"  # characters, not lines
RIGHT = "import sys\nprint(len(sys.stdin.read().splitlines()))\n"
ALSO_RIGHT = "import sys\nprint(sum(1 for _ in sys.stdin))\n"


def _fenced(code: str) -> str:
    return f"```python\n{code}```\n"


def _count_lines(candidates: int, script: list[str]):  # type: ignore[no-untyped-def]
    from agentcode.config import load_settings
    from agentcode.generation.codegen import AskOptions
    from agentcode.generation.options import VerifyOptions
    from agentcode.generation.verify import generate_verified
    from agentcode.testing import FakeModel

    model = FakeModel([_fenced(code) for code in script])
    generation = generate_verified(
        "count the lines", VerifyOptions(stdin=b"a\nb\nc\n", agreement=candidates),
        ask=AskOptions(model=model), settings=load_settings(timeout=10, history=False))
    return generation, model


def test_the_output_most_candidates_print_is_kept() -> None:
    generation, model = _count_lines(3, [WRONG, RIGHT, ALSO_RIGHT])
    assert generation.code == RIGHT and generation.verified
    assert [r.kind for r in generation.rounds] == ["first", "vote", "vote"]
    assert len(model.calls) == 3
    assert generation.checked == "ran cleanly on the given input"


def test_without_agreement_the_first_clean_run_is_kept_and_nothing_more_is_drawn() -> None:
    generation, model = _count_lines(1, [WRONG])
    assert generation.code == WRONG and len(model.calls) == 1


def test_a_tie_keeps_the_first_candidate() -> None:
    generation, _ = _count_lines(3, [RIGHT, WRONG, "print('three')\n"])
    assert generation.code == RIGHT


def test_the_public_api_takes_agreement_and_show_variables() -> None:
    import agentcode
    from agentcode.config import load_settings
    from agentcode.testing import FakeModel

    model = FakeModel([_fenced(code) for code in (WRONG, RIGHT, ALSO_RIGHT)])
    generation = agentcode.generate("count the lines", model=model, stdin=b"a\nb\nc\n",
                                    agreement=3, show_variables=False,
                                    settings=load_settings(timeout=10, history=False))
    assert generation.code == RIGHT and len(model.calls) == 3
