"""`agentcode doctor`'s checks of the embedded model (the ``local`` provider's ``doctor``).

The 1.1 GB are not hashed again: the verified stamp written when the weights were assembled
(size, mtime, inode and sha256 of that exact file) is trusted, as at every start.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from agentcode import runtime
from agentcode.config.install import install_hint
from agentcode.registry.checks import Check, DoctorContext, Status, failed_or_warned


def check_local_model(ctx: DoctorContext) -> Iterator[Check]:
    yield from check_embedded_model(ctx)
    yield from check_warm_model(ctx)


def check_embedded_model(ctx: DoctorContext) -> Iterator[Check]:
    needed = ctx.needed(model_prefix="local")
    level = failed_or_warned(needed)
    try:
        from agentcode.models.local import local_model_status
    except ImportError as exc:
        yield Check("embedded model", level, f"cannot load its support code: {exc}",
                    install_hint("local"))
        return
    rows = local_model_status(ctx.settings)
    chosen = next((row for row in rows if row.get("default")), None)
    if chosen is None:
        spec = ctx.settings.local_model or os.environ.get("AGENTCODE_LOCAL_MODEL", "")
        yield from _custom_gguf(spec, level)
        return
    name = chosen["name"]
    if not chosen.get("runtime"):
        yield Check("embedded model", level, "the llama.cpp runtime (xllamacpp) is not installed",
                    str(chosen.get("install") or install_hint("local")))
        return
    if chosen.get("assembled"):
        yield Check("embedded model", Status.OK,
                    f"{name}: weights assembled and verified (sha256 stamp beside "
                    f"{chosen['path']}; a changed file is hashed again)")
    elif chosen.get("installed"):
        yield Check("embedded model", Status.OK,
                    f"{name}: weights installed; joined and verified on first use "
                    f"(~{chosen['size'] / 1e9:.1f} GB into {Path(chosen['path']).parent})")
    else:
        yield Check("embedded model", level, f"{name}: weights not installed",
                    str(chosen.get("install", "")))


def _custom_gguf(spec: str, level: Status) -> Iterator[Check]:
    path = Path(spec).expanduser()
    if spec and path.is_file():
        yield Check("embedded model", Status.OK, f"GGUF file {path} ({path.stat().st_size} bytes)")
    else:
        yield Check("embedded model", level, f"the local model {spec!r} was not found",
                    "set AGENTCODE_LOCAL_MODEL / local_model to a .gguf path or a known name "
                    "(agentcode models lists them)")


def check_warm_model(ctx: DoctorContext) -> Iterator[Check]:
    """Whether the embedded model stays loaded between `gen`s, and what is loaded now."""
    from agentcode.models.warm import keep_alive_seconds, running

    keep_alive = keep_alive_seconds(ctx.settings)
    warm = running()
    for state in warm:
        yield Check("warm model", Status.OK,
                    f"{Path(str(state.get('model_path'))).name} loaded in process "
                    f"{state.get('pid')}, idle {state.get('idle_seconds', 0):.0f} s of "
                    f"{float(state.get('keep_alive', 0)):g} s (`agentcode model stop` ends it)")
    if warm:
        return
    if keep_alive > 0:
        yield Check("warm model", Status.OK,
                    f"none loaded; the next gen on the embedded model keeps it loaded for "
                    f"{keep_alive:g} s")
    else:
        why = runtime.why_off(ctx.settings.local_keep_alive, "local_keep_alive")
        yield Check("warm model", Status.OK,
                    f"off ({why}): every gen on the embedded model loads it again")
