"""Finding the Python program in a model's reply, and checking that it parses.

Small local models do not call tools: they are asked for one fenced ```python block. Replies vary,
so extraction is forgiving in a fixed order: the first ```python (or ```py) block; else the first
fenced block of any language; else the whole reply when it parses as Python on its own. Whatever
is found must compile, or the reply is `UnusableReply` and the router re-asks or falls back.
"""

from __future__ import annotations

import ast
import re
import textwrap

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n]*$", re.MULTILINE)
_PYTHON_TAGS = {"python", "python3", "py", "py3"}


class UnusableReply(Exception):  # noqa: N818 - a verdict about a reply, not a crash
    """The reply holds no usable Python; ``str()`` says why, in a form fit to show the model."""


def _blocks(text: str) -> list[tuple[str, str, bool]]:
    """Fenced blocks as (language tag, body, closed); an unclosed last fence runs to the end."""
    blocks: list[tuple[str, str, bool]] = []
    position = 0
    while True:
        opening = _FENCE.search(text, position)
        if opening is None:
            return blocks
        fence, tag = opening.group(1), opening.group(2).lower()
        body_start = opening.end() + 1
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end = closing.search(text, body_start)
        if end is None:
            blocks.append((tag, text[body_start:], False))
            return blocks
        blocks.append((tag, text[body_start : end.start()], True))
        position = end.end()


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


def extract_code(reply: str) -> str:
    """The program in ``reply``, stripped, checked to compile; else `UnusableReply`."""
    blocks = _blocks(reply)
    python = [body for tag, body, _ in blocks if tag in _PYTHON_TAGS]
    others = [body for tag, body, _ in blocks if tag not in _PYTHON_TAGS]
    if python:
        code = python[0]
    elif others:
        code = others[0]
    elif reply.strip():
        code = reply
        if not _looks_like_program(textwrap.dedent(code).strip()):
            raise UnusableReply("the reply has no ```python code block")
    else:
        raise UnusableReply("the reply is empty")
    code = textwrap.dedent(code).strip("\n").rstrip()
    if not code.strip():
        raise UnusableReply("the code block is empty")
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
