"""`agentcode run` starts its jail before its imports (cli/entry.py), and nothing on its path
sleeps: the jail's end is waited for, the history entry is written on a thread of its own.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentcode.cli import entry
from agentcode.sandbox.local import cgroup, spare

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("args", "wanted"), [
    (["run", "prog.py"], True),
    (["run", "--sandbox", "local", "prog.py", "--sandbox", "x"], True),
    (["run", "--sandbox=local", "prog.py"], True),
    (["run", "--sandbox", "unsafe", "prog.py"], False),
    (["run", "--sandbox=agentcore", "prog.py"], False),
    (["run", "--help"], False),
    (["run", "prog.py", "-h"], False),  # the program's option, but nothing is lost by waiting
    (["gen", "print 1"], False),
    (["--debug", "run", "prog.py"], False),
    ([], False),
])
def test_which_command_lines_start_a_jail_early(args: list[str], wanted: bool) -> None:
    assert entry._wants_local_jail(args) is wanted


def test_the_early_jail_is_the_one_run_uses_and_no_other_is_kept(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import agentcode

    monkeypatch.setenv("AGENTCODE_DB", str(tmp_path / "history.db"))
    try:
        assert entry.start_jail_early(["run", "--sandbox", "local", "prog.py"])
        kept = spare._spare
        assert kept is not None and kept.once
        done = agentcode.execute("print(6 * 7)", timeout=7)
        assert done.stdout == "42\n"
        assert kept.handed_out == 1
        assert spare._spare is kept and kept._ready is None and kept._stopped  # no refill
    finally:
        spare.stop()


def test_an_unused_early_jail_is_closed_and_leaves_nothing() -> None:
    assert entry.start_jail_early(["run", "--sandbox", "local", "prog.py"])
    kept = spare._spare
    assert kept is not None
    kept._hurry.set()
    assert kept._making is not None
    kept._making.join(20)
    jail = kept._ready
    assert jail is not None
    dirs = list(jail._cgroup.dirs) if jail._cgroup is not None else []
    spare.stop()
    assert jail._worker is None and all(not Path(d).exists() for d in dirs)


def test_nothing_on_runs_path_sleeps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A one-shot execute and its session's close: no time.sleep anywhere (waits block on fds
    or pidfds), and the history entry is written."""
    import agentcode
    from agentcode.store import open_store

    slept: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: slept.append(seconds) or real_sleep(seconds))
    monkeypatch.setattr(cgroup.time, "sleep", time.sleep)
    db = tmp_path / "history.db"
    done = agentcode.execute("print(1)", settings=agentcode.load_settings(db=str(db)))
    assert done.stdout == "1\n"
    assert slept == []
    with open_store(db) as store:
        assert [e.code for e in store.list()] == ["print(1)"]


def test_python_m_agentcode_runs_through_the_early_start() -> None:
    done = subprocess.run([sys.executable, "-m", "agentcode", "run", "--no-history", "-"],
                          input="import sys; print(sys.argv)\n", capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['-']\n"
