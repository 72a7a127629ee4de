"""Recording never breaks gen or run: a broken history gives one warning and carries on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcode.config import Settings
from agentcode.store import (
    open_store,
    record_execution_safely,
    record_generation_safely,
    record_safely,
    reset_warning,
)
from agentcode.types import Execution, Generation

WARNING = "agentcode: warning: history not saved: "


@pytest.fixture(autouse=True)
def fresh_warning() -> Iterator[None]:
    reset_warning()
    yield
    reset_warning()


def test_records_and_returns_the_entry_id(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "h.db"))
    gen_id = record_generation_safely(
        settings, Generation(code="print(1)", model_id="m"), session_id="s"
    )
    run_id = record_execution_safely(
        settings, "print(1)", Execution(stdout="1\n"), session_id="s", prompt="one"
    )
    assert gen_id is not None and run_id is not None and run_id > gen_id
    with open_store(settings=settings) as store:
        assert [e.kind for e in store.conversation("s")] == ["gen", "run"]
        assert store.get(run_id).prompt == "one"  # type: ignore[union-attr]


def test_history_off_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(db=str(tmp_path / "h.db"), history=False)
    assert record_execution_safely(settings, "x", Execution()) is None
    assert not (tmp_path / "h.db").exists()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kind", ["under-a-file", "corrupt", "directory"])
def test_broken_database_warns_once_and_does_not_raise(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if kind == "under-a-file":
        db = "/dev/null/x.db"  # we run as root: a path under a file is unwritable even so
    elif kind == "corrupt":
        db = str(tmp_path / "corrupt.db")
        Path(db).write_bytes(os.urandom(8192))
    else:
        db = str(tmp_path)  # a directory where the file should be
    settings = Settings(db=db)
    assert record_execution_safely(settings, "print(1)", Execution()) is None
    assert record_generation_safely(settings, Generation(code="x", model_id="m")) is None
    assert record_safely(settings, lambda store: store.count()) is None
    err = capsys.readouterr().err
    assert err.count("agentcode: warning:") == 1, err
    assert err.startswith(WARNING) and err.endswith("(use --no-history to silence)\n")
    assert len(err.splitlines()) == 1
    if kind == "corrupt":
        assert "not a database" in err


def test_errors_inside_the_store_call_are_contained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(store: object) -> int:
        raise ValueError("disk on fire")

    assert record_safely(Settings(db=str(tmp_path / "h.db")), broken) is None
    assert capsys.readouterr().err == WARNING + "disk on fire (use --no-history to silence)\n"


SCRIPT = textwrap.dedent(
    """
    from agentcode.config import load_settings
    from agentcode.store import record_execution_safely
    from agentcode.types import Execution
    settings = load_settings()
    print(record_execution_safely(settings, "print(1)", Execution()))
    print(record_execution_safely(settings, "print(2)", Execution()))
    """
)


@pytest.mark.parametrize("db", ["/dev/null/x.db", "corrupt"])
def test_a_real_process_gets_exactly_one_warning(db: str, tmp_path: Path) -> None:
    if db == "corrupt":
        db = str(tmp_path / "bad.db")
        Path(db).write_bytes(b"this is not SQLite at all\n" * 400)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env={**os.environ, "AGENTCODE_DB": db},
    )
    assert result.returncode == 0
    assert result.stdout == "None\nNone\n"
    assert result.stderr.count(WARNING) == 1 and "Traceback" not in result.stderr


def test_no_history_env_turns_recording_off(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env={**os.environ, "AGENTCODE_DB": str(db), "AGENTCODE_NO_HISTORY": "1"},
    )
    assert result.returncode == 0 and result.stdout == "None\nNone\n" and result.stderr == ""
    assert not db.exists()


def test_a_writer_tags_its_entries_and_keeps_one_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcode.store import HistoryWriter, sqlite

    opened: list[object] = []
    real_open = sqlite.open_store

    def counting_open(*args: object, **kwargs: object) -> object:
        opened.append(args)
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("agentcode.store.recording.open_store", counting_open)
    settings = Settings(db=str(tmp_path / "h.db"))
    writer = HistoryWriter(settings, session_id="S1")
    first = writer.execution("a = 1", Execution())
    second = writer.generation(Generation(code="print(a)", model_id="m", prompt="show a"))
    writer.close()
    assert len(opened) == 1
    with open_store(settings=settings) as store:
        assert [e.code for e in store.conversation("S1")] == ["a = 1", "print(a)"]
        assert store.get(first).session_id == "S1"  # type: ignore[arg-type, union-attr]
        assert store.get(second).prompt == "show a"  # type: ignore[arg-type, union-attr]


def test_a_writer_with_history_off_opens_nothing(tmp_path: Path) -> None:
    from agentcode.store import HistoryWriter

    writer = HistoryWriter(Settings(db=str(tmp_path / "h.db"), history=False), session_id="S")
    assert writer.execution("x", Execution()) is None
    assert not (tmp_path / "h.db").exists()


def test_a_writer_recovers_after_the_store_is_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentcode.store import HistoryWriter

    blocker = tmp_path / "not-yet"
    blocker.write_text("a file where the database's directory should be")
    settings = Settings(db=str(blocker / "h.db"))
    writer = HistoryWriter(settings)
    assert writer.execution("lost", Execution()) is None
    blocker.unlink()
    assert writer.execution("kept", Execution()) is not None
    writer.close()
    assert capsys.readouterr().err.count(WARNING) == 1


def test_importing_the_public_layer_does_not_import_sqlite() -> None:
    probe = ("import sys, agentcode.api.session, agentcode.api.execution; "
             "print('sqlite3' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout == "False\n", result.stderr


def slow_store(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    from agentcode.store.sqlite import HistoryStore

    real = HistoryStore.record_execution

    def slow(self: HistoryStore, *args: object, **kwargs: object) -> int:
        time.sleep(seconds)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(HistoryStore, "record_execution", slow)


def test_a_session_run_does_not_wait_for_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcode.api.session import Session

    slow_store(monkeypatch, 0.5)
    settings = Settings(db=str(tmp_path / "h.db"), sandbox="unsafe")
    with Session(settings=settings) as session:
        session.execute("x = 1")
        started = time.monotonic()
        session.execute("x += 1")
        assert time.monotonic() - started < 0.4  # the write happens on the writer thread
        # Reading the store in this process waits for what is queued.
        assert [e.code for e in session.entries()] == ["x = 1", "x += 1"]


def test_two_sessions_write_at_once_without_waiting_for_each_other(tmp_path: Path) -> None:
    from agentcode.store import HistoryWriter

    settings = Settings(db=str(tmp_path / "h.db"))
    writers = [HistoryWriter(settings, session_id=f"S{i}", background=True) for i in range(2)]
    for round_ in range(20):
        for writer in writers:
            writer.execution(f"x = {round_}", Execution())
    for writer in writers:
        writer.close()
    with open_store(settings=settings) as store:
        assert [len(store.conversation(f"S{i}")) for i in range(2)] == [20, 20]


def test_queued_entries_are_written_when_the_process_exits(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    script = textwrap.dedent(
        """
        from agentcode.api.session import Session
        session = Session(sandbox="unsafe")
        session.execute("print(1)")
        session.execute("print(2)")
        # no close(): the interpreter's exit flushes the writer
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "AGENTCODE_DB": str(db)}, timeout=60)
    assert result.returncode == 0, result.stderr
    with open_store(db) as store:
        assert sorted(e.code or "" for e in store.list()) == ["print(1)", "print(2)"]


