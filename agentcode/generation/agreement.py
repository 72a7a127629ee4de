"""Choosing by agreement: when the input is known, the output most candidates print wins.

The first program that runs cleanly on the input is not always right: on held-out tasks the
embedded model's clean runs printed a Markdown table of contents wrongly, counted a CSV header
as a city, or printed one IP five times. Programs that are wrong tend to be wrong in different
ways, and right ones to agree. So, when more candidates are asked for (``agreement`` above 1),
the loop draws the others (sampled, like its fresh draws), runs each on the same input, groups
the clean runs by what they printed and wrote (`output_key`) and keeps a member of the largest
group (`choose`); a tie keeps the group of the earliest candidate, the model's own greedy
answer. That makes 2 candidates no better than 1: a pair that disagrees is a tie, so the
smallest useful number is 3 (CodeT and self-consistency-style voting need a few).

It costs a model call per extra candidate, which is why it is off by default where decoding is
slow (the embedded model on 2 cores: docs/benchmarks.md, "Choosing by agreement").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Candidates in all when agreement is asked for without a number (the smallest that can vote).
DEFAULT_CANDIDATES = 3


def output_key(stdout: str, written: Mapping[str, bytes] | None = None) -> str:
    """What a run did, equal for runs that printed and wrote the same thing: stdout with line
    endings and trailing spaces normalised, then each written file's name and digest."""
    lines = [line.rstrip() for line in stdout.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    files = [f"{name}:{hashlib.sha256(data).hexdigest()[:16]}"
             for name, data in sorted((written or {}).items())]
    return "\n".join(lines) + "\0" + "\0".join(files)


@dataclass(frozen=True, slots=True)
class Ballot:
    """One candidate's vote: whether it passed the checks and what it did (None: no run)."""

    passed: bool
    key: str | None


def choose(ballots: Sequence[Ballot]) -> int | None:
    """The index of the candidate to keep: the earliest member of the largest group of passing
    candidates with the same output (ties: the group whose first member came first); None when
    no candidate passed."""
    groups: dict[str, list[int]] = {}
    for index, ballot in enumerate(ballots):
        if ballot.passed and ballot.key is not None:
            groups.setdefault(ballot.key, []).append(index)
    if not groups:
        return None
    best = max(groups.values(), key=lambda members: (len(members), -members[0]))
    return best[0]


def agreed(ballots: Sequence[Ballot]) -> int:
    """How many passing candidates printed what the chosen one printed (0: none passed)."""
    chosen = choose(ballots)
    if chosen is None:
        return 0
    key = ballots[chosen].key
    return sum(1 for b in ballots if b.passed and b.key == key)
