"""Paired statistics for benchmark results: two modes (or two runs) scored on the same tasks.

A pass count alone cannot say whether B is better than A on these tasks: what can is the pairs
that disagree (A failed and B passed: *gained*; A passed and B failed: *lost*). Under "no
difference" each disagreeing pair is a fair coin, so the exact McNemar test is a two-sided
binomial test of ``min(gained, lost)`` among ``gained + lost`` draws at p = 1/2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import comb


def mcnemar_exact(gained: int, lost: int) -> float:
    """Two-sided exact McNemar p-value of ``gained`` against ``lost`` discordant pairs.

    Twice the binomial tail ``P(X <= min(gained, lost))``, X ~ Bin(gained + lost, 1/2), capped
    at 1 (no disagreement at all, or an even split, gives 1).
    """
    if gained < 0 or lost < 0:
        raise ValueError("gained and lost are counts (>= 0)")
    n = gained + lost
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(gained, lost) + 1))
    return min(1.0, 2 * tail / 2**n)


@dataclass(frozen=True, slots=True)
class Paired:
    """Per-task outcomes of A and B on the tasks both were scored on."""

    tasks: int
    a_passed: int
    b_passed: int
    gained: list[str]  # B passed, A failed
    lost: list[str]  # A passed, B failed

    @property
    def p_value(self) -> float:
        return mcnemar_exact(len(self.gained), len(self.lost))

    def line(self, a: str, b: str) -> str:
        return (f"{a} -> {b}: {self.a_passed} -> {self.b_passed} of {self.tasks}, "
                f"gained {len(self.gained)}, lost {len(self.lost)}, "
                f"exact McNemar p = {self.p_value:.3g}")


def paired(a: Mapping[str, bool], b: Mapping[str, bool]) -> Paired:
    """Pair two ``{task: passed}`` maps on their common tasks."""
    common = sorted(set(a) & set(b))
    return Paired(
        tasks=len(common),
        a_passed=sum(a[t] for t in common),
        b_passed=sum(b[t] for t in common),
        gained=[t for t in common if b[t] and not a[t]],
        lost=[t for t in common if a[t] and not b[t]],
    )
