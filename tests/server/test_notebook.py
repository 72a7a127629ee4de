"""A session's turns (bounded) and what a generation's label says was checked."""

from __future__ import annotations

from agentcode.server import notebook
from agentcode.server.notebook import Turns, label


def test_turns_keep_the_latest_within_both_bounds(monkeypatch) -> None:
    monkeypatch.setattr(notebook, "MAX_TURNS", 3)
    turns = Turns()
    for n in range(5):
        turns.add({"kind": "execute", "n": n})
    assert [t["n"] for t in turns.list()] == [2, 3, 4]
    monkeypatch.setattr(notebook, "MAX_BYTES", 1000)
    turns.add({"kind": "execute", "n": 5, "png": "x" * 2000})  # alone over the bound: kept
    assert [t["n"] for t in turns.list()] == [5]


def test_labels_say_what_was_checked() -> None:
    run = {"stage": "run", "passed": True}
    preflight = {"stage": "preflight", "passed": False}
    files = {"files": True, "stdin": False}
    assert label({"rounds": [], "verified": False}, ran=False, **files) == "not run"
    assert label({"rounds": [preflight], "verified": False}, ran=True, **files) == "not run"
    assert label({"rounds": [run], "verified": True}, ran=True, **files) == \
        "ran cleanly on the uploaded data, 1 round"
    assert label({"rounds": [run, run], "verified": True}, ran=True, files=False,
                 stdin=False) == "ran cleanly (no input), 2 rounds"
    assert label({"rounds": [run] * 3, "verified": False}, ran=True, files=False,
                 stdin=True) == "did not run cleanly on the given stdin after 3 rounds"
