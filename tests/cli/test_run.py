"""`agentcode run` as a real process: streams, exit codes, bad input, --json, --out, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest


def agentcode(*args: str, stdin: bytes | str = b"", env: dict[str, str] | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "agentcode", "run", *args], input=data, capture_output=True,
        env={**os.environ, **(env or {})}, timeout=timeout,
    )
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode(), proc.stderr.decode())


def test_stdout_stderr_and_exit_code_like_python() -> None:
    done = agentcode("-", stdin="import sys\nprint('out')\nprint('err', file=sys.stderr)\n"
                                "sys.exit(3)")
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_code_from_a_file_and_the_programs_stdin(tmp_path: Path) -> None:
    script = tmp_path / "count.py"
    script.write_text("import sys\nprint(sum(int(x) for x in sys.stdin))")
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("1\n2\n39\n")
    done = agentcode("--stdin", str(numbers), str(script))
    assert (done.returncode, done.stdout, done.stderr) == (0, "42\n", "")
    piped = agentcode("--stdin", "-", str(script), stdin="5\n5\n")
    assert piped.stdout == "10\n"


def test_a_bare_last_expression_is_printed_after_the_output() -> None:
    assert agentcode("-", stdin="x = 6*7\nprint('v')\nx").stdout == "v\n42\n"
    assert agentcode("-", stdin="x = 6*7\nx;").stdout == ""
    assert agentcode("-", stdin="None").stdout == ""
    assert agentcode(stdin="'piped, no PATH'").stdout == "'piped, no PATH'\n"


def test_a_last_call_is_not_echoed() -> None:
    # Scripts often end with f.write(...) or sys.stdout.write(...): no stray byte counts.
    done = agentcode("-", stdin="import sys\nsys.stdout.write('hi\\n')")
    assert done.stdout == "hi\n"
    assert agentcode("-", stdin="sorted([2, 1])").stdout == ""
    assert json.loads(agentcode("--json", "-", stdin="sorted([2, 1])").stdout)[
        "outputs"][0]["text"] == "[1, 2]"


def test_exception_traceback_has_user_frames_only() -> None:
    done = agentcode("-", stdin="def f():\n    raise ValueError('bad')\nf()\n")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith('Traceback (most recent call last):\n  File "<stdin>", line 3')
    assert done.stderr.endswith("ValueError: bad\n")
    assert "agentcode" not in done.stderr and "<string>" not in done.stderr


def test_syntax_error_like_python() -> None:
    done = agentcode("-", stdin="print('a'\n")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ('  File "<stdin>", line 1\n    print(\'a\'\n         ^\n'
                           "SyntaxError: '(' was never closed\n")


def test_json_prints_only_the_execution() -> None:
    done = agentcode("--json", "-", stdin="import sys\nprint('o')\nsys.stderr.write('e')\n7")
    data = json.loads(done.stdout)
    assert (data["stdout"], data["stderr"], data["exit_code"]) == ("o\n", "e", 0)
    assert data["outputs"][0]["text"] == "7" and done.stderr == ""


def test_files_in_and_artifacts_out(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    out = tmp_path / "out"
    code = "rows = open('data.csv').read().splitlines()\nopen('n.txt', 'w').write(str(len(rows)))"
    done = agentcode("--file", str(data), "--out", str(out), "-", stdin=code)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["n.txt"]
    assert (out / "n.txt").read_text() == "2"
    assert "saved 1 file(s)" in done.stderr and done.stdout == ""


def test_timeout_exits_124_and_says_what_happened() -> None:
    done = agentcode("--timeout", "1", "-", stdin="print('tick', flush=True)\nwhile True: pass")
    assert done.returncode == 124 and done.stdout == "tick\n"
    # A one-shot run has no session to keep or lose: the message says what to change.
    assert done.stderr == ("agentcode: error: the code ran past the 1 s timeout and was "
                           "stopped (raise it with --timeout or AGENTCODE_TIMEOUT)\n")
    env = {"AGENTCODE_TIMEOUT": "1", "AGENTCODE_LIMIT_KILL_GRACE_SECONDS": "0.5"}
    killed = agentcode("-", stdin="sum(range(10**12))", env=env)
    assert killed.returncode == 124 and killed.stderr == done.stderr


def test_output_cap_is_reported_on_stderr() -> None:
    env = {"AGENTCODE_LIMIT_OUTPUT_BYTES": "100"}
    done = agentcode("-", stdin="print('x' * 1000)", env=env)
    assert done.stdout == "x" * 100 and "901 more bytes of the program's stdout" in done.stderr


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["-"], "", "is empty"),
    (["-"], "  \n\n", "is empty"),
    (["-"], b"\xff\xfe bad", "not UTF-8"),
    (["-"], b"print(1)\x00", "binary"),
    (["/nonexistent/code.py"], "", "no such file: /nonexistent/code.py"),
    (["--file", "/nonexistent/in.csv", "-"], "print(1)", "no such file"),
    (["--stdin", "/nonexistent/in.txt", "-"], "print(1)", "no such file"),
    (["--stdin", "-", "-"], "print(1)", "stdin already holds the code"),
    (["--max-input-bytes", "5", "-"], "print(12345)", "larger than"),
    (["--sandbox", "nope", "-"], "print(1)", "unknown sandbox 'nope'"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], stdin: bytes | str,
                                          message: str) -> None:
    done = agentcode(*args, stdin=stdin)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("agentcode: error: ")
    assert message in done.stderr and "Traceback" not in done.stderr


def test_unknown_sandbox_from_the_environment_is_exit_2() -> None:
    done = agentcode("-", stdin="print(1)", env={"AGENTCODE_SANDBOX": "docker"})
    assert done.returncode == 2 and "unknown sandbox 'docker'" in done.stderr


def test_no_code_with_a_terminal_stdin_is_exit_2() -> None:
    child = pexpect.spawn(sys.executable, ["-m", "agentcode", "run"], timeout=30,
                          env={**os.environ})
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert b"no code to run" in (child.before or b"")


def test_missing_bubblewrap_exits_4(tmp_path: Path) -> None:
    done = agentcode("-", stdin="print(1)", env={"PATH": str(tmp_path)})
    assert done.returncode == 4 and "apt-get install bubblewrap" in done.stderr


def test_unsafe_backend_warns_on_stderr_only() -> None:
    done = agentcode("--sandbox", "unsafe", "-", stdin="print('ok')")
    assert done.stdout == "ok\n" and "WITHOUT ISOLATION" in done.stderr


def test_ctrl_c_interrupts_the_code_and_exits_130() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcode", "run", "-"], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"print('running', flush=True)\nimport time\ntime.sleep(60)\n")
    proc.stdin.close()
    assert proc.stdout.readline() == b"running\n"  # streamed before the program ends
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert proc.stdout.read() == b""  # the program was stopped: nothing after 'running'
    proc.stdout.close()
    assert proc.stderr is not None
    assert proc.stderr.read().decode().splitlines()[-1] == "agentcode: interrupted"
    proc.stderr.close()
    assert time.monotonic() - started < 10


def test_a_program_exiting_130_is_not_called_an_interruption() -> None:
    done = agentcode("-", stdin="import sys\nsys.exit(130)\n")
    assert done.returncode == 130
    assert "interrupted" not in done.stderr


def test_run_imports_no_heavy_modules() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "agentcode", "run", "-"],
        input=b"print(1)", capture_output=True, timeout=60,
    )
    assert done.stdout == b"1\n"
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in done.stderr.decode().splitlines() if line.startswith("import time")}
    assert not imported & {"strands", "boto3", "botocore", "bedrock_agentcore", "httpx",
                           "pydantic", "rich"}
