"""Reading the user's input (a path or '-' for stdin) with the checks every caller shares."""

from __future__ import annotations

import sys
from pathlib import Path

from agentcode.errors import UsageError


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


def _human(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}" if unit == "bytes" else f"{n:.0f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)
