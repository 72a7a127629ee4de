"""`agentcode repl`: driven through a real pseudo-terminal (pexpect), and scripted via a pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pexpect

AGENTCODE = [sys.executable, "-m", "agentcode"]


def script(tmp_path: Path, *codes: str) -> str:
    path = tmp_path / "model.json"
    path.write_text(json.dumps([f"```python\n{code}\n```" for code in codes]), encoding="utf-8")
    return str(path)


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "AGENTCODE_HOME": str(home), "TERM": "xterm",
            "EDITOR": "true"}


def test_terminal_session_requests_runs_interrupts_and_saves(
    tmp_path: Path, agentcode_home: Path
) -> None:
    model = script(tmp_path, "nums = [5, 3, 8]\nprint(sum(nums))", "print(max(nums))")
    child = pexpect.spawn(AGENTCODE[0], [*AGENTCODE[1:], "repl", "-m", f"fake:{model}"],
                          env=env_for(agentcode_home), encoding="utf-8", timeout=30,
                          dimensions=(40, 120))
    try:
        child.expect("agentcode>")
        child.sendline("add the numbers")
        child.expect("Run it")
        child.sendline("y")
        child.expect(r"[^0-9]16\r\n")
        child.expect("agentcode>")
        child.sendline("!nums.append(100); len(nums)")  # the last value echoes like Python's REPL
        child.expect(r"[^0-9\[]4\r\n")
        child.expect("agentcode>")
        child.sendline("largest")  # the second request runs against the same variables
        child.expect("Run it")
        child.sendline("")
        child.expect(r"[^0-9]100\r\n")
        child.expect("agentcode>")
        child.sendline('!print("start" + "ed", flush=True); exec("while True: pass")')
        child.expect("started")  # the echo of the input shows "start" + "ed", not this
        time.sleep(0.3)
        child.sendintr()  # Ctrl-C interrupts the code, not the REPL
        child.expect("KeyboardInterrupt")
        child.expect("agentcode>")
        child.sendline("!print(sorted(nums))")
        child.expect(r"\[3, 5, 8, 100\]")  # state survived the interrupt
        child.expect("agentcode>")
        child.sendline("/save " + str(tmp_path / "saved.py"))
        child.expect("saved 4 piece")
        child.sendline("/bogus")
        child.expect("unknown command /bogus")
        child.expect("agentcode>")  # the next prompt, drawn after the message
        time.sleep(0.5)  # let it switch the terminal to raw mode, or ^D may be lost in between
        child.sendeof()  # Ctrl-D leaves
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    saved = (tmp_path / "saved.py").read_text(encoding="utf-8")
    assert "nums = [5, 3, 8]" in saved and "print(max(nums))" in saved
    assert "while True" not in saved


def run_piped(home: Path, model: str, text: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AGENTCODE, "repl", "-m", f"fake:{model}", *extra], input=text,
                          capture_output=True, text=True, env=env_for(home), timeout=120)


def test_piped_input_is_scriptable_and_runs_only_with_yes(
    tmp_path: Path, agentcode_home: Path
) -> None:
    model = script(tmp_path, "x = 20\nprint(x)", "print(x + 1)")
    ran = run_piped(agentcode_home, model, "make x\nadd one\n!x * 2\n/exit\nnever read\n", "--yes")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["20", "21", "40"]
    assert "x = 20" in ran.stderr  # the code is shown on stderr, stdout stays the programs' output

    model2 = script(tmp_path, "print('should not run')")
    shown = run_piped(agentcode_home, model2, "do it\n")
    assert shown.returncode == 0
    assert shown.stdout == ""
    assert "print('should not run')" in shown.stderr


def test_history_records_the_repl_session(tmp_path: Path, agentcode_home: Path) -> None:
    model = script(tmp_path, "print(7)")
    run_piped(agentcode_home, model, "seven\n", "--yes")
    listed = subprocess.run([*AGENTCODE, "history", "list", "--json"], capture_output=True,
                            text=True, env=env_for(agentcode_home))
    entries = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()] \
        if not listed.stdout.lstrip().startswith("[") else json.loads(listed.stdout)
    kinds = sorted(e["kind"] for e in entries)
    assert kinds == ["gen", "run"]
    assert len({e["session_id"] for e in entries}) == 1

    model8 = script(tmp_path, "print(8)")
    resumed = subprocess.run([*AGENTCODE, "repl", "-c", "-m", f"fake:{model8}", "--yes"],
                             input="eight\n", capture_output=True, text=True,
                             env=env_for(agentcode_home), timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == "8\n"


def test_a_traceback_is_shown_once_and_display_shows_text(
    tmp_path: Path, agentcode_home: Path
) -> None:
    model = script(tmp_path, "print('unused')")
    ran = run_piped(agentcode_home, model, "!1 / 0\n!display('shown'); print('printed')\n")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.count("Traceback (most recent call last)") == 1
    assert ran.stderr.count("ZeroDivisionError: division by zero") == 1
    assert ran.stdout == "printed\n'shown'\n"
