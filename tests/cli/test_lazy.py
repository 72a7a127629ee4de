"""The root group loads a command's module only when it runs; its list stays the real one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import typer.main

from agentcode.cli import lazy
from agentcode.cli.app import app


def test_every_summary_is_the_first_paragraph_of_the_commands_own_help() -> None:
    for name, spec in lazy.COMMANDS.items():
        real = lazy.load(name)
        assert real.name == name
        assert (real.help or "").split("\n\n")[0] == spec.summary, name


def test_the_group_lists_every_command_before_loading_any() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, lazy.LazyGroup)
    assert list(root.commands) == list(lazy.COMMANDS)
    # Typer would list these itself: nothing registered outside the table.
    assert not app.registered_commands and not app.registered_groups


def test_help_and_completion_list_commands_without_importing_them() -> None:
    probe = (
        "import sys, io, contextlib\n"
        "from agentcode.cli.app import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    main(['--help'])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('agentcode.cli.') "
        "and m.endswith('_cmd'))\n"
        "import json; print(json.dumps({'help': out.getvalue(), 'loaded': loaded}))\n"
    )
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, env=env, check=True)
    report = json.loads(done.stdout)
    assert report["loaded"] == []
    for name in lazy.COMMANDS:
        assert f" {name} " in report["help"], name
    completed = subprocess.run(
        [sys.executable, "-m", "agentcode"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "_AGENTCODE_COMPLETE": "complete_bash", "COMP_WORDS": "agentcode ",
             "COMP_CWORD": "1"},
    )
    assert completed.stdout.split() == list(lazy.COMMANDS)


def test_run_imports_only_what_it_uses() -> None:
    probe = (
        "import sys\n"
        "from agentcode.cli.app import main\n"
        "status = main(['run', '--sandbox', 'unsafe', '--no-history', '-'])\n"
        "heavy = ('agentcode.cli.gen_cmd', 'agentcode.cli.history_cmd', 'agentcode.models', "
        "'agentcode.generation', 'agentcode.cli.serve_cmd', 'strands', 'boto3', 'botocore', "
        "'httpx', 'pydantic', 'rich', 'typer.rich_utils', 'concurrent.futures', 'hashlib')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], input="print(6 * 7)\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"
    assert done.stderr.strip().splitlines()[-1] == "[]"
