from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from agentcode.errors import UsageError
from agentcode.inputs import read_text


class FakeStdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)
        self.closed = False


def test_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("print('é')\n", encoding="utf-8")
    assert read_text(str(path), limit=100) == "print('é')\n"


def test_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", FakeStdin(b"print(1)\n"))
    assert read_text("-", limit=100) == "print(1)\n"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\xff\xfe print", "not UTF-8"),
        (b"abc\x00def", "binary"),
        (b"x" * 101, "larger than"),
    ],
)
def test_bad_content(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "in.py"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=needle):
        read_text(str(path), limit=100)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        read_text(str(tmp_path / "nope.py"), limit=100)
    with pytest.raises(UsageError, match="is a directory"):
        read_text(str(tmp_path), limit=100)
