from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_matches_the_real_help() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_brackets_in_help_texts_survive_rich_markup() -> None:
    """Typer renders help as rich markup: a `[sandbox]` in a help text must still be shown."""
    import typer.main

    from agentcode.cli.app import app
    from agentcode.cli.lazy import _TAG

    def texts(command: object) -> list[str]:
        found = [getattr(command, "help", None) or ""]
        found += [getattr(p, "help", None) or "" for p in getattr(command, "params", ())]
        load = getattr(command, "load", None)  # the root loads a command on use
        for name, sub in (getattr(command, "commands", None) or {}).items():
            found += texts(load(name) if callable(load) else sub)
        return found

    tags = {m.group(2) for text in texts(typer.main.get_command(app)) for m in _TAG.finditer(text)}
    assert "[sandbox]" in tags  # `sandbox sync`'s help names the config table
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert sorted(tag for tag in tags if tag not in reference) == []
