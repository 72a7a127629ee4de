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
the model like a crash. Each is a named `Heuristic` that can be turned off, on by default only
when it fired on at most 2% of a corpus of correct programs (benchmarks/false_alarms.py): a
false alarm costs a repair round and pushes a right program toward a wrong one. A flagged output
that a different program repeats is taken as meant (`Heuristic.WAIVER`, `generation.verify`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from agentcode.generation.pipeline import Checks, Failure, Heuristic, Kind, Stage

# Files a task may ask for by name: data, text, images, documents.
_FILE_NAME = re.compile(
    r"(?<![\w./-])([\w][\w.-]*\.(?:jsonl?|csv|tsv|txt|log|md|html?|xml|ya?ml|ini|toml|"
    r"png|jpe?g|svg|pdf|xlsx|parquet|sqlite|db))(?![\w-])",
    re.IGNORECASE,
)
# A file is one to write when the nearest verb before its name, in the same clause, is one of
# these. Prepositions ("to", "as", "into") say nothing on their own: "write the counts to
# counts.json" writes, "print the path to config.json" and "compared to other.csv" do not.
_WRITE_VERBS = frozenset({
    "write", "writes", "writing", "written", "save", "saves", "saving", "saved",
    "create", "creates", "creating", "export", "exports", "exporting", "dump", "dumps",
    "store", "stores", "storing", "append", "appends", "appending",
})
# Verbs whose object is read and whose target is written: "copy a.txt to b.txt" writes b.txt.
_TARGET_VERBS = frozenset({"copy", "copies", "convert", "converts"})
_TARGET_WORDS = frozenset({"to", "into", "as"})
# Any other verb (or question word) ends the search: the file belongs to that verb.
_OTHER_VERBS = frozenset({
    "read", "reads", "reading", "load", "loads", "loading", "open", "opens", "parse", "parses",
    "print", "prints", "show", "shows", "display", "displays", "list", "lists", "count",
    "counts", "report", "reports", "compare", "compares", "compared", "check", "checks",
    "find", "finds", "tell", "return", "returns", "is", "are", "was", "were", "has", "have",
    "how", "what", "which", "whether", "given", "using", "use", "uses", "from", "exists",
    "contains", "sum", "compute", "computes", "calculate", "validate", "match", "matches",
    "named", "called", "describe", "summarize", "extract", "get", "take", "look",
})
_LOOK_BACK_WORDS = 12
# A first line that reports a failure rather than a result.
_ERROR_LINE = re.compile(
    r"^\s*(?:Error\b|error:|An error occurred|Exception\b|Traceback \(most recent|"
    r"File not found|No such file|Invalid input|Could not\b|Cannot\b|Unable to\b)"
)
_MIN_ECHO_LINES = 3


def files_to_write(task: str, given: Collection[str] = ()) -> list[str]:
    """The files ``task`` asks the program to write: the nearest verb before the name, in its
    clause, is one such as "write" or "save"; never one of the ``given`` input files."""
    found: list[str] = []
    for match in _FILE_NAME.finditer(task):
        name = match.group(1)
        if name in given or name in found:
            continue
        clause = re.split(r"[.;:!?\n]\s|[;!?\n]", task[: match.start()])[-1]
        words = re.findall(r"[a-z]+", clause.lower())[-_LOOK_BACK_WORDS:]
        for word in reversed(words):
            if word in _WRITE_VERBS or (word in _TARGET_VERBS and words[-1] in _TARGET_WORDS):
                found.append(name)
                break
            if word in _OTHER_VERBS or word in _TARGET_VERBS:
                break
    return found


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def output_problem(
    *, stdout: str, stdin: bytes | None, written: Iterable[str], expected_files: Iterable[str],
    checks: Checks | None = None,
) -> Failure | None:
    """Why a run that exited 0 did not do its task, by the first heuristic of ``checks`` that
    says so (`Heuristic.OUTPUT_FILE`, `OUTPUT_ERROR`, `OUTPUT_ECHO`), or None."""
    checks = checks or Checks()
    done = set(written)
    missing = [name for name in expected_files if name not in done]
    if missing and Heuristic.OUTPUT_FILE in checks:
        names = ", ".join(missing)
        return _inferred(Heuristic.OUTPUT_FILE, Kind.FILE_NOT_WRITTEN, stdout, (
            f"running the code: it exited without error but did not write {names}, which the "
            f"task asks for; write {'it' if len(missing) == 1 else 'them'} to the working "
            f"directory (open('{missing[0]}', 'w'), or the library's save/to_ function)"))
    printed = _lines(stdout)
    if (printed and len(printed) <= 3 and _ERROR_LINE.match(printed[0])
            and Heuristic.OUTPUT_ERROR in checks):
        return _inferred(Heuristic.OUTPUT_ERROR, Kind.ERROR_PRINTED, stdout, (
            f"running the code: it printed an error and exited with status 0:\n{printed[0][:300]}"
            "\nDo the task on the given input; do not catch errors just to print them"))
    if stdin and Heuristic.OUTPUT_ECHO in checks:
        given = _lines(stdin.decode("utf-8", "replace"))
        if len(given) >= _MIN_ECHO_LINES and printed == given:
            return _inferred(Heuristic.OUTPUT_ECHO, Kind.ECHO, stdout, (
                "running the code: it printed its input back unchanged; it must print what the "
                "task asks for (check that the code matches the input's real format)"))
    return None


def _inferred(heuristic: Heuristic, kind: Kind, stdout: str, message: str) -> Failure:
    return Failure(Stage.OUTPUT, kind, message, heuristic=heuristic, output=stdout)


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
