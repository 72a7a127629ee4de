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
