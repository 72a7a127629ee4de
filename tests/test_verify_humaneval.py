"""The benchmark's docstring-example parser, on real HumanEval prompts (trailing spaces trimmed).

`verify` mode may only use what a prompt shows; these prompts cover every example style the
parser reads, prose it must not mistake for examples, and a run of the resulting tests in the real
sandbox against a correct and a wrong solution.
"""

from __future__ import annotations

import pytest
from benchmark_modules import load_benchmark

examples_module = load_benchmark("humaneval_examples")
Example = examples_module.Example
parse_examples = examples_module.parse_examples
examples_test_source = examples_module.examples_test_source

# HumanEval/0
HAS_CLOSE = '''from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if in given list of numbers, are any two numbers closer to each other than
    given threshold.
    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)
    False
    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)
    True
    """
'''

# HumanEval/12
LONGEST = '''from typing import List, Optional


def longest(strings: List[str]) -> Optional[str]:
    """ Out of list of strings, return the longest one. Return the first one in case of multiple
    strings of the same length. Return None in case the input list is empty.
    >>> longest([])

    >>> longest(['a', 'b', 'c'])
    'a'
    >>> longest(['a', 'bb', 'ccc'])
    'ccc'
    """
'''

# HumanEval/79
DECIMAL_TO_BINARY = '''
def decimal_to_binary(decimal):
    """You will be given a number in decimal form and your task is to convert it to
    binary format. The function should return a string, with each character representing a binary
    number. Each character in the string will be '0' or '1'.

    There will be an extra couple of characters 'db' at the beginning and at the end of the string.
    The extra characters are there to help with the format.

    Examples:
    decimal_to_binary(15)   # returns "db1111db"
    decimal_to_binary(32)   # returns "db100000db"
    """
'''

# HumanEval/94
SKJKASDKD = '''

def skjkasdkd(lst):
    """You are given a list of integers.
    You need to find the largest prime value and return the sum of its digits.

    Examples:
    For lst = [0,3,2,1,3,5,7,4,5,5,5,2,181,32,4,32,3,2,32,324,4,3] the output should be 10
    For lst = [1,0,1,8,2,4597,2,1,3,40,1,2,1,2,4,2,5,1] the output should be 25
    For lst = [1,3,1,32,5107,34,83278,109,163,23,2323,32,30,1,9,3] the output should be 13
    For lst = [0,724,32,71,99,32,6,0,5,91,83,0,5,6] the output should be 11
    For lst = [0,81,12,3,1,21] the output should be 3
    For lst = [0,8,1,2,1,7] the output should be 7
    """
'''

# HumanEval/102
CHOOSE_NUM = '''
def choose_num(x, y):
    """This function takes two positive numbers x and y and returns the
    biggest even integer number that is in the range [x, y] inclusive. If
    there's no such number, then the function should return -1.

    For example:
    choose_num(12, 15) = 14
    choose_num(13, 12) = -1
    """
'''

# HumanEval/108
COUNT_NUMS = '''
def count_nums(arr):
    """
    Write a function count_nums which takes an array of integers and returns
    the number of elements which has a sum of digits > 0.
    If a number is negative, then its first signed digit will be negative:
    e.g. -123 has signed digits -1, 2, and 3.
    >>> count_nums([]) == 0
    >>> count_nums([-1, 11, -11]) == 1
    >>> count_nums([1, 1, 2]) == 3
    """
'''

# HumanEval/115
MAX_FILL = '''
def max_fill(grid, capacity):
    import math
    """
    You are given a rectangular grid of wells. Each row represents a single well,
    and each 1 in a row represents a single unit of water.
    Each well has a corresponding bucket that can be used to extract water from it,
    and all buckets have the same capacity.
    Your task is to use the buckets to empty the wells.
    Output the number of times you need to lower the buckets.

    Example 1:
        Input:
            grid : [[0,0,1,0], [0,1,0,0], [1,1,1,1]]
            bucket_capacity : 1
        Output: 6

    Example 2:
        Input:
            grid : [[0,0,1,1], [0,0,0,0], [1,1,1,1], [0,1,1,1]]
            bucket_capacity : 2
        Output: 5

    Example 3:
        Input:
            grid : [[0,0,0], [0,0,0]]
            bucket_capacity : 5
        Output: 0

    Constraints:
        * all wells have the same length
        * 1 <= grid.length <= 10^2
        * 1 <= grid[:,1].length <= 10^2
        * grid[i][j] -> 0 | 1
        * 1 <= capacity <= 10
    """
'''

