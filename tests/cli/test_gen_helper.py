"""`agentcode gen` through the resident helper (agentcode/cli/run_helper.py): the scripted model
(``fake:``, tests/plugins) and the real jail, with the CLI as processes. What a gen through it
prints, records and returns is what the in-process gen does (tests/cli/test_gen_process.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect

# The helper's fixture and process helpers (tests/cli is on the path, as pytest runs it).
from test_gen_process import CODE, REPLY, script
from test_run_helper import (
    KEEP_ALIVE,
    _ppid,
    agentcode,
    at_once,
    descendants,
    helper,
    idle_child,
    served,
    still_there,
    wait_until,
)

from agentcode.cli.gen_cmd import PIPED_ON_NOTE
from agentcode.sandbox.local import resident
from agentcode.store import open_store

__all__ = ["helper"]  # the fixture, used by name

QUIET = {"AGENTCODE_MODEL_RETRY_SECONDS": "0"}


def test_piped_data_json_exit_codes_and_the_note(helper: dict[str, Any], tmp_path: Path) -> None:
    model = script(tmp_path, [REPLY])
    # Data piped in: the model sees a sample, the code runs on it, and the code goes on down
    # a pipe: the note that the data will not follow it.
    done = agentcode("gen", "sum the numbers", "-m", model, stdin="1\n2\n3\n", env=QUIET)
    assert (done.returncode, done.stdout) == (0, CODE), done
    assert done.stderr == PIPED_ON_NOTE + "agentcode: ran cleanly on the given input (1 round)\n"
    assert served(1)
    as_json = agentcode("gen", "--json", "sum the numbers", "-m", model, stdin="4\n5\n",
                        env=QUIET)
    assert as_json.returncode == 0, as_json
    generation = json.loads(as_json.stdout)
    assert generation["code"] == CODE and generation["verified"] is True
    assert PIPED_ON_NOTE not in as_json.stderr
    failing = script(tmp_path, ["```python\nraise SystemExit(5)\n```"], name="failing")
    cases = [
        (["gen", "x", "-m", script(tmp_path, [{"error": "access_denied"}], name="denied")], 3,
         "agentcode: error: no model could answer:"),
        (["gen", "  "], 2, "agentcode: error: empty prompt"),
        (["gen", "--no-verify", "--check", "x", "y"], 2, "agentcode: error: --test and --check"),
        (["gen", "--max-repairs", "0", "--stdin", "/dev/null", "exit", "-m", failing], 1,
         "agentcode: the last candidate failed:"),
    ]
    for number, (args, status, err) in enumerate(cases, start=3):
        done = agentcode(*args, env=QUIET)
        assert done.returncode == status, done
        assert err in done.stderr and "Traceback" not in done.stderr, done
        assert served(number)


def test_stdin_and_file_options_and_relative_paths(helper: dict[str, Any],
                                                   tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "numbers.txt").write_text("1\n2\n3\n")
    (work / "words.txt").write_text("a b c\n")
    # Crashes (fails the verification: exit 1, no repairs) unless it finds the client's files.
    code = ("import sys\nassert open('words.txt').read().split() == ['a', 'b', 'c']\n"
            "assert sum(int(x) for x in sys.stdin) == 6\nprint('ok')\n")
    model = script(tmp_path, [f"```python\n{code}```"])
    done = subprocess.run(
        [sys.executable, "-m", "agentcode", "gen", "--stdin", "numbers.txt", "--file",
         "words.txt", "--max-repairs", "0", "count", "-m", model, "--json"],
        stdin=subprocess.DEVNULL,
        capture_output=True, text=True, cwd=work, env={**os.environ, **QUIET}, timeout=60)
    assert done.returncode == 0, done
    assert json.loads(done.stdout)["verified"] is True
    assert served(1)


def test_history_and_continue_are_the_clients(helper: dict[str, Any], tmp_path: Path) -> None:
    model = script(tmp_path, ["```python\nprint(1)\n```", "```python\nprint(2)\n```"])
    first = agentcode("gen", "print one", "-m", model, env=QUIET)
    assert first.returncode == 0, first
    # A new process per request: the script starts over, as for a gen in process.
    second = agentcode("gen", "-c", "now print it again", "-m", model, env=QUIET)
    assert (second.returncode, second.stdout) == (0, "print(1)\n"), second
    assert served(2)
    with open_store() as store:
        entries = {entry.prompt: entry.session_id for entry in store.list(limit=10)
                   if entry.prompt}  # (the verification runs have none)
    assert set(entries) == {"print one", "now print it again"}
    assert entries["print one"] == entries["now print it again"]  # -c continued it


def test_the_verification_run_takes_the_childs_spare_jail(helper: dict[str, Any],
                                                          tmp_path: Path) -> None:
    child = wait_until(lambda: idle_child(int(helper["pid"])))
    spare = wait_until(lambda: _bwraps(child))
    slow = "import time\ntime.sleep(3)\nprint('done')\n"
    model = script(tmp_path, [f"```python\n{slow}```"])
    proc = subprocess.Popen([sys.executable, "-m", "agentcode", "gen", "--verify", "wait",
                             "-m", model], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **QUIET})
    seen: set[int] = set()
    while proc.poll() is None:
        seen |= _bwraps(child)
        time.sleep(0.1)
    out, err = proc.communicate()
    assert (proc.returncode, out) == (0, slow), err
    # The spare, started before the request came, is the verification's jail when it suits;
    # twice in the whole suite (never alone, never under load in a loop) a second jail was
    # seen beside it, cause not found (session 9's note): at most one jail more than the spare.
    assert spare <= seen and len(seen - spare) <= 1
    assert served(1)


def _bwraps(pid: int) -> set[int]:
    """The jails ``pid`` started: its bwrap children (each has one more inside, its init)."""
    found = set()
    for process, _ in descendants(pid):
        try:
            if Path(f"/proc/{process}/comm").read_text().strip() == "bwrap" \
                    and _ppid(process) == pid:
                found.add(process)
        except OSError:
            continue
    return found


def test_ctrl_c_exits_130_and_leaves_nothing(helper: dict[str, Any], tmp_path: Path) -> None:
    child = wait_until(lambda: idle_child(int(helper["pid"])))
    processes = descendants(child)
    model = script(tmp_path, [REPLY * 20], delay=0.5)
    proc = subprocess.Popen([sys.executable, "-m", "agentcode", "gen", "x", "-m", model],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **QUIET})
    assert served(1)  # the helper has it: the model is answering, chunk by chunk
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert out == "" and "Traceback" not in err
    assert err.splitlines()[-1] == "agentcode: interrupted"
    wait_until(lambda: not still_there(processes | descendants(child)), 10)


def test_a_terminal_gets_the_live_view_at_its_own_width(helper: dict[str, Any],
                                                         tmp_path: Path) -> None:
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda"
    model = script(tmp_path, [f"```python\nprint('{words}')\n```"])
    child = pexpect.spawn(
        sys.executable, ["-m", "agentcode", "gen", "x", "-m", model],
        env={**os.environ, **QUIET, "TERM": "xterm-256color", "NO_COLOR": ""},
        encoding="utf-8", timeout=60, dimensions=(30, 40))
    child.expect(pexpect.EOF)
    child.close()
    output = child.before or ""
    assert child.exitstatus == 0, output
    assert served(1)
    final = output[output.rindex("\x1b[?25h"):]  # after the live view, the code once
    assert re.search(r"\x1b\[[0-9;]*3[0-9]m", final)  # in colour (the client's TERM)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", final)
    line = next(row for row in plain.splitlines() if "alpha" in row)
    assert "lambda" not in line and "lambda" in plain  # wrapped at the client's 40 columns


def test_an_in_process_gen_starts_the_helper(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("AGENTCODE_SANDBOX_KEEP_ALIVE", KEEP_ALIVE)
    monkeypatch.delenv("CI", raising=False)
    model = script(tmp_path, [REPLY])
    done = agentcode("gen", "--no-verify", "sum", "-m", model, env=QUIET)
    assert (done.returncode, done.stdout) == (0, CODE), done
    state = wait_until(resident.running)
    processes = descendants(int(state["pid"]))
    try:
        again = agentcode("gen", "--no-verify", "sum", "-m", model, env=QUIET)
        assert (again.returncode, again.stdout) == (0, CODE) and served(1)
    finally:
        processes |= descendants(int(state["pid"]))
        resident.stop()
        wait_until(lambda: not still_there(processes), 10)
    # Off (the default in the suite): nothing starts.
    monkeypatch.setenv("AGENTCODE_SANDBOX_KEEP_ALIVE", "0")
    assert agentcode("gen", "--no-verify", "sum", "-m", model, env=QUIET).returncode == 0
    time.sleep(1.0)
    assert resident.running() is None


def test_a_client_with_another_python_path_runs_in_process(helper: dict[str, Any],
                                                           tmp_path: Path) -> None:
    # The helper's interpreter is set up by its own PYTHONPATH: a model plugin found only on
    # the client's would be missing there.
    model = script(tmp_path, [REPLY])
    path = f"{os.environ['PYTHONPATH']}{os.pathsep}{tmp_path}"
    done = agentcode("gen", "--no-verify", "sum", "-m", model, env={**QUIET, "PYTHONPATH": path})
    assert (done.returncode, done.stdout, done.stderr) == (0, CODE, "agentcode: not run\n")
    again = agentcode("gen", "--no-verify", "sum", "-m", model, env=QUIET)
    assert again.returncode == 0
    assert served(1)  # the second only: the first was declined, and ran in process


def test_help_is_not_sent_to_the_helper(helper: dict[str, Any]) -> None:
    done = agentcode("gen", "--help")
    assert done.returncode == 0 and "PROMPT" in done.stdout
    assert served(0)


def test_the_masters_imports_start_no_thread() -> None:
    # The master forks: a thread started by one of gen's or run's imports would leave its
    # locks held in every child. (`serve` refuses to fork then; this says which import.)
    code = ("import threading\nfrom agentcode.cli import run_helper\nrun_helper._preload()\n"
            "import sys\nprint(threading.active_count(), 'agentcode.models.local_model' in "
            "sys.modules, 'strands' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.split() == ["1", "True", "True"], done


def test_four_gens_at_once_each_get_their_own_answer(helper: dict[str, Any],
                                                     tmp_path: Path) -> None:
    def one(n: int) -> subprocess.CompletedProcess[str]:
        model = script(tmp_path, [f"```python\nprint({n} * 11)\n```"], name=f"s{n}")
        return agentcode("gen", "--verify", f"print {n * 11}", "-m", model, env=QUIET)

    results = at_once(one, 4)
    assert {n: (r.returncode, r.stdout) for n, r in results.items()} == {
        n: (0, f"print({n} * 11)\n") for n in range(4)}
    assert served(4)
