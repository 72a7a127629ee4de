"""Issue 26's methods are the library's, not the embedded model's: `gen -m openai:...` against a
scripted OpenAI-compatible endpoint (respx) gets the same data profile, the same failing-frame
variables in its repair, and the same honest last line as any other model; with
``--checks output-review`` the same review round, under its own system prompt.

The scenario is the held-out task that motivated both: "total amount per region" over piped CSV,
first answered with ``csv.DictReader(sys.stdin.read())`` (a string, so each "row" is a
character: ``KeyError: 'region'`` with ``row = {'r': 'e'}``), then repaired.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from cli_runner import run_cli
from openai_stream import sse

BASE = "http://llm.test/v1"
CSV = "region,amount\nnorth,3\nsouth,5\nnorth,2.5\n"
BROKEN = ("import csv, sys\ntotals = {}\nfor row in csv.DictReader(sys.stdin.read()):\n"
          "    totals[row['region']] = totals.get(row['region'], 0) + float(row['amount'])\n"
          "print(totals)\n")
FIXED = ("import csv, sys\ntotals = {}\nfor row in csv.DictReader(sys.stdin):\n"
         "    totals[row['region']] = totals.get(row['region'], 0) + float(row['amount'])\n"
         "for region, total in sorted(totals.items()):\n    print(region, total)\n")


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def last_user_text(request: httpx.Request) -> tuple[str, str]:
    """The model a chat request names, and the text of its last user message."""
    body: dict[str, Any] = json.loads(request.content)
    content = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    text = content if isinstance(content, str) else "".join(
        part.get("text", "") for part in content)
    return body["model"], text


def test_profile_variables_repair_and_label_work_for_an_openai_compatible_model(
    api: respx.MockRouter, tmp_path: Path,
) -> None:
    replies = iter([BROKEN, FIXED])
    route = api.post("/chat/completions").mock(
        side_effect=lambda _: sse(f"```python\n{next(replies)}```"))
    result = run_cli(["gen", "total amount per region", "-m", "openai:coder"], stdin=CSV,
                     env={"AGENTCODE_OPENAI_BASE_URL": BASE, "AGENTCODE_NO_HISTORY": "1"})
    assert result.exit_code == 0, result.stderr
    assert route.call_count == 2
    (model, first), (_, repair) = (last_user_text(call.request) for call in route.calls)
    assert model == "coder"
    # The first request carries the data profile of the piped CSV, not only its lines.
    assert "Profile of stdin: CSV (comma-separated), with a header row, 3 data rows" in first
    assert "Columns: region (text, e.g. 'north'); amount (decimal number)." in first
    assert "csv.DictReader(sys.stdin)" in first
    # The repair carries the failing frame's variables: the bug is in plain sight.
    assert "raised KeyError: 'region'" in repair
    assert "variables where it failed:" in repair and "row = {'r': 'e'}" in repair
    # gen prints the repaired program, and its last line says what was checked, honestly.
    assert result.stdout == FIXED
    assert result.stderr.splitlines()[-1] == "agentcode: ran cleanly on the given input (2 rounds)"
    # `gen | run`: what gen printed gives the right answer on the data.
    (tmp_path / "total.py").write_text(result.stdout)
    (tmp_path / "sales.csv").write_text(CSV)
    ran = run_cli(["run", "--no-history", "--stdin", str(tmp_path / "sales.csv"),
                   str(tmp_path / "total.py")])
    assert ran.exit_code == 0 and ran.stdout == "north 5.5\nsouth 5.0\n", ran.stderr


def test_the_output_review_works_for_an_openai_compatible_model(api: respx.MockRouter) -> None:
    from agentcode.generation.review import REVIEW_SYSTEM

    wrong = FIXED.replace("sorted(totals.items())", "sorted(totals.items())[:1]")
    replies = iter([f"```python\n{wrong}```", "No: south is missing from the totals.",
                    f"```python\n{FIXED}```"])
    route = api.post("/chat/completions").mock(side_effect=lambda _: sse(next(replies)))
    result = run_cli(["gen", "total amount per region", "-m", "openai:coder", "--checks",
                      "output-review"], stdin=CSV,
                     env={"AGENTCODE_OPENAI_BASE_URL": BASE, "AGENTCODE_NO_HISTORY": "1"})
    assert result.exit_code == 0 and result.stdout == FIXED, result.stderr
    assert route.call_count == 3
    review = json.loads(route.calls[1].request.content)
    assert review["messages"][0] == {"role": "system", "content": REVIEW_SYSTEM}
    _, shown = last_user_text(route.calls[1].request)
    assert "total amount per region" in shown and "north 5.5" in shown
    _, repair = last_user_text(route.calls[2].request)
    assert "south is missing from the totals" in repair
    assert result.stderr.splitlines()[-1] == "agentcode: ran cleanly on the given input (2 rounds)"
