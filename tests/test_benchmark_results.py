"""No claim without a file: every results file docs/benchmarks.md names exists and parses, and every
results file says which commit was measured and at what load (the machine is shared: a timing
without its load average cannot be read). Files from before the scripts recorded both are listed
in LEGACY with what they lack and why; a file that gains the fields must leave the list."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"

# What the results files are called; other .json names in the doc are a task's files or examples.
PREFIXES = ("tasks-", "speed-", "humaneval", "replay-checks-", "false-alarms", "decoding")

# Written before the script recorded the commit (or the load average) in the file.
LEGACY: dict[str, tuple[set[str], str]] = {
    "decoding.json": ({"commit"}, "decoding.py recorded no commit until issue 21; the run of "
                      "2026-12-01 20:42 UTC predates it"),
    "humaneval.json": ({"commit", "load"}, "2026-11-29, before humaneval.py recorded either; "
                       "the note says 'a quiet 2-core machine'"),
    "humaneval-session4-sample.json": ({"commit", "load"}, "2026-12-01, before humaneval.py "
                                       "recorded either; the note describes the machine's load"),
    "tasks-data-local.json": ({"commit", "load"}, "2026-12-01, before task_bench.py recorded "
                              "either; the doc gives the load (10-14) from the time"),
    "tasks-main-builtin-plain.json": ({"commit"}, "the commit is in meta.note (69c09c5)"),
    "tasks-main-minimal-plain.json": ({"commit"}, "the commit is in meta.note (69c09c5)"),
    "tasks-quality-verify.json": ({"commit"}, "the commit is in meta.note (712c603)"),
    "tasks-session4-before-plain.json": ({"commit"}, "the commit is in meta.note (fafb376)"),
    "tasks-session4-before-plain-preflight.json": ({"commit"}, "a copy of "
                                                   "tasks-session4-before-plain.json re-checked "
                                                   "through df8e9d3's pre-flight (meta.note)"),
    "tasks-session4-minimal-plain.json": ({"commit"}, "session 4, before task_bench.py recorded "
                                          "the commit"),
    "tasks-session4-verify.json": ({"commit"}, "session 4, before task_bench.py recorded the "
                                   "commit"),
    "tasks-session5-minimal-plain.json": ({"commit"}, "the commit is in meta.note (849b8e9)"),
    "tasks-session5-plain.json": ({"commit"}, "the commit is in meta.note (a8fb540)"),
    "tasks-session5-verify.json": ({"commit"}, "the commit is in meta.note (849b8e9)"),
    "tasks-test-s21-plain-input.json": ({"commit"}, "the commit is in meta.note (bdac79c)"),
}


def expand(name: str) -> list[str]:
    """``a{,2}-b{x,y}.json`` as the shell expands it."""
    found = re.search(r"\{([^{}]*)\}", name)
    if not found:
        return [name]
    return [expanded for choice in found.group(1).split(",")
            for expanded in expand(name[:found.start()] + choice + name[found.end():])]


def named_in_doc(text: str) -> set[str]:
    names = set()
    for token in re.findall(r"[\w./{},-]+\.json", text):
        for name in expand(token):
            base = name.rsplit("/", 1)[-1]
            if name.startswith("benchmarks/results/") or base.startswith(PREFIXES):
                names.add(base)
    return names


def provenance(data: dict[str, Any]) -> set[str]:
    """Which of commit and load the file records, in any of the shapes the scripts write:
    results_file.Recorder's top-level keys, a ``meta`` with ``commit`` and a load average
    (``load_average_start``, ``loadavg_before``) or task_bench's ``machine`` line."""
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    has = set()
    if data.get("commit") or meta.get("commit"):
        has.add("commit")
    machine = str(meta.get("machine", ""))
    if (data.get("load_average_start") or meta.get("load_average_start")
            or meta.get("loadavg_before") or re.search(r"\bload (average )?\d", machine)):
        has.add("load")
    return has


def results_files() -> list[Path]:
    return sorted(RESULTS.glob("*.json"))


def test_the_doc_names_results_files_and_each_exists_and_parses() -> None:
    names = named_in_doc(DOC.read_text(encoding="utf-8"))
    assert len(names) >= 10, names  # the pattern still finds the doc's files
    missing = sorted(n for n in names if not (RESULTS / n).is_file())
    assert missing == [], f"docs/benchmarks.md names results files that do not exist: {missing}"
    for name in names:
        json.loads((RESULTS / name).read_text(encoding="utf-8"))


def test_brace_names_expand_as_the_shell_does() -> None:
    assert named_in_doc("`benchmarks/results/tasks-quality-test{,2}-{base,methods}.json`, "
                        "`A.json`, word_counts.json, `speed-x.json`") == {
        "tasks-quality-test-base.json", "tasks-quality-test-methods.json",
        "tasks-quality-test2-base.json", "tasks-quality-test2-methods.json", "speed-x.json"}


@pytest.mark.parametrize("path", results_files(), ids=lambda p: p.name)
def test_every_results_file_records_its_commit_and_load(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    lacks = {"commit", "load"} - provenance(data)
    expected, why = LEGACY.get(path.name, (set(), ""))
    assert lacks == expected, (
        f"{path.name} lacks {sorted(lacks) or 'nothing'}; "
        f"LEGACY says {sorted(expected) or 'nothing'}"
        f"{' (' + why + ')' if why else ''}: record the commit and the load average "
        "(benchmarks/results_file.py), or correct LEGACY")


def test_legacy_lists_only_files_that_exist() -> None:
    names = {p.name for p in results_files()}
    assert sorted(set(LEGACY) - names) == []