def test_history_is_complete_after_many_runs_and_after_close(tmp_path: Path) -> None:
    from agentcode.api.session import Session

    settings = Settings(db=str(tmp_path / "h.db"), sandbox="unsafe")
    runs = 700  # more than one writer batch holds
    with Session(settings=settings) as first, Session(settings=settings) as second:
        first.execute("x = 0")
        for i in range(runs):
            first.execute("x += 1")
            if i % 100 == 0:
                second.execute(f"y = {i}")
        first_id, second_id = first.id, second.id
    with open_store(settings=settings) as store:
        assert len(store.conversation(first_id)) == runs + 1
        assert [e.code for e in store.conversation(second_id)] == [
            f"y = {i}" for i in range(0, runs, 100)]


def test_a_read_right_after_a_run_sees_it(tmp_path: Path) -> None:
    from agentcode.api.session import Session

    settings = Settings(db=str(tmp_path / "h.db"), sandbox="unsafe")
    with Session(settings=settings) as session:
        for i in range(3):
            session.execute(f"print({i})")
            # Another connection in this process, opened at once: the queued entry is there.
            with open_store(settings=settings) as store:
                assert [e.code for e in store.list(limit=None)][0] == f"print({i})"
            assert [e.stdout for e in session.entries()][-1] == f"{i}\n"


def test_sessions_on_one_file_share_one_writer_thread(tmp_path: Path) -> None:
    import threading

    from agentcode.store import HistoryWriter

    def writer_threads() -> int:
        return sum(t.name == "agentcode-history-writer" for t in threading.enumerate())

    before = writer_threads()
    settings = Settings(db=str(tmp_path / "h.db"))
    writers = [HistoryWriter(settings, session_id=f"S{i}", background=True) for i in range(5)]
    for writer in writers:
        writer.execution("x = 1", Execution())
    assert writer_threads() == before + 1
    writers[0].close()  # the others still write through it
    writers[1].execution("x = 2", Execution())
    for writer in writers[1:]:
        writer.close()
    assert writer_threads() == before
    with open_store(settings=settings) as store:
        assert [len(store.conversation(f"S{i}")) for i in range(5)] == [1, 2, 1, 1, 1]


def test_an_entry_that_fails_costs_no_other_entry_of_its_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentcode.store import HistoryWriter

    settings = Settings(db=str(tmp_path / "h.db"))
    writer = HistoryWriter(settings, session_id="S", background=True)
    writer.execution("before", Execution())

    def broken(store: object) -> None:
        store.record_execution("half-written", Execution(), session_id="S")  # type: ignore
        raise RuntimeError("the entry could not be made")

    writer.write(broken)
    writer.execution("after", Execution())
    writer.close()
    with open_store(settings=settings) as store:
        assert [e.code for e in store.conversation("S")] == ["before", "after"]
    assert capsys.readouterr().err.count(WARNING) == 1
