"""Program output on a terminal shows its control sequences instead of obeying them (a pty);
piped, it stays byte-exact. For `run`, `repl` and `history show`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pexpect

from agentcode.cli.terminal import escape_controls
from agentcode.store import open_store
from agentcode.types import Execution

# OSC 52 (clipboard write), a screen + scrollback wipe, a hyperlink, a bidi override.
HOSTILE = "a\x1b]52;c;cHduZWQ=\x07b\x1b[2J\x1b[3J\x1b]8;;http://x\x1b\\link\u202eZ\x9b1m\n"
PROGRAM = f"import sys\nsys.stdout.write({HOSTILE!r})\nsys.stderr.write({HOSTILE!r})\n"


def test_escape_controls_keeps_text_newlines_tabs_and_carriage_returns() -> None:
    assert escape_controls("x\ty\r\n") == "x\ty\r\n"
    assert escape_controls(HOSTILE) == (
        "a\\x1b]52;c;cHduZWQ=\\x07b\\x1b[2J\\x1b[3J\\x1b]8;;http://x\\x1b\\link\\u202eZ\\x9b1m\n"
    )


def _spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, ["-m", "agentcode", *args], timeout=60,
                         env={**os.environ, "NO_COLOR": "1"})


def test_run_on_a_terminal_escapes_both_streams(tmp_path: Path) -> None:
    script = tmp_path / "hostile.py"
    script.write_text(PROGRAM)
    child = _spawn("run", "--no-history", str(script))
    output = child.read()
    child.close()
    assert child.exitstatus == 0
    assert b"\x1b" not in output and b"\x07" not in output and "\u202e".encode() not in output
    assert output.count(b"\\x1b]52;c;") == 2  # stdout and stderr, both made visible


def test_run_piped_is_byte_exact(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "agentcode", "run", "--no-history", "-"],
                          input=PROGRAM.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout == HOSTILE.encode() and done.stderr == HOSTILE.encode()


# Bytes that are not UTF-8, one split over two writes, a UTF-8 character split the same way.
BINARY = (b"\xff\xfe\x00\x89PNG\r\n\x1a\n", b"caf\xc3", b"\xa9 \xe9t\xe9\n")
BINARY_PROGRAM = ("import sys\n"
                  + "".join(f"sys.stdout.buffer.write({part!r}); sys.stdout.flush()\n"
                            for part in BINARY)
                  + "sys.stderr.buffer.write(b'err \\xfe\\n')\n")


def test_run_piped_keeps_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    # `agentcode run gen_png.py > out.png`, like `python gen_png.py > out.png`.
    done = subprocess.run([sys.executable, "-m", "agentcode", "run", "--no-history", "-"],
                          input=BINARY_PROGRAM.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"".join(BINARY)
    assert done.stderr == b"err \xfe\n"


def test_run_on_a_terminal_shows_bytes_that_are_not_utf8_as_escapes(tmp_path: Path) -> None:
    script = tmp_path / "binary.py"
    script.write_text(BINARY_PROGRAM)
    child = _spawn("run", "--no-history", str(script))
    output = child.read()
    child.close()
    assert child.exitstatus == 0
    assert b"\\xff\\xfe\\x00\\x89PNG" in output  # shown, not sent to the terminal
    assert "café".encode() in output  # text split over two writes is still text
    assert b"err \\xfe" in output
    assert b"\xff" not in output


def test_run_json_carries_replaced_text(tmp_path: Path) -> None:
    import json

    done = subprocess.run([sys.executable, "-m", "agentcode", "run", "--no-history", "--json",
                           "-"], input=BINARY_PROGRAM.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    stdout = json.loads(done.stdout)["stdout"]
    assert stdout.startswith("\ufffd\ufffd\x00\ufffdPNG") and "café" in stdout


def test_history_show_on_a_terminal_escapes_recorded_output(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with open_store(db) as store:
        entry = store.record_execution("print('x')", Execution(stdout=HOSTILE, stderr=HOSTILE))
    entry_id = entry if isinstance(entry, int) else entry.id
    child = _spawn("history", "show", str(entry_id), "--db", str(db))
    output = child.read()
    child.close()
    assert child.exitstatus == 0
    assert b"\x1b]52" not in output and b"\\x1b]52;c;" in output


def test_repl_on_a_terminal_escapes_program_output(tmp_path: Path) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "agentcode", "repl", "--no-history"],
                          timeout=60, dimensions=(40, 160),
                          env={**os.environ, "NO_COLOR": "1", "TERM": "xterm",
                               "AGENTCODE_MODEL": "fake:unused"})
    try:
        child.expect("agentcode>")
        child.sendline("!print('q' + '\\x1b]52;c;cHduZWQ=\\x07' + 'r')")
        child.expect(rb"q\\x1b\]52;c;cHduZWQ=\\x07r")
        child.expect("agentcode>")
        time.sleep(0.5)
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert b"\x1b]52" not in (child.before or b"")


def _shell(command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTCODE_SANDBOX_KEEP_ALIVE": "0"}
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60,
                          env=env)


def test_a_full_disk_or_closed_streams_are_one_line_or_silence_not_a_traceback() -> None:
    agentcode = f"{sys.executable} -m agentcode"
    full = _shell(f"echo 'print(1)' | {agentcode} run --no-history - > /dev/full")
    assert (full.returncode, full.stderr) == (
        1, "agentcode: error: cannot write the program's output to stdout: "
           "No space left on device\n")
    version = _shell(f"{agentcode} --version > /dev/full")
    assert version.returncode == 1 and "Traceback" not in version.stderr
    assert version.stderr.startswith("agentcode: error: cannot write: No space left on device")
    # Closed stdout (`>&-`): like `python`, the output goes nowhere and the run is fine.
    closed = _shell(f"echo 'print(1)' | {agentcode} run --no-history - >&-")
    assert (closed.returncode, closed.stderr) == (0, "")
    closed_err = _shell(f"echo 'import sys; print(2, file=sys.stderr); print(3)' | "
                        f"{agentcode} run --no-history - 2>&-")
    assert (closed_err.returncode, closed_err.stdout) == (0, "3\n")
    no_stdin = _shell(f"{agentcode} run --no-history - <&-")
    assert (no_stdin.returncode, no_stdin.stderr) == (
        2, "agentcode: error: no code on stdin: pipe something in or pass a file path\n")
