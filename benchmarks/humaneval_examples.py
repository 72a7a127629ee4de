"""Turn the examples a HumanEval prompt *shows* into tests for `agentcode gen --verify`.

The verify mode of the benchmark may use only what the prompt gives a human reader; the hidden
tests only score. Prompts show examples in several styles, all parsed here:

    >>> add(2, 3)                     doctest: call, then the expected value on the next line(s)
    5
    choose_num(12, 15) = 14           inline: call, then = == -> => ➞ "# returns" "should return"
    For lst = [1,2,3] the output should be 14
    Input: arr = [-3, -4, 5], k = 3   Input/Output blocks (also "name : value" lines)
    Output: [-4, -3, 5]

An example is kept only when its call parses, names the entry point, and its expected value is a
Python literal (``true``/``false`` are read as booleans); anything else is dropped rather than
guessed, since a wrong example would make the loop "repair" correct code.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Example:
    call: str  # a Python expression calling the entry point
    expected: str  # a Python literal


_SEPARATOR = re.compile(
    r"^\s*(?:==|=>|->|➞|=|#\s*(?:=>|->|returns?|==|=)|returns?|should\s+return|should\s+be"
    r"|(?:the\s+)?(?:output|result)\s+should\s+be)\s*[:]?\s*",
    re.IGNORECASE,
)
_FOR_LINE = re.compile(
    r"^\s*For\s+(?P<args>.+?),?\s+(?:the\s+)?(?:output|result)\s+(?:should\s+be|will\s+be|is)\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
_BOOL = re.compile(r"^(true|false)\b")


def _literal_prefix(text: str) -> str | None:
    """The longest prefix of ``text`` that is a Python literal, if what follows is only a comment
    or trailing punctuation (so ``1 + (2 / 2) = 2`` yields nothing, not ``1``)."""
    text = text.strip()
    match = _BOOL.match(text)
    if match:
        text = match.group(1).capitalize() + text[match.end() :]
    for end in range(len(text), 0, -1):
        rest = text[end:].strip()
        if rest and not (rest.startswith("#") or re.fullmatch(r"[.,;]+", rest)):
            continue
        candidate = text[:end].strip()
        try:
            ast.literal_eval(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        return ast.unparse(ast.parse(candidate, mode="eval"))  # drops comments
    return None


def _names_entry(expr: str, entry_point: str) -> str | None:
    """The expression, normalised (comments dropped), if it is a call that calls the entry point
    with literal arguments (``is_happy(a)`` with an unquoted string is prose, not code)."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return None
    if not isinstance(tree.body, ast.Call):
        return None
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == entry_point
    ]
    if not calls or not all(
        _is_literal(arg)
        for call in calls
        for arg in [*call.args, *(k.value for k in call.keywords)]
    ):
        return None
    return ast.unparse(tree)


def _split_comparison(expr: str, entry_point: str) -> Example | None:
    """``>>> f(x) == y`` with no output line: the comparison itself is the example."""
    try:
        tree = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not (
        isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], ast.Eq)
    ):
        return None
    call = _names_entry(ast.unparse(tree.left), entry_point)
    expected = tree.comparators[0]
    if call is None or not _is_literal(expected):
        return None
    return Example(call, ast.unparse(expected))


def _parameters(prompt: str, entry_point: str) -> list[str]:
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            return [a.arg for a in node.args.args]
    return []


def _call_from_args(args: str, entry_point: str, params: list[str]) -> str | None:
    """``lst = [1,2], k = 3`` or ``[4,2,3]`` -> a call; names must be parameters, else positional
    when the count matches. Trailing prose after a comma (``N = 1000, the sum ...``) is cut."""
    pieces = args.split(",")
    for cut in range(len(pieces), 0, -1):
        text = ",".join(pieces[:cut]).strip().rstrip(",")
        try:
            call = ast.parse(f"{entry_point}({text})", mode="eval").body
        except SyntaxError:
            continue
        assert isinstance(call, ast.Call)
        values = [*call.args, *(kw.value for kw in call.keywords)]
        if not all(_is_literal(v) for v in values):
            continue
        names = [kw.arg for kw in call.keywords]
        if call.keywords and not all(name in params for name in names):
            if call.args or len(call.keywords) != len(params):
                return None
            call = ast.Call(func=call.func, args=[kw.value for kw in call.keywords], keywords=[])
        return ast.unparse(call)
    return None


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return False
    return True


def _doctest_examples(lines: list[str], entry_point: str) -> list[Example]:
    examples: list[Example] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped.startswith(">>>"):
            i += 1
            continue
        expr = stripped[3:].strip()
        i += 1
        while i < len(lines) and lines[i].strip().startswith("..."):
            expr += "\n" + lines[i].strip()[3:]
            i += 1
        want: list[str] = []
        while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(">>>"):
            if lines[i].strip().startswith('"""'):
                break
            want.append(lines[i].strip())
            i += 1
        comparison = None if want else _split_comparison(expr, entry_point)
        if comparison is not None:
            examples.append(comparison)
            continue
        call = _names_entry(expr, entry_point)
        expected = "None" if not want else _literal_prefix(" ".join(want))
        if call and expected is not None:
            examples.append(Example(call, expected))
    return examples


