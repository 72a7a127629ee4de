"""The static pre-flight: undefined names found by pyflakes; certain imports added."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout

from agentcode.generation.checks.preflight import describe_problems, preflight
from agentcode.generation.pipeline import Checks


def test_a_missing_stdlib_import_is_added_after_docstring_and_future_imports() -> None:
    code = (
        '"""Count lines."""\nfrom __future__ import annotations\n\n'
        "print(len(sys.stdin.readlines()))\n"
    )
    result = preflight(code)
    assert result.ok and result.added == ["import sys"]
    assert result.code == (
        '"""Count lines."""\nfrom __future__ import annotations\nimport sys\n\n'
        "print(len(sys.stdin.readlines()))\n"
    )
    compile(result.code, "<test>", "exec")


def test_imports_go_below_a_shebang() -> None:
    result = preflight("#!/usr/bin/env python3\nprint(json.dumps([1]))\n")
    assert result.code == "#!/usr/bin/env python3\nimport json\nprint(json.dumps([1]))\n"


def test_several_names_each_imported_once_in_order_of_use() -> None:
    code = (
        "def main():\n"
        "    counts = defaultdict(int)\n"
        "    for line in sys.stdin:\n"
        "        counts[line] += 1\n"
        "    print(json.dumps(counts), file=sys.stderr)\n"
        "main()\n"
    )
    result = preflight(code)
    assert result.added == ["from collections import defaultdict", "import sys", "import json"]
    assert result.ok


def test_the_standard_streams_used_bare_come_from_sys() -> None:
    # The embedded model wrote `for line in stdin:` for two JSON-lines tasks.
    result = preflight("for line in stdin:\n    print(line, file=stderr)\n")
    assert result.added == ["from sys import stdin", "from sys import stderr"] and result.ok
    assert preflight("print(argv[1:])\n").code == "from sys import argv\nprint(argv[1:])\n"


def test_datetime_used_as_the_class_imports_the_class() -> None:
    assert preflight("print(datetime.now().year)\n").added == ["from datetime import datetime"]
    assert preflight("print(datetime.date.today())\n").added == ["import datetime"]


def test_a_name_that_is_not_certain_is_a_problem_not_a_guess() -> None:
    code = "for row in rows:\n    seen.add(row)\nseen = set()\nprint(os.nonexistent_thing)\n"
    result = preflight(code)
    assert result.added == []
    assert result.code == code
    assert result.problems == [
        "line 1: name 'rows' is used but never defined",
        "line 2: name 'seen' is used but never defined",
        "line 4: name 'os' is used but never defined",
    ]


def test_package_aliases_only_when_the_sandbox_has_the_package() -> None:
    code = "print(pd.DataFrame({'a': [1]}))\n"
    assert preflight(code).problems == ["line 1: name 'pd' is used but never defined"]
    fixed = preflight(code, packages={"pandas", "numpy"})
    assert fixed.added == ["import pandas as pd"] and fixed.ok


def test_correct_code_is_returned_unchanged() -> None:
    code = "import sys\nfrom collections import Counter\nprint(Counter(sys.argv))\n"
    result = preflight(code)
    assert result.code is code and result.ok and result.added == []


def test_a_syntax_error_is_a_problem_with_its_line() -> None:
    result = preflight("x = 1\nif x\n    print(x)\n")
    assert not result.ok and result.problems[0].startswith("line 2: syntax error")



@contextmanager
def redirect_stdin(data: bytes) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    try:
        yield
    finally:
        sys.stdin = saved


SEVERAL_LINES = b"apples,3\npears,4\n"


def test_the_one_input_of_a_program_given_several_lines_gets_a_rewrite_beside_it() -> None:
    code = ("import csv\n"
            "reader = csv.reader(input().splitlines())\n"
            "print(sum(int(row[1]) for row in reader))\n")
    checked = preflight(code, stdin=SEVERAL_LINES)
    # The program itself is never changed: `header = input()` may be exactly what was asked.
    assert checked.ok and checked.added == [] and checked.code == code
    assert checked.rewrite == "import sys\n" + code.replace("input()", "sys.stdin.read()")
    namespace: dict[str, object] = {}
    with redirect_stdin(SEVERAL_LINES), redirect_stdout(io.StringIO()) as out:
        exec(checked.rewrite, namespace)  # noqa: S102 - our own test program
    assert out.getvalue() == "7\n"
    # A reader's source becomes the stream itself.
    frame = "import pandas as pd\ndf = pd.read_csv(input())\nprint(df)\n"
    assert preflight(frame, packages={"pandas"}, stdin=SEVERAL_LINES).rewrite == (
        "import sys\nimport pandas as pd\ndf = pd.read_csv(sys.stdin)\nprint(df)\n")
    # Unknown input, or one line of it: input() is a fine way to read it.
    assert preflight(code).rewrite is None
    assert preflight(code, stdin=b"apples,3\n").rewrite is None
    # Turned off, there is no rewrite.
    off = Checks.parse("no-stdin-rewrite")
    assert preflight(code, stdin=SEVERAL_LINES, checks=off).rewrite is None


INPUT_LINES = Checks.parse("input-lines")  # off by default: it fails correct programs too


def test_input_with_a_prompt_or_called_twice_for_many_lines_is_a_problem() -> None:
    asks = "name = input('Your name: ')\nprint(name)\n"
    checked = preflight(asks, stdin=SEVERAL_LINES, checks=INPUT_LINES)
    assert checked.code == asks
    assert checked.problems == [
        "line 1: input() reads one line, but the input has 2 lines: read all of it from"
        " sys.stdin (sys.stdin.read(), or for line in sys.stdin)"
    ]
    assert "has problems" in describe_problems(checked.problems)
    twice = "a = input()\nb = input()\nprint(a + b)\n"
    assert not preflight(twice, stdin=b"1\n2\n3\n", checks=INPUT_LINES).ok
    # Off (the default), it is no problem: "the first line is a name, the second an age".
    assert preflight(twice, stdin=b"1\n2\n3\n").ok
    # Unknown names (a shared session): reported, never rewritten.
    unknown = "print(input().upper())\n"
    assert preflight(unknown, defined=None, stdin=SEVERAL_LINES).code == unknown
    # input() in a comprehension is called once per item: no problem.
    counted = "n = int(input())\nprint(sum(int(input()) for _ in range(n)))\n"
    assert preflight(counted, stdin=b"2\n3\n4\n", checks=INPUT_LINES).ok


def test_input_in_a_loop_or_beside_sys_stdin_is_left_alone() -> None:
    looped = "n = int(input())\nfor _ in range(n):\n    print(input().upper())\n"
    assert preflight(looped, stdin=b"2\na\nb\n").ok
    both = "import sys\nfirst = input()\nrest = sys.stdin.read()\nprint(first, len(rest))\n"
    assert preflight(both, stdin=SEVERAL_LINES).ok
    one_per_line = "a = input()\nb = input()\nprint(a + b)\n"
    assert preflight(one_per_line, stdin=SEVERAL_LINES).ok
    shadowed = "def input():\n    return 'x'\nprint(input())\n"
    assert preflight(shadowed, stdin=SEVERAL_LINES).ok


def test_a_path_that_means_stdin_reads_stdin() -> None:
    # What the embedded model wrote for CSV on stdin once pandas was installed in the sandbox.
    code = "import pandas as pd\ndata = pd.read_csv('stdin', sep=',')\nprint(len(data))\n"
    result = preflight(code, packages={"pandas"})
    assert result.code == code and result.ok
    assert result.rewrite == ("import sys\nimport pandas as pd\ndata = pd.read_csv(sys.stdin, "
                              "sep=',')\nprint(len(data))\n")
    already = "import sys\nfor line in open('-'):\n    print(line)\n"
    assert preflight(already).rewrite == (
        "import sys\nfor line in sys.stdin:\n    print(line)\n")
    assert preflight("with open('stdin', 'r') as f:\n    print(f.read())\n").rewrite == (
        "import sys\nwith sys.stdin as f:\n    print(f.read())\n")


def test_a_path_is_left_alone_when_it_is_written_or_not_a_stdin_name() -> None:
    for code in ("open('-', 'w').write('x')\n", "open('stdin.csv').read()\n",
                 "print('stdin')\n", "open(name='stdin')\n", "x = ['-']\n"):
        result = preflight(code)
        assert result.code == code and result.rewrite is None, code


def test_the_stdin_rewrite_keeps_columns_right_after_non_ascii_text() -> None:
    code = "import pandas as pd\nd = {'é': pd.read_csv('-')}\n"
    rewrite = preflight(code, packages={"pandas"}).rewrite
    assert rewrite is not None and rewrite.endswith("d = {'é': pd.read_csv(sys.stdin)}\n")
