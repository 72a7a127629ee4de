"""`agentcode model status|stop`: the embedded model kept warm between `gen`s.

The first `gen` on the embedded model leaves it loaded in a background process of the user's
own for ``local_keep_alive`` seconds (default 300; 0 turns it off, and so does ``CI`` unless
configured): see agentcode/models/warm.py.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

model_app = typer.Typer(
    help="Show or stop the embedded model kept loaded between gens.\n\n"
    "The first gen on the embedded model keeps it loaded in a background process for "
    "local_keep_alive seconds (default 300; 0: off, also when CI is set unless configured).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")


@model_app.command("status")
def status(
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """List the warm model processes: model, process id, address, idle time."""
    from agentcode.config import load_settings
    from agentcode.models.warm import keep_alive_seconds, running

    keep_alive = keep_alive_seconds(load_settings())
    warm = running()
    if json_output:
        sys.stdout.write(json.dumps({"keep_alive": keep_alive, "running": warm}, indent=2) + "\n")
        return
    if not warm:
        state = f"keep-alive {keep_alive:g} s" if keep_alive > 0 else "keep-alive off"
        sys.stdout.write(f"no warm model ({state})\n")
        return
    for info in warm:
        sys.stdout.write(
            f"{info.get('model_path')}: process {info.get('pid')} at {info.get('base_url')}, "
            f"idle {info.get('idle_seconds', 0):.0f} s of {float(info.get('keep_alive', 0)):g} s\n")


@model_app.command("stop")
def stop() -> None:
    """Stop every warm model process of yours now (the next gen loads the model again)."""
    from agentcode.models.warm import stop_all

    count = stop_all()
    sys.stderr.write(f"agentcode: stopped {count} warm model process{'es' if count != 1 else ''}\n")
