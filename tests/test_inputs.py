from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from agentcode.errors import UsageError
from agentcode.inputs import read_files, read_piped, read_text


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


def test_piped_input_is_kept_whole_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", FakeStdin(b"a,b\n1,2\n3,4"))
    piped = read_piped(limit=100)
    assert piped is not None and piped.data == b"a,b\n1,2\n3,4"
    assert (piped.total_bytes, piped.total_lines, piped.truncated) == (11, 3, False)


def test_piped_input_past_the_limit_is_only_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agentcode.inputs.CHUNK", 64)
    monkeypatch.setattr(sys, "stdin", FakeStdin(b"row\n" * 1000))
    piped = read_piped(limit=100)
    assert piped is not None and piped.truncated and piped.data is None
    assert piped.head == (b"row\n" * 25) and piped.total_bytes > 100
    monkeypatch.setattr(sys, "stdin", FakeStdin(b""))
    assert read_piped(limit=100) is None  # nothing piped: no input at all


def test_files_are_read_by_base_name_within_the_limit(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_bytes(b"a,b\n")
    (tmp_path / "big.bin").write_bytes(b"x" * 101)
    assert read_files([tmp_path / "data.csv"], 100) == {"data.csv": b"a,b\n"}
    assert read_files({"notes.txt": "é"}, 100) == {"notes.txt": "é".encode()}
    with pytest.raises(UsageError, match="--file input from .*big.bin is larger than"):
        read_files([str(tmp_path / "big.bin")], 100, what="--file input")
    with pytest.raises(UsageError, match="invalid file path '-'"):
        read_files(["-"], 100)