def _defines_recurrence(lines: list[str], opener: re.Pattern[str]) -> bool:
    """Whether the prose defines the function's name as a recurrence (``f(n) = f(n - 1) + ...``):
    then its ``f(1) = 3`` lines are the definition, not calls of the function asked for."""
    for line in lines:
        left, equals, right = line.partition("=")
        if equals and opener.search(left) and opener.search(right):
            return True
    return False


def _inline_examples(lines: list[str], entry_point: str) -> list[Example]:
    examples: list[Example] = []
    opener = re.compile(rf"\b{re.escape(entry_point)}\s*\(")
    if _defines_recurrence(lines, opener):
        headings = [i for i, line in enumerate(lines)
                    if re.match(r"^\s*(?:for\s+)?examples?\s*:?\s*$", line, re.IGNORECASE)]
        lines = lines[headings[-1] + 1 :] if headings else []
    for line in lines:
        if line.strip().startswith(">>>"):
            continue
        match = opener.search(line)
        if not match:
            continue
        depth, end = 0, None
        for pos in range(match.end() - 1, len(line)):
            depth += {"(": 1, ")": -1}.get(line[pos], 0)
            if depth == 0:
                end = pos + 1
                break
        if end is None:
            continue
        separator = _SEPARATOR.match(line[end:])
        if not separator:
            continue
        call = _names_entry(line[match.start() : end], entry_point)
        expected = _literal_prefix(line[end + separator.end() :])
        if call and expected is not None:
            examples.append(Example(call, expected))
    return examples


def _for_examples(lines: list[str], entry_point: str, params: list[str]) -> list[Example]:
    examples: list[Example] = []
    for line in lines:
        match = _FOR_LINE.match(line)
        if not match:
            continue
        call = _call_from_args(match.group("args"), entry_point, params)
        expected = _literal_prefix(match.group("rest"))
        if call and expected is not None:
            examples.append(Example(call, expected))
    return examples


def _input_output_examples(lines: list[str], entry_point: str, params: list[str]) -> list[Example]:
    examples: list[Example] = []
    i = 0
    while i < len(lines):
        head = re.match(r"^\s*Input\s*:\s*(.*)$", lines[i])
        if not head:
            i += 1
            continue
        parts = [head.group(1).strip()] if head.group(1).strip() else []
        i += 1
        while i < len(lines) and not re.match(r"^\s*Output\s*:", lines[i]) and lines[i].strip():
            parts.append(re.sub(r"^\s*(\w+)\s*:\s*", r"\1 = ", lines[i]).strip())
            i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        out = re.match(r"^\s*Output\s*:\s*(.*)$", lines[i]) if i < len(lines) else None
        if not out or not parts:
            continue
        call = _call_from_args(", ".join(parts), entry_point, params)
        expected = _literal_prefix(out.group(1))
        if call and expected is not None:
            examples.append(Example(call, expected))
        i += 1
    return examples


def parse_examples(prompt: str, entry_point: str) -> list[Example]:
    """Every example the prompt shows for ``entry_point``, in order, without duplicates."""
    lines = prompt.splitlines()
    params = _parameters(prompt, entry_point)
    found = (
        _doctest_examples(lines, entry_point)
        + _inline_examples(lines, entry_point)
        + _for_examples(lines, entry_point, params)
        + _input_output_examples(lines, entry_point, params)
    )
    unique: list[Example] = []
    for example in found:
        if example not in unique:
            unique.append(example)
    # The same call shown with two different answers is prose, not an example: drop both.
    answers: dict[str, set[str]] = {}
    for example in unique:
        answers.setdefault(example.call, set()).add(example.expected)
    return [e for e in unique if len(answers[e.call]) == 1]


_SAME = '''
import math


def _same(actual, expected):
    """Equal as the docstring shows it: floats within rounding, containers element-wise."""
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-9)
        except TypeError:
            return False
    if isinstance(expected, (list, tuple)) and type(actual) is type(expected):
        return len(actual) == len(expected) and all(map(_same, actual, expected))
    return actual == expected
'''


def examples_test_source(examples: list[Example]) -> str:
    """A test file (for `VerifyOptions(tests=...)`) with one ``test_`` function per example."""
    out = [_SAME]
    for number, example in enumerate(examples, 1):
        out.append(
            f"\ndef test_example_{number}():\n"
            f"    actual = {example.call}\n"
            f"    assert _same(actual, {example.expected}), "
            f"'%s returned %r, expected %s' % ({example.call!r}, actual, {example.expected!r})\n"
        )
    return "".join(out)