# HumanEval/120
MAXIMUM = '''
def maximum(arr, k):
    """
    Given an array arr of integers and a positive integer k, return a sorted list
    of length k with the maximum k numbers in arr.

    Example 1:

        Input: arr = [-3, -4, 5], k = 3
        Output: [-4, -3, 5]

    Example 2:

        Input: arr = [4, -4, 4], k = 2
        Output: [4, 4]

    Example 3:

        Input: arr = [-3, 2, 1, 2, -1, -2, 1], k = 1
        Output: [2]

    Note:
        1. The length of the array will be in the range of [1, 1000].
        2. The elements in the array will be in the range of [-1000, 1000].
        3. 0 <= k <= len(arr)
    """
'''

# HumanEval/80
IS_HAPPY = '''
def is_happy(s):
    """You are given a string s.
    Your task is to check if the string is happy or not.
    A string is happy if its length is at least 3 and every 3 consecutive letters are distinct
    For example:
    is_happy(a) => False
    is_happy(aa) => False
    is_happy(abcd) => True
    is_happy(aabb) => False
    is_happy(adb) => True
    is_happy(xyy) => False
    """
'''

# HumanEval/130
TRI = '''
def tri(n):
    """Everyone knows Fibonacci sequence, it was studied deeply by mathematicians in
    the last couple centuries. However, what people don't know is Tribonacci sequence.
    Tribonacci sequence is defined by the recurrence:
    tri(1) = 3
    tri(n) = 1 + n / 2, if n is even.
    tri(n) =  tri(n - 1) + tri(n - 2) + tri(n + 1), if n is odd.
    For example:
    tri(2) = 1 + (2 / 2) = 2
    tri(4) = 3
    tri(3) = tri(2) + tri(1) + tri(4)
           = 2 + 3 + 3 = 8
    You are given a non-negative integer number n, you have to a return a list of the
    first n + 1 numbers of the Tribonacci sequence.
    Examples:
    tri(3) = [1, 3, 2, 8]
    """
'''


def test_doctest_examples() -> None:
    assert parse_examples(HAS_CLOSE, "has_close_elements") == [
        Example("has_close_elements([1.0, 2.0, 3.0], 0.5)", "False"),
        Example("has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)", "True"),
    ]


def test_doctest_without_output_line_means_none() -> None:
    assert parse_examples(LONGEST, "longest") == [
        Example("longest([])", "None"),
        Example("longest(['a', 'b', 'c'])", "'a'"),
        Example("longest(['a', 'bb', 'ccc'])", "'ccc'"),
    ]


def test_doctest_comparison_is_the_example() -> None:
    assert parse_examples(COUNT_NUMS, "count_nums") == [
        Example("count_nums([])", "0"),
        Example("count_nums([-1, 11, -11])", "1"),
        Example("count_nums([1, 1, 2])", "3"),
    ]


def test_inline_styles() -> None:
    assert parse_examples(DECIMAL_TO_BINARY, "decimal_to_binary") == [
        Example("decimal_to_binary(15)", "'db1111db'"),
        Example("decimal_to_binary(32)", "'db100000db'"),
    ]
    assert parse_examples(CHOOSE_NUM, "choose_num") == [
        Example("choose_num(12, 15)", "14"),
        Example("choose_num(13, 12)", "-1"),
    ]


def test_for_lines_use_parameter_names() -> None:
    found = parse_examples(SKJKASDKD, "skjkasdkd")
    assert len(found) == 6
    assert found[-1] == Example("skjkasdkd(lst=[0, 8, 1, 2, 1, 7])", "7")


def test_input_output_blocks() -> None:
    assert parse_examples(MAXIMUM, "maximum") == [
        Example("maximum(arr=[-3, -4, 5], k=3)", "[-4, -3, 5]"),
        Example("maximum(arr=[4, -4, 4], k=2)", "[4, 4]"),
        Example("maximum(arr=[-3, 2, 1, 2, -1, -2, 1], k=1)", "[2]"),
    ]
    # "grid : [...]" lines name the arguments; they are not the parameters' names, so the
    # values go in positionally.
    assert parse_examples(MAX_FILL, "max_fill")[0] == Example(
        "max_fill([[0, 0, 1, 0], [0, 1, 0, 0], [1, 1, 1, 1]], 1)", "6"
    )


def test_prose_that_is_not_code_is_dropped() -> None:
    # "is_happy(a) => False": `a` is a letter in prose, not a variable.
    assert parse_examples(IS_HAPPY, "is_happy") == []
    # "tri(2) = 1 + (2 / 2) = 2" is a derivation, not a value; the real example stays.
    found = parse_examples(TRI, "tri")
    assert Example("tri(3)", "[1, 3, 2, 8]") in found
    assert all(not e.call.startswith("tri(2)") for e in found)


def _verifier_for(source: str) -> object:
    from agentcode.config import load_settings
    from agentcode.generation.checks.user_tests import load_tests
    from agentcode.generation.judge import Verifier

    return Verifier(load_settings(timeout=10), tests=load_tests(source))


