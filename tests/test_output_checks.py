"""`generation.checks.output`: what a clean run on known input shows about the task being done."""

from __future__ import annotations

import pytest

from agentcode.generation.checks.output import files_to_write, missing_file_hint, output_problem
from agentcode.generation.judge import user_traceback
from agentcode.generation.pipeline import Checks, Heuristic, Kind, Stage

ALL = Checks.parse("all")


@pytest.mark.parametrize(("task", "given", "expected"), [
    ("write word_counts.json mapping each word of story.txt to its count", ["story.txt"],
     ["word_counts.json"]),
    ("copy the WARNING lines of app.log into problems.log, unchanged", ["app.log"],
     ["problems.log"]),
    ("read users.json and write users.csv with the columns id,name", ["users.json"],
     ["users.csv"]),
    ("make a bar chart of sales.csv and save it as chart.png", ["sales.csv"], ["chart.png"]),
    ("convert data.csv to data.json", [], ["data.json"]),
    # Inputs, named or read: not files to write.
    ("print the lines that appear in both a.txt and b.txt", ["a.txt", "b.txt"], []),
    ("read settings.ini and print the port", [], []),
    ("count the lines of notes.txt", [], []),
    ("print the total of the amount column", [], []),
    # A path with a directory is not guessed at.
    ("write the report to out/report.csv", [], []),
    # A name given as input is never expected to be written, whatever the wording.
    ("sort data.csv in place and write it to data.csv", ["data.csv"], []),
    # "to" and "as" are no write cues on their own: the nearest verb decides.
    ("print the path to config.json", [], []),
    ("how big is data.csv compared to other.csv", [], []),
    ("show the size of report.pdf as a number of kilobytes", [], []),
    ("write a script that prints the path to config.json", [], []),
    ("save the cleaned rows into clean.csv", [], ["clean.csv"]),
])
def test_files_to_write(task: str, given: list[str], expected: list[str]) -> None:
    assert files_to_write(task, given) == expected


def test_a_file_the_task_asks_for_and_the_run_did_not_write_is_a_problem() -> None:
    problem = output_problem(stdout="17\n", stdin=None, written=[],
                             expected_files=["problems.log"])
    assert problem is not None and "did not write problems.log" in problem.message
    assert (problem.stage, problem.kind) == (Stage.OUTPUT, Kind.FILE_NOT_WRITTEN)
    assert problem.heuristic is Heuristic.OUTPUT_FILE
    assert output_problem(stdout="17\n", stdin=None, written=[], expected_files=["problems.log"],
                          checks=Checks.parse("no-output-file")) is None
    assert output_problem(stdout="17\n", stdin=None, written=["problems.log"],
                          expected_files=["problems.log"]) is None


def test_printing_the_input_back_unchanged_is_a_problem() -> None:
    text = b"Invoice 1 due 12/04/2019\nInvoice 2 due 05/10/2023\nInvoice 3 due 01/02/2020\n"
    # print(line) without strip(): blank lines between, still the input unchanged
    echoed = "\n\n".join(text.decode().splitlines()) + "\n"
    problem = output_problem(stdout=echoed, stdin=text, written=[], expected_files=[],
                             checks=ALL)
    assert problem is not None and "input back unchanged" in problem.message
    changed = echoed.replace("12/04/2019", "2019-12-04")
    assert output_problem(stdout=changed, stdin=text, written=[], expected_files=[],
                          checks=ALL) is None
    # Too short an input to tell an echo from a result.
    assert output_problem(stdout="a\nb\n", stdin=b"a\nb\n", written=[], expected_files=[],
                          checks=ALL) is None
    # Off by default: a filter that keeps every line rightly prints its input.
    assert output_problem(stdout=echoed, stdin=text, written=[], expected_files=[]) is None


@pytest.mark.parametrize(("stdout", "flagged"), [
    ("Error: File not found.\n", True),
    ("An error occurred: [Errno 2] No such file or directory: 'input.csv'\n", True),
    ("Could not parse the input\n", True),
    ("ERROR 17\nWARNING 24\n", False),  # a count of log levels is a result
    ("errors: 3\n", False),
    ("North 12.0\nSouth 4.0\n", False),
    # A long result that mentions an error somewhere is a result.
    ("Error: x\n" + "".join(f"line {i}\n" for i in range(5)), False),
])
def test_an_error_message_printed_on_a_clean_exit_is_a_problem(stdout: str, flagged: bool) -> None:
    problem = output_problem(stdout=stdout, stdin=b"x\n", written=[], expected_files=[],
                             checks=ALL)
    assert (problem is not None) is flagged
    if problem is not None:
        assert stdout.splitlines()[0] in problem.message  # the model sees what it printed
    # Off by default: "Error: 3 rows skipped" can be the right output.
    assert output_problem(stdout=stdout, stdin=b"x\n", written=[], expected_files=[]) is None


def test_a_missing_file_hint_says_where_the_input_is() -> None:
    error = "[Errno 2] No such file or directory: 'input.txt'"
    assert missing_file_hint(error, stdin_given=True, files=[]) == (
        "there is no file 'input.txt': the input comes on stdin (sys.stdin)")
    hint = missing_file_hint(error, stdin_given=False, files=["b.txt", "a.txt"])
    assert hint == ("there is no file 'input.txt': the files given are a.txt, b.txt; "
                    "nothing comes on stdin")
    assert missing_file_hint(error, stdin_given=False, files=[]) is None  # nothing to say
    assert missing_file_hint("Permission denied", stdin_given=True, files=[]) is None


def test_the_traceback_the_model_sees_drops_library_frames() -> None:
    trace = (
        "Traceback (most recent call last):\n"
        '  File "<stdin>", line 4, in <module>\n'
        "    df = pd.read_csv('input.txt')\n"
        "         ^^^^^^^^^^^^^^^^^^^^^^^^\n"
        '  File "/opt/agentcode/packages/pandas/io/parsers/readers.py", line 1026, in read_csv\n'
        "    return _read(filepath_or_buffer, kwds)\n"
        '  File "/usr/lib/python3.11/site-packages/pandas/io/common.py", line 873, in get_handle\n'
        "    handle = open(\n"
        "FileNotFoundError: [Errno 2] No such file or directory: 'input.txt'"
    )
    assert user_traceback(trace).splitlines() == [
        "Traceback (most recent call last):",
        '  File "<stdin>", line 4, in <module>',
        "    df = pd.read_csv('input.txt')",
        "         ^^^^^^^^^^^^^^^^^^^^^^^^",
        "  ... (frames inside installed libraries)",
        "FileNotFoundError: [Errno 2] No such file or directory: 'input.txt'",
    ]
    own = 'Traceback (most recent call last):\n  File "<stdin>", line 1\nValueError: x'
    assert user_traceback(own) == own
