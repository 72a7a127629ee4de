"""The root command group, which imports a command's module only when that command runs.

Building every command's parameters (Typer evaluates each signature) and importing every
command module cost `agentcode run` ~80 ms before it did anything. Here the group knows each
command by name, module and one-line summary: `agentcode --help` and shell completion list
them from that table, and only the command being run (or asked for its own --help) is
imported and built. tests/cli/test_lazy.py checks that every summary is the real command's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True, slots=True)
class Lazy:
    """A command known by name: the module whose ``register(app)`` adds it, and its summary
    (the first paragraph of its help, shown in the command list and by completion)."""

    module: str
    summary: str


# In the order `agentcode --help` lists them (Typer lists commands before groups).
COMMANDS: dict[str, Lazy] = {
    "gen": Lazy("agentcode.cli.gen_cmd", "Write a Python program for PROMPT."),
    "run": Lazy("agentcode.cli.run_cmd",
                "Run a Python program in the sandbox, like `python script.py`."),
    "repl": Lazy("agentcode.cli.repl_cmd",
                 "Talk to the model, see the code, run it, keep the variables."),
    "models": Lazy("agentcode.cli.models_cmd", "List model names and sandboxes, and whether "
                   "each is usable here (no network calls)."),
    "doctor": Lazy("agentcode.cli.doctor_cmd", "Check the sandbox, the embedded model, AWS and "
                   "the history database (no network calls\nunless --online)."),
    "schema": Lazy("agentcode.cli.schema_cmd", "Print the JSON Schema of the JSON that gen, run, "
                   "history and doctor print with --json."),
    "mcp": Lazy("agentcode.cli.mcp_cmd", "Serve agentcode as an MCP server over stdio (for "
                "Claude Desktop, IDEs, agents)."),
    "serve": Lazy("agentcode.cli.serve_cmd",
                  "Serve the web app and the HTTP/WebSocket API (docs/api.md)."),
    "model": Lazy("agentcode.cli.model_cmd",
                  "Show or stop the embedded model kept loaded between gens."),
    "history": Lazy("agentcode.cli.history_cmd", "Show, search, export and delete the history "
                    "of gen and run (newest first)."),
    "sandbox": Lazy("agentcode.cli.sandbox_cmd", "Manage the packages sandboxed code may import "
                    "(pandas, matplotlib, ...)."),
}


class _Listed(TyperCommand):
    """What the list of commands shows for a command not loaded yet: its name and summary."""

    def __init__(self, name: str, summary: str) -> None:
        super().__init__(name, help=summary)


def load(name: str) -> Any:
    """The real click command for ``name``: its module imported, its parameters built and its
    help texts escaped (`plain_help`)."""
    spec = COMMANDS[name]
    holder = typer.Typer()
    import_module(spec.module).register(holder)
    return plain_help(typer.main.get_group(holder).commands[name])


# What rich reads as a markup tag (rich.markup.escape's pattern, without importing rich here).
_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def _escape_markup(text: str) -> str:
    return _TAG.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", text)


def plain_help(command: Any) -> Any:
    """Our help texts are plain text, but Typer renders them as rich markup, where the
    `[sandbox]` of "the config file's [sandbox] packages" would vanish: escape them all."""
    if getattr(command, "help", None):
        command.help = _escape_markup(command.help)
    for param in getattr(command, "params", ()):
        if getattr(param, "help", None):
            param.help = _escape_markup(param.help)
    for sub in (getattr(command, "commands", None) or {}).values():
        plain_help(sub)
    return command


class LazyGroup(TyperGroup):
    """A Typer group whose commands are placeholders until one is resolved to be run."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, spec in COMMANDS.items():
            self.commands.setdefault(name, _Listed(name, spec.summary))

    def load(self, name: str) -> Any:
        command = self.commands.get(name)
        if isinstance(command, _Listed):
            command = self.commands[name] = load(name)
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, _Listed):
            command = self.load(name)
        return name, command, rest