def test_example_tests_pass_a_correct_solution_in_the_sandbox() -> None:
    source = examples_test_source(parse_examples(LONGEST, "longest"))
    correct = "def longest(strings):\n    return max(strings, key=len) if strings else None\n"
    assert _verifier_for(source).run(correct) is None  # type: ignore[attr-defined]


def test_example_tests_report_the_wrong_value() -> None:
    source = examples_test_source(parse_examples(LONGEST, "longest"))
    wrong = "def longest(strings):\n    return strings[-1] if strings else None\n"
    failure = _verifier_for(source).run(wrong)  # type: ignore[attr-defined]
    assert failure is not None
    assert "1 of 3 tests failed" in failure
    assert "longest(['a', 'b', 'c']) returned 'c', expected 'a'" in failure


@pytest.mark.parametrize(
    ("actual", "expected", "same"),
    [
        (0.5000000001, 0.5, True),
        ((1, 2), [1, 2], False),
        ([0.1 + 0.2], [0.3], True),
        ("a", "b", False),
    ],
)
def test_float_tolerant_comparison(actual: object, expected: object, same: bool) -> None:
    namespace: dict[str, object] = {}
    exec(examples_test_source([]), namespace)  # noqa: S102 - our own helper, not model code
    assert namespace["_same"](actual, expected) is same  # type: ignore[operator]


def _round_result(examples: bool, hidden: bool, stage: str | None = "tests",
                  failed: int | None = 1, total: int | None = 2) -> dict[str, object]:
    return {"examples_passed": examples, "stage": None if examples else stage,
            "tests_failed": None if examples else failed,
            "tests_total": None if examples else total, "hidden_passed": hidden}


def test_budget_pass_replays_the_loop_choice_for_each_repair_budget() -> None:
    bench = load_benchmark("humaneval")
    row = {
        "repairs": 3, "passed": True, "raw_passed": False,
        "round_results": [
            _round_result(False, False, failed=1, total=2),  # near miss, wrong on hidden tests
            _round_result(False, True, stage="run"),  # crashes on the examples
            _round_result(False, True, failed=2, total=2),
            _round_result(True, True),
        ],
    }
    # Budgets 0-2 keep the near miss (round 0); budget 3 reaches the round that passed.
    assert [bench.budget_pass(row, budget) for budget in range(4)] == [False] * 3 + [True]

    summary = bench.summarize([
        {"id": "a", "mode": "verify", "seconds": 1.0, "change": "fixed", "verified": True, **row},
        {"id": "b", "mode": "verify", "passed": True, "seconds": 1.0, "repairs": 0,
         "raw_passed": True, "change": "same", "verified": True,
         "round_results": [_round_result(True, True)]},
    ])
    assert summary["verify"]["pass_at_1_by_repairs"] == {"0": 50.0, "1": 50.0, "2": 50.0,
                                                         "3": 100.0}


humaneval_module = load_benchmark("humaneval")
PROBLEM = {
    "prompt": "def add(a, b):\n    \"\"\"Add two numbers.\"\"\"\n",
    "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n",
    "entry_point": "add",
}


# A candidate that reaches the sandbox worker's run() through its caller's frame and drops the
# hidden check from every later request: it beat the scorer while the tests ran in the worker.
FRAME_PATCH = """import re, sys
_caller = sys._getframe(1).f_globals
if "run" in _caller:
    _real_run = _caller["run"]
    def _run(request, namespace):
        code = re.sub(r"(?m)^(\\s*)check\\(\\w+\\)\\s*$", r"\\1pass", request["code"])
        request = dict(request, code=code)
        return _real_run(request, namespace)
    _caller["run"] = _run
def add(a, b):
    return a - b
"""

ALWAYS_EQUAL = """class _Equal:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
def add(a, b):
    return _Equal()
def truncate_number(number):
    return _Equal()
"""

# HumanEval/2's own test: its second assert subtracts, which an always-equal object cannot pass.
TRUNCATE = {
    "prompt": "def truncate_number(number: float) -> float:\n    \"\"\"The decimals.\"\"\"\n",
    "test": "def check(candidate):\n    assert candidate(3.5) == 0.5\n"
            "    assert abs(candidate(1.33) - 0.33) < 1e-6\n"
            "    assert abs(candidate(123.456) - 0.456) < 1e-6\n",
    "entry_point": "truncate_number",
}


