"""The history store's API against a real SQLite file."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest

from agentcode.config import Settings, load_settings
from agentcode.errors import UsageError
from agentcode.store import HistoryStore, open_store, resolve_path
from agentcode.store.migrations import MIGRATIONS
from agentcode.store.scrub import OUTPUT_CAP_BYTES
from agentcode.types import Attempt, Execution, ExecutionError, Generation, HistoryEntry


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with open_store(tmp_path / "h.db") as opened:
        yield opened  # type: ignore[misc]


def failing_run() -> Execution:
    return Execution(
        stdout="before\n",
        error=ExecutionError(
            "ZeroDivisionError",
            "division by zero",
            "Traceback (most recent call last):\nZeroDivisionError: division by zero\n",
        ),
        exit_code=1,
        duration_ms=3.5,
        backend="local",
    )


def test_generation_is_recorded_with_its_attempts(store: HistoryStore) -> None:
    gen = Generation(
        code="print(sum(range(10)))",
        model_id="qwen",
        prompt="sum of 0..9",
        attempts=[Attempt(model="bedrock", error="throttled"), Attempt(model="qwen")],
        verified=True,
        duration_ms=12.0,
    )
    entry_id = store.record_generation(gen, session_id="s1")
    entry = store.get(entry_id)
    assert entry is not None
    assert (entry.kind, entry.prompt, entry.code, entry.model) == (
        "gen",
        "sum of 0..9",
        "print(sum(range(10)))",
        "qwen",
    )
    assert [a["model"] for a in entry.attempts] == ["bedrock", "qwen"]
    assert entry.attempts[0]["error"] == "throttled"
    assert entry.verified is True
    assert entry.session_id == "s1"
    assert entry.exit_code is None
    assert entry.created_at.endswith("Z") and "T" in entry.created_at


def test_failed_execution_keeps_error_name_and_traceback(store: HistoryStore) -> None:
    entry_id = store.record_execution("1/0", failing_run(), prompt="divide")
    entry = store.get(entry_id)
    assert entry is not None
    assert entry.kind == "run" and entry.error == "ZeroDivisionError" and entry.exit_code == 1
    assert entry.stdout == "before\n"
    assert "ZeroDivisionError: division by zero" in (entry.stderr or "")
    assert entry.backend == "local" and entry.prompt == "divide" and entry.failed


def test_only_an_explicit_session_id_tags_an_entry(store: HistoryStore) -> None:
    # A one-shot run's sandbox session is not a conversation: it must not become "the last session".
    one_shot = store.record_execution("x = 1", Execution(session_id="sandbox-123"))
    assert store.get(one_shot).session_id is None  # type: ignore[union-attr]
    tagged = store.record_execution("x = 1", Execution(session_id="sandbox-123"), session_id="S")
    assert store.get(tagged).session_id == "S"  # type: ignore[union-attr]
    assert store.last_session_id() == "S"


def test_list_is_newest_first_and_filters(store: HistoryStore) -> None:
    a = store.record_generation(
        Generation(code="print(1)", model_id="m", prompt="one"), session_id="s1"
    )
    b = store.record_execution("print(1)", Execution(stdout="1\n"), session_id="s1")
    c = store.record_execution("1/0", failing_run(), session_id="s2")
    d = store.record_execution("raise SystemExit(3)", Execution(exit_code=3))
    assert [e.id for e in store.list()] == [d, c, b, a]
    assert [e.id for e in store.list(limit=2)] == [d, c]
    assert [e.id for e in store.list(session="s1")] == [b, a]
    assert [e.id for e in store.list(kind="gen")] == [a]
    assert [e.id for e in store.list(failed=True)] == [d, c]
    assert [e.id for e in store.list(kind="run", session="s2", failed=True)] == [c]
    with pytest.raises(UsageError):
        store.list(kind="other")


def test_get_unknown_is_none_and_missing_lists_unknown_ids(store: HistoryStore) -> None:
    a = store.record_execution("pass", Execution())
    assert store.get(a + 100) is None
    assert store.missing([a, a + 1, a + 7, a + 1]) == [a + 1, a + 7]


def test_output_is_capped_with_a_note_of_what_was_dropped(store: HistoryStore) -> None:
    big = "é" * OUTPUT_CAP_BYTES  # two bytes each: twice the cap
    execution = Execution(stdout=big, stderr="e" * (OUTPUT_CAP_BYTES + 10), stdout_dropped=5)
    entry = store.get(store.record_execution("print('é' * n)", execution))
    assert entry is not None and entry.stdout is not None and entry.stderr is not None
    assert len(entry.stdout.encode()) == OUTPUT_CAP_BYTES
    assert entry.stdout_dropped == OUTPUT_CAP_BYTES + 5  # the sandbox's 5 plus the store's cut
    assert len(entry.stderr) == OUTPUT_CAP_BYTES and entry.stderr_dropped == 10


def test_undecodable_output_is_stored_not_refused(store: HistoryStore) -> None:
    text = b"ok \xff\xfe".decode("utf-8", errors="surrogateescape")
    entry = store.get(store.record_execution("x", Execution(stdout=text)))
    assert entry is not None and entry.stdout == "ok \ufffd\ufffd"


def test_aws_secrets_are_redacted_and_env_never_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AGENTCODE_TEST_TOKEN", "env-sentinel-6d1f")
    path = tmp_path / "h.db"
    with open_store(path) as store:
        entry_id = store.record_execution(
            "import os; print(os.environ)",
            Execution(
                stdout=f"AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {secret}\n",
                stderr=f"{{'AWS_SECRET_ACCESS_KEY': '{secret}'}}",
            ),
            prompt=f"use key AKIAIOSFODNN7EXAMPLE with aws_secret_access_key={secret}",
        )
        entry = store.get(entry_id)
        assert entry is not None
        assert entry.stdout == "[REDACTED]\naws_secret_access_key = [REDACTED]\n"
        assert secret not in (entry.stderr or "") and secret not in (entry.prompt or "")
        assert store.search("AKIAIOSFODNN7EXAMPLE") == []
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("h.db"))
    assert secret.encode() not in raw
    assert b"AKIAIOSFODNN7EXAMPLE" not in raw
    assert b"env-sentinel-6d1f" not in raw


def test_search_full_text_and_syntax_fallback(store: HistoryStore) -> None:
    gen = store.record_generation(
        Generation(
            code="import math\nprint(math.sqrt(2))", model_id="m", prompt="square root of two"
        )
    )
    run = store.record_execution("1/0", failing_run())
    other = store.record_execution("print('foo(bar)')", Execution(stdout="foo(bar)\n"))
    assert [e.id for e in store.search("sqrt")] == [gen]
    assert [e.id for e in store.search("square root")] == [gen]
    assert [e.id for e in store.search("ZeroDivisionError")] == [run]
    assert [e.id for e in store.search("code:math")] == [gen]  # FTS5 column filter
    # Not valid FTS5: searched as a phrase instead of failing.
    assert [e.id for e in store.search("foo(")] == [other]
    assert [e.id for e in store.search('say "hi')] == []
    assert [e.id for e in store.search("nosuchcolumn:x")] == []
    assert [e.id for e in store.search("print", limit=1)] == [other]
    with pytest.raises(UsageError):
        store.search("   ")


def test_search_index_follows_deletes(store: HistoryStore) -> None:
    a = store.record_execution("print('alpha')", Execution(stdout="alpha\n"))
    b = store.record_execution("print('alpha beta')", Execution(stdout="alpha beta\n"))
    assert store.delete([a]) == 1
    assert [e.id for e in store.search("alpha")] == [b]
    assert store.clear() == 1
    assert store.search("alpha") == [] and store.count() == 0


def test_export_is_json_lines_oldest_first(store: HistoryStore) -> None:
    ids = [store.record_execution(f"print({i})", Execution(stdout=f"{i}\n")) for i in range(3)]
    out = io.StringIO()
    assert store.export(out) == 3
    lines = out.getvalue().splitlines()
    entries = [HistoryEntry.from_dict(json.loads(line)) for line in lines]
    assert [e.id for e in entries] == ids
    assert entries == [store.get(i) for i in ids]


def test_delete_counts_only_existing(store: HistoryStore) -> None:
    a = store.record_execution("pass", Execution(), session_id="s")
    assert store.delete([a, a + 5]) == 1
    assert store.get(a) is None
    assert store.last_session_id() is None


def test_sessions_and_conversation(store: HistoryStore) -> None:
    assert store.last_session_id() is None
    first = store.record_generation(
        Generation(code="x = 2", model_id="m", prompt="set x"), session_id="A"
    )
    second = store.record_execution("x = 2", Execution(), session_id="A")
    store.record_execution("y = 1", Execution(), session_id="B")
    third = store.record_execution("print(x)", Execution(stdout="2\n"), session_id="A")
    store.record_execution("z = 0", Execution())  # no session: does not change the last one
    assert store.last_session_id() == "A"
    assert [e.id for e in store.conversation("A")] == [first, second, third]
    assert store.conversation("nope") == []


def test_transaction_rolls_back_on_error(store: HistoryStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.record_execution("a", Execution())
        store.record_execution("b", Execution())
        raise RuntimeError("boom")
    assert store.count() == 0
    with store.transaction():
        store.record_execution("a", Execution())
        store.record_execution("b", Execution())
    assert store.count() == 2


def test_migrations_are_recorded_once_in_order(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "h.db"
    open_store(path).close()
    first = sqlite3.connect(path).execute("SELECT name, applied_at FROM _migrations").fetchall()
    open_store(path).close()
    again = sqlite3.connect(path).execute("SELECT name, applied_at FROM _migrations").fetchall()
    assert [name for name, _ in first] == [name for name, _ in MIGRATIONS]
    assert again == first
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_database_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "h.db"
    open_store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_path_resolution(
    agentcode_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert resolve_path(settings=Settings()) == agentcode_home / "history.db"
    assert resolve_path() == agentcode_home / "history.db"
    monkeypatch.setenv("AGENTCODE_DB", str(tmp_path / "env.db"))
    assert resolve_path() == tmp_path / "env.db"
    assert resolve_path(settings=load_settings()) == tmp_path / "env.db"
    assert (
        resolve_path(settings=load_settings(db=str(tmp_path / "flag.db"))) == tmp_path / "flag.db"
    )
    assert (
        resolve_path(tmp_path / "explicit.db", Settings(db="ignored")) == tmp_path / "explicit.db"
    )
    with open_store() as store:
        assert store.path == tmp_path / "env.db"
    assert os.path.exists(tmp_path / "env.db")


def test_a_timed_out_run_is_recorded_as_exit_124(store: HistoryStore) -> None:
    partial = Execution(stdout="tick\ntick\n")
    entry = store.get(store.record_execution("while True: ...", partial, timed_out=True))
    assert entry is not None
    assert (entry.exit_code, entry.error, entry.stdout) == (124, "TimeoutError", "tick\ntick\n")
    assert [e.id for e in store.list(failed=True)] == [entry.id]


def test_find_session_by_id_or_unique_prefix(store: HistoryStore) -> None:
    for sid in ("abc123", "abd456", "zzz"):
        store.record_execution("pass", Execution(), session_id=sid)
    assert store.find_session("abc123") == "abc123"
    assert store.find_session("abc") == "abc123"
    assert store.find_session("z") == "zzz"
    assert store.find_session("nope") is None
    assert store.find_session("") is None
    with pytest.raises(UsageError, match="ambiguous.*abd456.*give more"):
        store.find_session("ab")
    store.delete([e.id for e in store.list(session="zzz")])
    assert store.find_session("z") is None  # a session with no entries left is gone
