"""The rounds of verification, compared, and the inputs they run on: pure helpers.

`as_round` records a judged candidate as the public `RepairRound`; `round_rank` orders
candidates by how far they got (the loop repairs and returns the best, `best_round`);
`same_code` tells a program drawn again from a new one; `stdin_bytes` and `file_map` read what
the caller passed as the program's input.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from agentcode.errors import UsageError
from agentcode.generation.pipeline import Failure, Stage
from agentcode.types import RepairRound

# How far a candidate got, worst first: it could not even run, ..., it passed.
STAGE_RANK = {
    Stage.MODEL: 6.0, Stage.SETUP: 5.0, Stage.SYNTAX: 4.6, Stage.NAMES: 4.5, Stage.RUN: 4.0,
    Stage.OUTPUT: 3.0, Stage.TESTS: 2.0, Stage.CHECK: 1.0,
}


def as_round(code: str, model: str, failure: Failure | None, *, kind: str,
             temperature: float | None) -> RepairRound:
    """A judged candidate as the round the caller sees (``failure`` None: it passed)."""
    if failure is None:
        return RepairRound(code=code, model=model, passed=True, temperature=temperature,
                           kind=kind)
    return RepairRound(code=code, model=model, passed=False, error=failure.message,
                       stage=failure.stage.value, tests_failed=failure.tests_failed,
                       tests_total=failure.tests_total, temperature=temperature, kind=kind)


def stdin_bytes(stdin: bytes | str | os.PathLike[str] | None) -> bytes | None:
    if stdin is None or isinstance(stdin, bytes):
        return stdin
    if isinstance(stdin, str):
        return stdin.encode("utf-8")
    path = Path(stdin)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read stdin file {path}: {exc.strerror or exc}") from None


def file_map(
    files: Mapping[str, bytes] | Sequence[str | os.PathLike[str]] | None,
) -> dict[str, bytes]:
    """Files for the work dir: a mapping of names to bytes, or host paths (kept by base name)."""
    if not files:
        return {}
    if isinstance(files, Mapping):
        return dict(files)
    out: dict[str, bytes] = {}
    for item in files:
        path = Path(item)
        try:
            out[path.name] = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --file {path}: {exc.strerror or exc}") from None
    return out


def round_rank(round_: RepairRound) -> tuple[float, float]:
    """Lower is nearer to passing: by how far the candidate got, then by its share of failed
    tests. The order in which `generate_verified` picks the candidate to repair and to return."""
    if round_.passed:
        return (0.0, 0.0)
    try:
        stage = STAGE_RANK[Stage(round_.stage or "run")]
    except ValueError:  # a stage this version does not know (an older record)
        stage = 4.0
    if round_.stage == Stage.TESTS and round_.tests_failed is not None and round_.tests_total:
        return (stage, round_.tests_failed / round_.tests_total)
    return (stage, 1.0)


def same_code(code: str) -> str:
    """A key equal for candidates that differ only in layout or comments."""
    import ast

    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        return code.strip()


def best_round(rounds: Sequence[RepairRound]) -> int:
    """The index of the best round: the first that passed, else the nearest miss (earliest of
    equals)."""
    return min(range(len(rounds)), key=lambda index: (round_rank(rounds[index]), index))
