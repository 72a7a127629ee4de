"""`agentcode sandbox add/remove/list/sync/path`, offline against a directory of tiny wheels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli
from wheels import build_wheel, offline_index


@pytest.fixture(autouse=True)
def wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "wheels"
    directory.mkdir()
    build_wheel(directory, "tinycalc", "0.3", body="def double(x): return 2 * x\n")
    build_wheel(directory, "tinyplot", "1.1", requires=["tinycalc"])
    offline_index(monkeypatch, directory)
    return directory


def test_add_list_path_and_remove(agentcode_home: Path) -> None:
    added = run_cli(["sandbox", "add", "tinyplot"])
    assert added.exit_code == 0, added.stderr
    assert added.stdout == ""
    assert "installing tinyplot" in added.stderr
    assert "installed tinycalc 0.3, tinyplot 1.1" in added.stderr
    listed = run_cli(["sandbox", "list", "--json"])
    assert json.loads(listed.stdout) == [
        {"name": "tinycalc", "version": "0.3", "requested": False},
        {"name": "tinyplot", "version": "1.1", "requested": True},
    ]
    text = run_cli(["sandbox", "list"]).stdout.splitlines()
    assert text == ["tinycalc  0.3  (dependency)", "tinyplot  1.1"]
    path = Path(run_cli(["sandbox", "path"]).stdout.strip())
    assert path.parent == agentcode_home / "sandbox-env" and (path / "tinyplot").is_dir()
    removed = run_cli(["sandbox", "remove", "tinyplot"])
    assert removed.exit_code == 0 and "removed tinycalc, tinyplot" in removed.stderr
    assert run_cli(["sandbox", "list", "--json"]).stdout.strip() == "[]"


def test_code_run_by_the_cli_imports_the_added_package() -> None:
    assert run_cli(["sandbox", "add", "tinycalc"]).exit_code == 0
    result = run_cli(["run", "-"], stdin="import tinycalc\nprint(tinycalc.double(21))\n")
    assert (result.exit_code, result.stdout) == (0, "42\n")


def test_a_bad_name_is_one_line_and_exit_2() -> None:
    assert run_cli(["sandbox", "add", "tinycalc"]).exit_code == 0
    result = run_cli(["sandbox", "add", "tinycalk"])
    assert result.exit_code == 2
    [line] = [x for x in result.stderr.splitlines() if x.startswith("agentcode: error:")]
    assert "No matching distribution found for tinycalk" in line and "unchanged" in line
    assert "Traceback" not in result.stderr
    assert "tinycalc" in run_cli(["sandbox", "list"]).stdout


def test_sync_installs_exactly_the_configured_packages(agentcode_home: Path) -> None:
    assert run_cli(["sandbox", "add", "tinyplot"]).exit_code == 0
    (agentcode_home / "config.toml").write_text('[sandbox]\npackages = ["tinycalc"]\n')
    assert run_cli(["sandbox", "sync"]).exit_code == 0
    listed = json.loads(run_cli(["sandbox", "list", "--json"]).stdout)
    assert [(p["name"], p["requested"]) for p in listed] == [("tinycalc", True)]


def test_sync_without_configured_packages_and_path_before_any_install() -> None:
    sync = run_cli(["sandbox", "sync"])
    assert sync.exit_code == 2 and "[sandbox] packages" in sync.stderr
    path = run_cli(["sandbox", "path"])
    assert path.exit_code == 2 and "agentcode sandbox add" in path.stderr
    empty = run_cli(["sandbox", "list"])
    assert empty.exit_code == 0 and empty.stdout == "" and "standard library only" in empty.stderr
