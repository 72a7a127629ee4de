"""`agentcode.execute`: one-shot runs in a fresh local jail (real bubblewrap), and with fakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcode import execute
from agentcode.config import Limits, Settings
from agentcode.errors import ExecutionTimeoutError
from agentcode.testing import FakeSandbox
from agentcode.types import Execution


@pytest.fixture
def settings() -> Settings:
    return Settings(timeout=20, limits=Limits(tmp_mb=16, shm_mb=8, workdir_mb=32))


def test_value_and_output(settings: Settings) -> None:
    result = execute("x = 6 * 7\nprint('hi')\nx", settings=settings)
    assert (result.stdout, result.text, result.ok, result.backend) == ("hi\n", "42", True, "local")


def test_files_as_mapping_and_as_host_paths(settings: Settings, tmp_path: Path) -> None:
    host = tmp_path / "numbers.txt"
    host.write_text("1\n2\n3\n")
    (tmp_path / "cfg.ini").write_text("")
    code = "print(sum(int(n) for n in open('numbers.txt')), open('cfg.ini').read())"
    from_paths = execute(code, files=[host, str(tmp_path / "cfg.ini")], settings=settings)
    assert from_paths.stdout == "6 \n"
    assert execute(code, files={"numbers.txt": "4\n", "cfg.ini": b"k=v"},
                   settings=settings).stdout == "4 k=v\n"


def test_stdin_text_or_bytes(settings: Settings) -> None:
    code = "import sys; print(len(sys.stdin.read()))"
    assert execute(code, stdin="héllo", settings=settings).stdout == "5\n"
    assert execute(code, stdin=b"abc", settings=settings).stdout == "3\n"


def test_out_dir_gets_new_and_changed_files_and_figures(settings: Settings,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = (
        "open('changed.txt', 'a').write(' more')\n"
        "import os; os.makedirs('sub'); open('sub/new.csv', 'w').write('a,b')\n"
        "class Fig:\n"
        "    def _repr_png_(self): return b'\\x89PNGdata'\n"
        "Fig()"
    )
    result = execute(code, files={"same.txt": b"input", "changed.txt": b"old"},
                     out_dir=out, settings=settings)
    names = sorted(Path(p).relative_to(out).as_posix() for p in result.artifacts)
    assert names == ["changed.txt", "figure-1.png", "sub/new.csv"]
    assert (out / "changed.txt").read_text() == "old more"
    assert (out / "sub" / "new.csv").read_text() == "a,b"
    assert (out / "figure-1.png").read_bytes() == b"\x89PNGdata"
    assert not (out / "same.txt").exists()


def test_timeout_raises_with_the_partial_execution(settings: Settings) -> None:
    with pytest.raises(ExecutionTimeoutError) as info:
        execute("print('partial', flush=True)\nimport time\ntime.sleep(60)", timeout=0.5,
                settings=settings)
    assert info.value.execution is not None
    assert info.value.execution.stdout == "partial\n"


def test_a_given_sandbox_is_used_and_left_open() -> None:
    fake = FakeSandbox([Execution(stdout="out\n", stderr="err\n", exit_code=3)])
    chunks: list[str] = []
    result = execute("print('x')", sandbox=fake, files={"a.txt": "A"},
                     on_stdout=chunks.append, on_stderr=chunks.append,
                     settings=Settings())
    assert (result.exit_code, chunks, fake.codes) == (3, ["out\n", "err\n"], ["print('x')"])
    assert fake.files == {"a.txt": b"A"} and fake.closed is False


def test_output_errors_choose_how_chunks_carry_bytes_that_are_not_utf8(
        settings: Settings) -> None:
    code = "import sys\nsys.stdout.buffer.write(b'a\\xffb\\xc3'); sys.stdout.flush()\n" \
           "sys.stdout.buffer.write(b'\\xa9\\n')\n"
    exact: list[str] = []
    execution = execute(code, settings=settings, on_stdout=exact.append,
                        output_errors="surrogateescape")
    assert "".join(exact).encode("utf-8", "surrogateescape") == b"a\xffb\xc3\xa9\n"
    assert execution.stdout == "a\ufffdb\u00e9\n"  # the record is text, always
    replaced: list[str] = []
    execute(code, settings=settings, on_stdout=replaced.append)
    assert "".join(replaced) == "a\ufffdb\u00e9\n"


def test_output_errors_other_than_the_two_are_refused(settings: Settings) -> None:
    from agentcode.errors import UsageError

    with pytest.raises(UsageError, match="output_errors must be"):
        execute("print(1)", settings=settings, output_errors="strict")


def test_a_sandbox_that_predates_output_errors_is_not_passed_the_default() -> None:
    class Older(FakeSandbox):  # a plugin's sandbox written before output_errors existed
        def execute(self, code: str, *, timeout: float | None = None,  # type: ignore[override]
                    stdin: bytes | None = None, on_stdout: object = None,
                    on_stderr: object = None) -> Execution:
            return Execution(stdout="x")

    assert execute("print('x')", sandbox=Older([])).stdout == "x"
