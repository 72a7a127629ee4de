"""A correct program passes in its first round: `gen` with known input, answered by a scripted
OpenAI-compatible endpoint (respx), ends after exactly one model request, exits 0 and prints the
model's program as it was written.

The cases are the false alarms of issue 20 and others like them: requests whose right answer
a heuristic check used to fail (a lone ``input()`` rewritten, "to"/"as" read as write cues, a
filter that keeps every line, output that starts with "Error:", a filter that matches nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import respx
from cli_runner import run_cli
from openai_stream import sse

BASE = "http://llm.test/v1"
CSV = "name,city,age\nAnn,Oslo,34\nBob,Rome,27\nCid,Oslo,51\n"
ACCESS = (
    '10.0.0.1 - - [01/Mar/2026:10:00:01 +0000] "GET /index.html HTTP/1.1" 200 512\n'
    '10.0.0.2 - - [01/Mar/2026:10:00:02 +0000] "GET /about.html HTTP/1.1" 200 300\n'
    '10.0.0.1 - - [01/Mar/2026:10:00:05 +0000] "GET /index.html HTTP/1.1" 304 0\n'
)
APP_LOG = ("2026-03-01 10:00:00 INFO starting\n2026-03-01 10:00:01 ERROR cannot open socket\n"
           "2026-03-01 10:00:02 INFO retrying\n2026-03-01 10:00:03 ERROR cannot open socket\n")

# (request, stdin, files, the model's correct program)
CASES = [
    ("print the CSV's header", CSV, {}, "header = input()\nprint(header.split(','))\n"),
    ("count the requests to index.html", ACCESS, {},
     "import sys\nprint(sum(1 for line in sys.stdin if '\"GET /index.html ' in line))\n"),
    ("print the log's error lines", APP_LOG, {},
     "import sys\nfor line in sys.stdin:\n    if ' ERROR ' in line:\n"
     "        print(line, end='')\n"),
    ("print the path to config.json", None, {"config.json": '{"debug": true}\n'},
     "import os\nprint(os.path.abspath('config.json'))\n"),
    ("how big is data.csv compared to other.csv", None,
     {"data.csv": "a,b\n1,2\n3,4\n", "other.csv": "a,b\n1,2\n"},
     "import os\na, b = os.path.getsize('data.csv'), os.path.getsize('other.csv')\n"
     "print(f'data.csv is {a / b:.2f} times the size of other.csv')\n"),
    ("sum the amounts, skipping rows that are not numbers; first print 'Error: N rows skipped'",
     "id,amount\n1,10\n2,abc\n3,5\n4,\n5,x\n", {},
     "import csv, sys\ntotal, skipped = 0.0, 0\nfor row in csv.DictReader(sys.stdin):\n"
     "    try:\n        total += float(row['amount'])\n    except ValueError:\n"
     "        skipped += 1\nprint(f'Error: {skipped} rows skipped')\nprint(total)\n"),
    ("print the lines that contain an @", "ann@example.org\nbob@example.org\ncid@example.org\n",
     {}, "import sys\nfor line in sys.stdin:\n    if '@' in line:\n        print(line, end='')\n"),
    ("sort the lines", "apple\nbanana\ncherry\n", {},
     "import sys\nfor line in sorted(sys.stdin.read().splitlines()):\n    print(line)\n"),
    ("print the WARNING lines", APP_LOG, {},
     "import sys\nfor line in sys.stdin:\n    if 'WARNING' in line:\n"
     "        print(line, end='')\n"),
    ("the first line is a name and the second an age: print 'NAME is AGE'",
     "Ann\n34\nnotes\nmore notes\n", {},
     "name = input()\nage = input()\nprint(f'{name} is {age}')\n"),
    ("what does the last line of the log say", "job started\nstep 1 ok\nUnable to upload: quota\n",
     {}, "import sys\nprint(sys.stdin.read().splitlines()[-1])\n"),
    ("show the size of report.txt as kilobytes", None, {"report.txt": "all good\n"},
     "import os\nprint(f\"{os.path.getsize('report.txt') / 1024:.3f} KB\")\n"),
]


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.mark.parametrize(("request_", "stdin", "files", "program"), CASES,
                         ids=[case[0][:40] for case in CASES])
def test_a_correct_program_ends_after_one_model_request(
    api: respx.MockRouter, tmp_path: Path, request_: str, stdin: str | None,
    files: dict[str, str], program: str,
) -> None:
    route = api.post("/chat/completions").mock(
        side_effect=lambda _: sse(f"```python\n{program}```"))
    args = ["gen", request_, "-m", "openai:coder", "--json"]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        args += ["--file", str(tmp_path / name)]
    result = run_cli(args, stdin=stdin, env={"AGENTCODE_OPENAI_BASE_URL": BASE,
                                             "AGENTCODE_NO_HISTORY": "1"})
    assert result.exit_code == 0, result.stderr
    assert route.call_count == 1
    generation = json.loads(result.stdout)
    assert generation["code"] == program and generation["verified"] is True
    assert [r["kind"] for r in generation["rounds"]] == ["first"]
