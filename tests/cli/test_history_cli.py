"""`agentcode history` and its subcommands, piped (plain text and JSON) and their exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentcode.cli.app import main
from agentcode.store import open_store
from agentcode.types import Attempt, Execution, ExecutionError, Generation, HistoryEntry


@pytest.fixture
def db(agentcode_home: Path) -> Path:
    """The default database (in AGENTCODE_HOME) with a gen, a good run and a failed run."""
    with open_store() as store:
        store.record_generation(
            Generation(
                code="import math\nprint(math.sqrt(2))",
                model_id="qwen",
                prompt="square root of two",
                attempts=[Attempt(model="qwen")],
            ),
            session_id="sess-a",
        )
        store.record_execution(
            "import math\nprint(math.sqrt(2))",
            Execution(stdout="1.4142135623730951\n", backend="local"),
            session_id="sess-a",
        )
        store.record_execution(
            "1/0",
            Execution(
                error=ExecutionError(
                    "ZeroDivisionError", "division by zero", "ZeroDivisionError: division by zero\n"
                ),
                exit_code=1,
                backend="local",
            ),
        )
        return store.path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def ids_of(tsv: str) -> list[int]:
    return [int(line.split("\t")[0]) for line in tsv.splitlines()]


def test_history_without_subcommand_is_list(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "history")
    assert code == 0 and err == ""
    assert cli(capsys, "history", "list") == (0, out, "")
    lines = [line.split("\t") for line in out.splitlines()]
    assert [row[0] for row in lines] == ["3", "2", "1"]  # newest first
    assert lines[0][2:5] == ["run", "ZeroDivisionError", "-"]
    assert lines[2][2:7] == ["gen", "not run", "sess-a", "qwen", "square root of two"]
    assert lines[1][6] == "import math"  # no prompt: the first line of code


def test_list_filters_and_limit(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ids_of(cli(capsys, "history", "-n", "1")[1]) == [3]
    assert ids_of(cli(capsys, "history", "list", "--limit", "2")[1]) == [3, 2]
    assert ids_of(cli(capsys, "history", "list", "--kind", "gen")[1]) == [1]
    assert ids_of(cli(capsys, "history", "list", "--session", "sess-a")[1]) == [2, 1]
    assert ids_of(cli(capsys, "history", "--failed")[1]) == [3]


def test_list_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "history", "list", "--json", "--kind", "run")
    data = json.loads(out)
    assert code == 0 and [d["id"] for d in data] == [3, 2]
    assert HistoryEntry.from_dict(data[0]).error == "ZeroDivisionError"
    assert data[1]["stdout"] == "1.4142135623730951\n"


def test_bad_options_are_usage_errors(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "history", "list", "--kind", "walk")
    assert code == 2 and out == "" and "--kind" in err
    code, out, err = cli(capsys, "history", "-n", "0")
    assert code == 2 and out == ""


def test_empty_or_missing_database_lists_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "none" / "h.db"
    assert cli(capsys, "history", "--db", str(missing)) == (0, "", "")
    assert cli(capsys, "history", "list", "--json", "--db", str(missing)) == (0, "[]\n", "")
    assert not missing.parent.exists()  # reading never creates a database


def test_show_plain_code_and_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "history", "show", "3")
    assert code == 0
    assert "status: ZeroDivisionError" in out and "exit_code: 1" in out
    assert (
        "--- code ---\n1/0\n" in out
        and "--- stderr ---\nZeroDivisionError: division by zero\n" in out
    )
    code, out, _ = cli(capsys, "history", "show", "1")
    assert "--- prompt ---\nsquare root of two\n" in out and "attempt: qwen: ok" in out
    assert cli(capsys, "history", "show", "2", "--code") == (
        0,
        "import math\nprint(math.sqrt(2))\n",
        "",
    )
    code, out, _ = cli(capsys, "history", "show", "2", "--json")
    assert json.loads(out)["backend"] == "local" and json.loads(out)["session_id"] == "sess-a"


def test_show_unknown_or_bad_id(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "history", "show", "99")
    assert (code, out) == (2, "")
    assert err == "agentcode: error: no history entry 99: see `agentcode history list`\n"
    code, out, err = cli(capsys, "history", "show", "abc")
    assert code == 2 and out == "" and "Traceback" not in err


def test_search(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ids_of(cli(capsys, "history", "search", "sqrt")[1]) == [2, 1]
    assert ids_of(cli(capsys, "history", "search", "sqrt", "-n", "1")[1]) == [2]
    assert ids_of(cli(capsys, "history", "search", "ZeroDivisionError")[1]) == [3]
    code, out, _ = cli(capsys, "history", "search", "square", "--json")
    assert [d["id"] for d in json.loads(out)] == [1]
    assert cli(capsys, "history", "search", "nothing-like-this") == (0, "", "")


def test_search_with_fts_syntax_errors_never_tracebacks(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for text in ("math.sqrt(", 'unbalanced "quote', "AND", "col:umn:x", "*"):
        code, out, err = cli(capsys, "history", "search", text)
        assert code == 0, (text, err)
        assert "Traceback" not in err and "error" not in err
    assert ids_of(cli(capsys, "history", "search", "math.sqrt(")[1]) == [2, 1]
    code, out, err = cli(capsys, "history", "search", "  ")
    assert (code, out) == (2, "") and "nothing to search for" in err


def test_export_to_stdout_and_file(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = cli(capsys, "history", "export")
    assert code == 0 and err == ""
    entries = [HistoryEntry.from_dict(json.loads(line)) for line in out.splitlines()]
    assert [e.id for e in entries] == [1, 2, 3]
    target = tmp_path / "out.jsonl"
    code, out, err = cli(capsys, "history", "export", "-o", str(target))
    assert (code, out) == (0, "") and "exported 3 entries" in err
    assert target.read_text().splitlines() == [e.to_json() for e in entries]
    code, out, err = cli(capsys, "history", "export", "-o", str(tmp_path))
    assert code == 2 and "is a directory" in err


def test_rm(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "history", "rm", "1", "7", "8")
    assert (code, out) == (2, "")
    assert "no history entries with id 7, 8" in err and "nothing deleted" in err
    assert ids_of(cli(capsys, "history")[1]) == [3, 2, 1]  # all or nothing
    assert cli(capsys, "history", "rm", "1", "3") == (0, "", "agentcode: deleted 2 entries\n")
    assert ids_of(cli(capsys, "history")[1]) == [2]
    assert ids_of(cli(capsys, "history", "search", "square")[1]) == []


def test_clear_needs_yes_when_not_on_a_terminal(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "history", "clear")
    assert (code, out) == (2, "")
    assert err == (
        "agentcode: error: refusing to clear the history without confirmation: pass --yes\n"
    )
    assert len(ids_of(cli(capsys, "history")[1])) == 3
    assert cli(capsys, "history", "clear", "--yes") == (0, "", "agentcode: deleted 3 entries\n")
    assert cli(capsys, "history") == (0, "", "")


def test_path_and_db_overrides(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(capsys, "history", "path") == (0, f"{db}\n", "")
    other = tmp_path / "other.db"
    assert cli(capsys, "history", "path", "--db", str(other)) == (0, f"{other}\n", "")
    assert cli(capsys, "history", "--db", str(other), "path") == (0, f"{other}\n", "")
    monkeypatch.setenv("AGENTCODE_DB", str(other))
    assert cli(capsys, "history", "path") == (0, f"{other}\n", "")
    with open_store(other) as store:
        store.record_execution("print('other')", Execution(stdout="other\n"))
    assert ids_of(cli(capsys, "history")[1]) == [1]
    assert ids_of(cli(capsys, "history", "--db", str(db))[1]) == [3, 2, 1]
    assert ids_of(cli(capsys, "history", "search", "sqrt", "--db", str(db))[1]) == [2, 1]


def test_corrupt_database_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    for args in (
        ["history"],
        ["history", "show", "1"],
        ["history", "search", "x"],
        ["history", "export"],
        ["history", "rm", "1"],
        ["history", "clear", "--yes"],
    ):
        code, out, err = cli(capsys, *args, "--db", str(bad))
        assert (code, out) == (1, ""), args
        assert err.startswith("agentcode: error: cannot use the history database")
        assert "pass --db PATH" in err and len(err.splitlines()) == 1


def test_history_cli_does_not_put_sqlite_on_the_run_import_path() -> None:
    probe = (
        "import sys, agentcode.cli.app; "
        "print(sorted(m for m in sys.modules if m == 'sqlite3' or m.startswith('agentcode.store')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"