@pytest.mark.parametrize(
    ("code", "passes"),
    [
        ("def add(a, b):\n    return a + b\n", True),
        ("def add(a, b):\n    return a - b\n", False),
        # Exiting must never count as passing, wherever it happens.
        ("import sys\n\ndef add(a, b):\n    sys.exit(0)\n", False),
        ("def add(a, b):\n    exit()\n", False),
        ("import sys\nsys.exit(0)\ndef add(a, b):\n    return a - b\n", False),
        ("import os\n\ndef add(a, b):\n    os._exit(0)\n", False),
        # Printing what a pass looks like, then leaving, is no pass either.
        ("import os\nprint('hidden-tests-passed')\nprint('All tests passed')\nos._exit(0)\n"
         "def add(a, b):\n    return a - b\n", False),
        ("def add(a, b):\n    print('passed')\n    raise SystemExit(0)\n", False),
        # Patching the sandbox worker: the tests run in a process it never ran in.
        (FRAME_PATCH, False),
        # Output is not the verdict: a correct function that swaps stdout still passes (as in
        # the official harness, which swaps it itself), a wrong one still fails.
        ("import sys, io\nsys.stdout = io.StringIO()\ndef add(a, b):\n    return a + b\n", True),
        ("import sys, io\nsys.stdout = io.StringIO()\ndef add(a, b):\n    return a - b\n", False),
        # An always-equal object passes a bare `==` assert, in the official harness as here.
        (ALWAYS_EQUAL, True),
    ],
)
def test_scoring_runs_hidden_tests_apart_and_counts_exits_as_failures(
    code: str, passes: bool
) -> None:
    from agentcode.config import load_settings

    settings = load_settings(history=False)
    assert humaneval_module.score(PROBLEM, code, settings, timeout=10) is passes


def test_an_always_equal_object_fails_where_the_official_asserts_catch_it() -> None:
    from agentcode.config import load_settings

    settings = load_settings(history=False)
    right = "def truncate_number(number):\n    return number % 1.0\n"
    assert humaneval_module.score(TRUNCATE, right, settings, timeout=10) is True
    assert humaneval_module.score(TRUNCATE, ALWAYS_EQUAL, settings, timeout=10) is False


def test_a_candidate_that_never_returns_times_out_as_a_failure() -> None:
    from agentcode.config import load_settings

    settings = load_settings(history=False)
    code = "def add(a, b):\n    while True:\n        pass\n"
    assert humaneval_module.score(PROBLEM, code, settings, timeout=2) is False


def test_rescore_scores_every_stored_program_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentcode.config import load_settings

    problem = {**PROBLEM, "task_id": "HumanEval/0"}
    monkeypatch.setattr(humaneval_module, "load_problems", lambda: [problem])
    right, cheat = "def add(a, b):\n    return a + b\n", FRAME_PATCH
    data = {"meta": {}, "results": [
        {"id": "HumanEval/0", "mode": "raw", "passed": True, "code": cheat},
        {"id": "HumanEval/0", "mode": "verify", "passed": True, "code": right,
         "raw_passed": True, "change": "same",
         "round_results": [{"code": cheat, "hidden_passed": True},
                           {"code": right, "hidden_passed": True}]},
    ]}
    humaneval_module.rescore(data, load_settings(history=False), timeout=10)
    raw, verify = data["results"]
    assert raw["passed"] is False and verify["passed"] is True
    assert [r["hidden_passed"] for r in verify["round_results"]] == [False, True]
    assert verify["raw_passed"] is False and verify["change"] == "fixed"
    assert "rescored" in data["meta"]


def test_a_sample_is_random_with_its_seed_and_kept_in_id_order() -> None:
    problems = [{"task_id": f"HumanEval/{i}"} for i in range(164)]
    first = humaneval_module.select(problems, None, 0, None, sample=31, seed=7)
    assert len(first) == 31 and first == humaneval_module.select(
        problems, None, 0, None, sample=31, seed=7)
    ids = [int(p["task_id"].split("/")[1]) for p in first]
    assert ids == sorted(ids) and ids != list(range(0, 31 * 5, 5))
    assert first != humaneval_module.select(problems, None, 0, None, sample=31, seed=8)
    with pytest.raises(SystemExit):
        humaneval_module.select(problems, None, 0, None, sample=200, seed=7)


def test_a_recurrence_definition_is_not_an_example() -> None:
    prompt = (
        "def tri(n):\n    \"\"\"Tribonacci sequence is defined by the recurrence:\n"
        "    tri(1) = 3\n    tri(n) = 1 + n / 2, if n is even.\n"
        "    tri(n) =  tri(n - 1) + tri(n - 2) + tri(n + 1), if n is odd.\n"
        "    For example:\n    tri(2) = 1 + (2 / 2) = 2\n    tri(4) = 3\n"
        "    Return a list of the first n + 1 numbers.\n    Examples:\n"
        "    tri(3) = [1, 3, 2, 8]\n    \"\"\"\n"
    )
    assert parse_examples(prompt, "tri") == [Example("tri(3)", "[1, 3, 2, 8]")]
