"""`agentcode gen` as a real process: pipes, a terminal, exit codes, Ctrl-C.

The model is ``fake:<script.json>`` (tests/plugins/agentcode_test_fakes.py), which the
registry finds through the test suite's entry-point plugin (tests/plugins, on PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect

from agentcode.cli.gen_cmd import PIPED_ON_NOTE

CODE = "import sys\nprint(sum(int(x) for x in sys.stdin))\n"
REPLY = f"```python\n{CODE}```"


def script(tmp_path: Path, replies: list[Any], delay: float = 0.0, name: str = "script") -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"replies": replies, "delay": delay}), encoding="utf-8")
    return f"fake:{path}"


def env() -> dict[str, str]:
    return {**os.environ, "AGENTCODE_MODEL_RETRY_SECONDS": "0",
            "NO_COLOR": ""}


def test_pipe_gets_bare_code_and_the_code_runs(tmp_path: Path) -> None:
    model = script(tmp_path, [REPLY])
    done = subprocess.run(
        [sys.executable, "-m", "agentcode", "gen", "sum the numbers", "-m", model],
        input="1\n2\n3\n", capture_output=True, text=True, env=env(), timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == CODE
    # The code goes on down a pipe: gen says the data it read will not follow it.
    assert done.stderr == (PIPED_ON_NOTE
                           + "agentcode: ran cleanly on the given input (1 round)\n")
    ran = subprocess.run([sys.executable, "-c", done.stdout], input="1\n2\n3\n",
                         capture_output=True, text=True, timeout=60)
    assert ran.stdout == "6\n"


def test_piped_data_then_code_to_a_file_or_from_stdin_option_has_no_note(tmp_path: Path) -> None:
    model = script(tmp_path, [REPLY, REPLY])
    data = tmp_path / "numbers.txt"
    data.write_text("1\n2\n3\n", encoding="utf-8")
    program = tmp_path / "prog.py"
    with program.open("w") as out:  # `cat data | gen ... > prog.py`
        done = subprocess.run(
            [sys.executable, "-m", "agentcode", "gen", "sum the numbers", "-m", model],
            input="1\n2\n3\n", stdout=out, stderr=subprocess.PIPE, text=True, env=env(),
            timeout=60)
    assert done.returncode == 0, done.stderr
    assert program.read_text(encoding="utf-8") == CODE
    assert done.stderr == "agentcode: ran cleanly on the given input (1 round)\n"
    # `gen --stdin FILE ... | run -`: the data is still the user's, nothing to say.
    done = subprocess.run(
        [sys.executable, "-m", "agentcode", "gen", "--stdin", str(data), "sum the numbers",
         "-m", model], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env(),
        timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "agentcode: ran cleanly on the given input (1 round)\n"


def test_the_note_names_a_pipe_that_works(tmp_path: Path) -> None:
    model = script(tmp_path, [REPLY])
    data = tmp_path / "numbers.txt"
    data.write_text("1\n2\n3\n", encoding="utf-8")
    shell = (f"cat {data} | {sys.executable} -m agentcode gen 'sum the numbers' -m {model} "
             f"| {sys.executable} -m agentcode run --no-history --stdin {data} -")
    done = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, env=env(),
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "6\n"
    assert "agentcode run --stdin FILE -" in done.stderr


def test_all_models_failing_exits_3(tmp_path: Path) -> None:
    model = script(tmp_path, [{"error": "access_denied"}])
    done = subprocess.run(
        [sys.executable, "-m", "agentcode", "gen", "x", "-m", model],
        capture_output=True, text=True, env=env(), stdin=subprocess.DEVNULL, timeout=60,
    )
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.startswith("agentcode: error: no model could answer:")
    assert "access denied" in done.stderr


def test_ctrl_c_exits_130(tmp_path: Path) -> None:
    model = script(tmp_path, [REPLY * 20], delay=0.5)
    process = subprocess.Popen(
        [sys.executable, "-m", "agentcode", "gen", "x", "-m", model],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env(),
    )
    time.sleep(4)  # start-up (imports) plus a few chunks
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert out == ""
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "agentcode: interrupted"


def test_terminal_shows_highlighted_code_once_after_a_failed_stream(tmp_path: Path) -> None:
    partial = {"partial": "```python\nimport os\nprint('half-written", "error": "access_denied"}
    first = script(tmp_path, [partial], name="first")
    second = script(tmp_path, ["```python\nprint('complete answer')\n```"], name="second")
    child = pexpect.spawn(
        sys.executable, ["-m", "agentcode", "gen", "x", "-m", f"{first},{second}"],
        env={**env(), "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"},
        encoding="utf-8", timeout=60, dimensions=(30, 100),
    )
    child.expect(pexpect.EOF)
    child.close()
    output = child.before or ""
    assert child.exitstatus == 0, output
    assert "↻" in output and "trying the next model" in output
    # The live view is transient (erased when it stops, where the cursor is shown again); what
    # stays on screen after it is the final code, once, and nothing of the failed answer.
    final = output[output.rindex("\x1b[?25h"):]
    assert final.count("complete answer") == 1
    assert "half-written" not in final
    assert "\x1b[" in output  # highlighted
