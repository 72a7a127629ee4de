"""Program output on a terminal: control sequences made visible, not obeyed.

A program's output may carry OSC 52 (writes the user's clipboard), screen and scrollback wipes,
hyperlinks that lie about their target, cursor moves that overwrite agentcode's own lines, and
bidi overrides. On a terminal every control character except newline, tab and carriage return
(progress bars) is shown as an escape (``\\x1b``, ``\\u202e``), and so is a byte that is not
UTF-8 (``\\xff``); piped or redirected output stays byte-exact: `agentcode run` asks for its
chunks with such bytes kept as lone surrogates (``output_errors="surrogateescape"``), and they
are written back as the bytes they were.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from agentcode.types import Execution

# C0 but \t \n \r, DEL, C1, the bidi embedding/override/isolate controls, and the lone
# surrogates that stand for bytes that are not UTF-8 (U+DC80..U+DCFF, PEP 383).
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\udc80-\udcff]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the byte it stands for
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with its control characters written as escapes."""
    return _CONTROLS.sub(_visible, text)


def is_terminal(stream: TextIO) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def for_stream(stream: TextIO, text: str) -> str:
    """What to write of program output ``text`` on ``stream``: escaped on a terminal only."""
    return escape_controls(text) if is_terminal(stream) else text


def write_program_output(stream: TextIO, text: str) -> None:
    """Write program output to ``stream`` (escaped on a terminal) and flush it; elsewhere
    the bytes that ``text`` carries as lone surrogates are written as those bytes. A stream
    that cannot take it (a full disk: `> /dev/full`) is one line, exit 1; a closed pipe
    (`| head`) is the caller's `BrokenPipeError`, as ever."""
    try:
        _write(stream, text)
    except BrokenPipeError:
        raise
    except OSError as exc:
        from agentcode.errors import AgentcodeError

        name = "stderr" if stream is sys.stderr else "stdout"
        _drop_rest(stream)
        raise AgentcodeError(f"cannot write the program's output to {name}: "
                             f"{exc.strerror or exc}") from None


def _drop_rest(stream: TextIO) -> None:
    """Point ``stream``'s fd at /dev/null, so that what is still buffered for it goes nowhere
    at exit instead of failing a second time."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def _write(stream: TextIO, text: str) -> None:
    if is_terminal(stream):
        stream.write(escape_controls(text))
    else:
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text-only stream (a test's capture): no bytes to give it
            stream.write(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        else:
            stream.flush()  # what was written as text goes first
            buffer.write(text.encode("utf-8", "surrogateescape"))
    stream.flush()


def write_stdout(text: str) -> None:
    write_program_output(sys.stdout, text)


def write_stderr(text: str) -> None:
    write_program_output(sys.stderr, text)


def shown_text(execution: Execution, *, show_value: bool) -> str:
    """What a terminal shows of the rich outputs, after the program's own output: the text of
    each display()ed object (its Markdown if it has some), then the last expression's value."""
    lines = execution.displayed
    if show_value and execution.text is not None:
        lines.append(execution.text)
    if not lines:
        return ""
    newline = "\n" if execution.stdout and not execution.stdout.endswith("\n") else ""
    return newline + "".join(line.rstrip("\n") + "\n" for line in lines)
