"""Judging a run on known input when the user gave no tests: did the program do the task at all?

Verification without tests or a check only saw crashes, so a program that ran cleanly and did
nothing useful passed. On the task benchmark (benchmarks/tasks, 2026-12-01) 18 of the 25 tasks
that ``gen --verify`` failed ended on such a program. Some misses no oracle is needed to see:

- the task names a file to write (``write word_counts.json``, ``into problems.log``) and the
  run did not write it (2 of the 18: the program printed the counts instead);
- the program printed its input back unchanged (``print(line)`` for every line: the rewrite
  it was asked for never matched);
- the program caught its own failure, printed an error message and exited 0
  (``Error: File not found.`` for a file that does not exist).

Each is a failure of stage "output", ranked with a program that printed nothing, and goes back to
the model like a crash. Each test is narrow on purpose: a false alarm costs a repair round, so
only what a user would also call wrong is flagged; and a flagged output that a different program
repeats is taken as meant (`generation.verify`), so an input on which the right answer looks
wrong (sorted lines for "sort the lines") costs one round, not the budget.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

# Files a task may ask for by name: data, text, images, documents.
_FILE_NAME = re.compile(
    r"(?<![\w./-])([\w][\w.-]*\.(?:jsonl?|csv|tsv|txt|log|md|html?|xml|ya?ml|ini|toml|"
    r"png|jpe?g|svg|pdf|xlsx|parquet|sqlite|db))(?![\w-])",
    re.IGNORECASE,
)
# The nearest of these words before a file's name says whether the task writes it or reads it.
_WRITE_WORDS = frozenset({
    "write", "writes", "writing", "written", "save", "saves", "saving", "saved", "into", "to",
    "create", "creates", "creating", "export", "exports", "dump", "dumps", "store", "stores",
    "output", "produce", "produces", "generate", "generates", "as", "append", "appends",
})
_READ_WORDS = frozenset({
    "read", "reads", "reading", "from", "of", "in", "load", "loads", "loading", "open", "opens",
    "parse", "parses", "given", "using", "with", "named", "called",
})
_LOOK_BACK_WORDS = 6
# A first line that reports a failure rather than a result.
_ERROR_LINE = re.compile(
    r"^\s*(?:Error\b|error:|An error occurred|Exception\b|Traceback \(most recent|"
    r"File not found|No such file|Invalid input|Could not\b|Cannot\b|Unable to\b)"
)
_MIN_ECHO_LINES = 3


def files_to_write(task: str, given: Collection[str] = ()) -> list[str]:
    """The files ``task`` asks the program to write: named after a word such as "write",
    "into" or "save ... as", and not among the ``given`` input files."""
    found: list[str] = []
    for match in _FILE_NAME.finditer(task):
        name = match.group(1)
        if name in given or name in found:
            continue
        words = re.findall(r"[a-z]+", task[: match.start()].lower())[-_LOOK_BACK_WORDS:]
        for word in reversed(words):
            if word in _READ_WORDS:
                break
            if word in _WRITE_WORDS:
                found.append(name)
                break
    return found


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def output_problem(
    *, stdout: str, stdin: bytes | None, written: Iterable[str], expected_files: Iterable[str]
) -> str | None:
    """Why a run that exited 0 did not do its task, or None when nothing says so."""
    done = set(written)
    missing = [name for name in expected_files if name not in done]
    if missing:
        names = ", ".join(missing)
        return (
            f"running the code: it exited without error but did not write {names}, which the "
            f"task asks for; write {'it' if len(missing) == 1 else 'them'} to the working "
            f"directory (open('{missing[0]}', 'w'), or the library's save/to_ function)"
        )
    printed = _lines(stdout)
    if printed and len(printed) <= 3 and _ERROR_LINE.match(printed[0]):
        return (
            f"running the code: it printed an error and exited with status 0:\n{printed[0][:300]}"
            "\nDo the task on the given input; do not catch errors just to print them"
        )
    if stdin:
        given = _lines(stdin.decode("utf-8", "replace"))
        if len(given) >= _MIN_ECHO_LINES and printed == given:
            return (
                "running the code: it printed its input back unchanged; it must print what the "
                "task asks for (check that the code matches the input's real format)"
            )
    return None


_MISSING_FILE = re.compile(r"No such file or directory: '([^']+)'")


def missing_file_hint(error: str, *, stdin_given: bool, files: Collection[str]) -> str | None:
    """For a FileNotFoundError: which input exists instead. The 1.5B model invented a file
    name (``input.txt``, ``data.csv``) for input that came on stdin, and kept it through three
    repairs that were shown only the error."""
    match = _MISSING_FILE.search(error)
    if match is None:
        return None
    where = input_whereabouts(stdin_given=stdin_given, files=files)
    return None if where is None else f"there is no file {match.group(1)!r}: {where}"


def input_whereabouts(*, stdin_given: bool, files: Collection[str]) -> str | None:
    """Where the program's input is, in words for the model; None when there is none."""
    where = []
    if stdin_given:
        where.append("the input comes on stdin (sys.stdin)")
    if files:
        where.append("the files given are " + ", ".join(sorted(files)))
        if not stdin_given:
            where.append("nothing comes on stdin")
    return "; ".join(where) or None
