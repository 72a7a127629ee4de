"""The import layers of pyproject.toml's [tool.importlinter] contracts hold (import-linter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_list_no_exceptions() -> None:
    # Circles must be broken, not excused: no ignore_imports anywhere in the contracts.
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    assert {c["type"] for c in contracts} == {"layers", "acyclic_siblings"}
    assert all("ignore_imports" not in c and "unmatched_ignore_imports_alerting" not in c
               for c in contracts)
