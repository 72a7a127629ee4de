"""Reading the user's input, the one place for it: a path or '-' for stdin, host files for the
work dir, data piped in, and the ``stdin`` a caller of the library passes. Every reader has a
byte limit and turns a missing, unreadable or too large input into one `UsageError` line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from agentcode.errors import UsageError

# Files for the work dir: name -> content, or host paths copied under their base name.
Files: TypeAlias = Mapping[str, bytes | str] | Iterable[str | os.PathLike[str]]
CHUNK = 64 * 1024


def read_bytes(source: str, *, limit: int, what: str = "input") -> bytes:
    """Read a file or stdin ('-'), refusing what is missing, unreadable or larger than ``limit``."""
    if source == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise UsageError(f"no {what} on stdin: pipe something in or pass a file path")
        data = sys.stdin.buffer.read(limit + 1)
        label = "stdin"
    else:
        path = Path(source).expanduser()
        if path.is_dir():
            raise UsageError(f"{source} is a directory: pass a file")
        try:
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise UsageError(f"no such file: {source}") from None
        except PermissionError:
            raise UsageError(f"cannot read {source}: permission denied") from None
        except OSError as exc:
            raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
        label = source
    if len(data) > limit:
        raise UsageError(
            f"{what} from {label} is larger than {_human(limit)}: "
            "raise the limit with --max-input-bytes or AGENTCODE_MAX_INPUT_BYTES"
        )
    return data


def read_text(source: str, *, limit: int, what: str = "input") -> str:
    """Like `read_bytes`, and the content must be UTF-8 text."""
    data = read_bytes(source, limit=limit, what=what)
    label = "stdin" if source == "-" else source
    if b"\x00" in data:
        raise UsageError(f"{what} from {label} looks binary (it contains NUL bytes): pass text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{what} from {label} is not UTF-8 text (byte {exc.start}): convert it to UTF-8"
        ) from None


def read_files(files: Files, limit: int, *, what: str = "file") -> dict[str, bytes]:
    """Normalise ``files`` to name -> bytes, reading host paths (at most ``limit`` bytes each)
    under their base names."""
    if isinstance(files, Mapping):
        return {str(name): data.encode("utf-8") if isinstance(data, str) else bytes(data)
                for name, data in files.items()}
    contents: dict[str, bytes] = {}
    for item in files:
        path = Path(item)
        if not path.name or str(item) == "-":
            raise UsageError(f"invalid file path {str(item)!r}")
        contents[path.name] = read_bytes(str(path), limit=limit, what=what)
    return contents


@dataclass(frozen=True, slots=True)
class Piped:
    """Data piped to this process: all of it up to the limit, else its first part, counted."""

    head: bytes  # everything, unless ``truncated``
    total_bytes: int  # read so far: past the limit reading stops, so "more than" this
    total_lines: int
    truncated: bool  # over the limit: ``head`` is a sample, not the input to run on

    @property
    def data(self) -> bytes | None:
        """The whole input, or None when it was too large to keep."""
        return None if self.truncated else self.head


def read_piped(*, limit: int) -> Piped | None:
    """Stdin when something is piped in (None when it is empty or closed); past ``limit``
    only the first ``limit`` bytes are kept and reading stops."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None or sys.stdin.closed:
        return None
    data = bytearray()
    total = newlines = 0
    last = b""
    while chunk := stream.read(CHUNK):
        if total <= limit:
            data += chunk
        total += len(chunk)
        newlines += chunk.count(b"\n")
        last = chunk[-1:]
        if total > limit:
            break
    if total == 0:
        return None
    lines = newlines + (0 if last == b"\n" else 1)
    return Piped(bytes(data[:limit]) if total > limit else bytes(data), total, lines,
                 total > limit)


@dataclass(frozen=True, slots=True)
class ProgramInput:
    """What the program will read, as a command line gives it: its stdin (None: none), its
    work-dir files, and piped data too large to keep (``sample``: the model sees its first
    part and size, nothing runs on it; `agentcode.api.generation.known_input_options`)."""

    stdin: bytes | None
    files: dict[str, bytes]
    sample: Piped | None = None


def read_program_input(stdin: str | None, files: Files, *, limit: int,
                       piped: bool = True) -> ProgramInput:
    """``stdin`` a path ('-': this process's stdin) or None; then, when ``piped`` and no stdin
    was named, whatever is piped to this process (nothing from a terminal); then ``files``.
    Each read stops at ``limit`` bytes: a named input over it is an error, piped data is kept
    as a sample."""
    data = None if stdin is None else read_bytes(stdin, limit=limit, what="--stdin input")
    sample = None
    if data is None and piped and not stdin_is_terminal():
        got = read_piped(limit=limit)
        if got is not None:
            data, sample = got.data, got if got.truncated else None
    return ProgramInput(data, read_files(files, limit, what="--file"), sample)


def stdin_is_terminal() -> bool:
    """Whether stdin is a terminal (nothing piped in: a person may be typing)."""
    try:
        return sys.stdin is not None and os.isatty(sys.stdin.fileno())
    except (OSError, ValueError):
        return False


def _human(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}" if unit == "bytes" else f"{n:.0f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)
