"""Finding the Python program in a model's reply, and checking that it parses.

Small local models do not call tools: they are asked for one fenced ```python block. Replies vary,
so extraction is forgiving in a fixed order: the first ```python (or ```py) block that compiles;
else the first fenced block of any language that does; else the whole reply when it parses as
Python on its own. A block may run past its first closing fence when that is what makes it
compile: programs hold fence lines in strings (Markdown data, code samples). Whatever is found
must compile, or the reply is `UnusableReply` and the router re-asks or falls back.
"""

from __future__ import annotations

import ast
import re
import textwrap

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n]*$", re.MULTILINE)
_PYTHON_TAGS = {"python", "python3", "py", "py3"}


class UnusableReply(Exception):  # noqa: N818 - a verdict about a reply, not a crash
    """The reply holds no usable Python; ``str()`` says why, in a form fit to show the model."""


def _openings(text: str) -> list[re.Match[str]]:
    """The fence lines that open a block, scanning as Markdown does (a block ends at the next
    bare fence of its kind)."""
    openings: list[re.Match[str]] = []
    position = 0
    while True:
        opening = _FENCE.search(text, position)
        if opening is None:
            return openings
        openings.append(opening)
        end = _closing(opening).search(text, opening.end() + 1)
        if end is None:
            return openings
        position = end.end()


def _closing(opening: re.Match[str]) -> re.Pattern[str]:
    fence = opening.group(1)
    return re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)


def _blocks(text: str) -> list[tuple[str, str, bool]]:
    """Fenced blocks as (language tag, body, closed); an unclosed last fence runs to the end."""
    blocks: list[tuple[str, str, bool]] = []
    for opening in _openings(text):
        start = opening.end() + 1
        end = _closing(opening).search(text, start)
        tag = opening.group(2).lower()
        blocks.append((tag, text[start:] if end is None else text[start : end.start()],
                       end is not None))
    return blocks


def check_syntax(code: str) -> None:
    """Raise `UnusableReply` when ``code`` does not compile as a Python module."""
    try:
        compile(code, "<generated>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        raise UnusableReply(f"the code does not parse: {exc.msg}{where}") from None
    except ValueError as exc:  # e.g. NUL bytes in the source
        raise UnusableReply(f"the code does not parse: {exc}") from None


def _looks_like_program(text: str) -> bool:
    """A bare reply counts as code when it parses and is more than a lone word or literal."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    trivial = (ast.Name, ast.Constant)
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, trivial))
               for node in tree.body)


def _bodies(text: str, opening: re.Match[str]) -> list[str]:
    """Every body the block could have: up to each later closing fence line (a program may hold
    a fence line in a string, e.g. a Markdown sample), then to the end of the reply."""
    start = opening.end() + 1
    ends = [end.start() for end in _closing(opening).finditer(text, start)]
    return [textwrap.dedent(text[start:end]).strip("\n").rstrip() for end in [*ends, len(text)]]


def _compiles(code: str) -> bool:
    try:
        check_syntax(code)
    except UnusableReply:
        return False
    return True


def extract_code(reply: str) -> str:
    """The program in ``reply``, stripped, checked to compile; else `UnusableReply`.

    A block ends at the first closing fence after which it compiles, so a program holding a
    fence line in a string (Markdown data, a code sample) is not cut short at that line.
    """
    openings = _openings(reply)
    python = [o for o in openings if o.group(2).lower() in _PYTHON_TAGS]
    preferred = python or openings
    for opening in preferred:
        for code in _bodies(reply, opening):
            if code.strip() and _compiles(code):
                return code + "\n"
    if preferred:  # blocks, none of which compiles: say why the first one does not
        first = _bodies(reply, preferred[0])[0]
        if not first.strip():
            raise UnusableReply("the code block is empty")
        check_syntax(first)  # raises: it did not compile above
    if not reply.strip():
        raise UnusableReply("the reply is empty")
    code = textwrap.dedent(reply).strip("\n").rstrip()
    if not _looks_like_program(code.strip()):
        raise UnusableReply("the reply has no ```python code block")
    check_syntax(code)
    return code + "\n"


def partial_code(reply_so_far: str) -> str:
    """The code streamed so far, for live display: the first block's body, no fence lines."""
    blocks = _blocks(reply_so_far)
    if not blocks:
        return ""
    python = [body for tag, body, _ in blocks if tag in _PYTHON_TAGS]
    body = python[0] if python else blocks[0][1]
    # Hide a closing fence that is still arriving one backtick at a time.
    lines = body.split("\n")
    if lines and lines[-1].strip() and set(lines[-1].strip()) <= {"`", "~"}:
        lines = lines[:-1]
    return "\n".join(lines)
