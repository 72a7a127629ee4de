"""`agentcode doctor`: is this machine ready, and if not, what to do about it.

The report is built from the registries: every sandbox backend and model provider names its
own checks (``doctor`` on its entry: the local jail's in `agentcode.sandbox.local.doctor`, the
embedded model's in `agentcode.models.local_doctor`, AWS's in `agentcode.aws.doctor`), and an
entry without checks is reported by its offline ``status``. A check shared by several entries
(AWS, by Bedrock and AgentCore) runs once. The history database and the config file's
``[plugins.NAME]`` tables are checked here. A new backend or provider brings its checks with
it; a check that crashes becomes a failing line naming the exception, never a traceback.

Offline by default: nothing here calls the network unless ``online`` is set (then one STS call).
Status and lines: `agentcode.registry.checks`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from agentcode.config import Settings
from agentcode.registry import PluginFailure
from agentcode.registry.checks import (
    Check,
    DoctorCheck,
    DoctorContext,
    Status,
    failed_or_warned,
)

__all__ = ["Check", "DoctorCheck", "DoctorContext", "Status", "checks", "healthy", "report",
           "run_checks"]


def check_history(ctx: DoctorContext) -> Iterator[Check]:
    import sqlite3

    from agentcode.store import resolve_path

    if not ctx.settings.history:
        yield Check("history", Status.OK, "switched off (history = false)")
        return
    path = resolve_path(settings=ctx.settings)
    from agentcode.store.spool import spool_path

    spooled = spool_path(path)
    if not path.exists() and spooled.exists():
        yield Check("history", Status.OK, f"{spooled}: runs waiting for the database "
                    "(the next history read merges them)")
        return
    if not path.exists():
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and os.access(parent, os.W_OK):
            yield Check("history", Status.OK, f"{path}: created on the first gen or run")
        else:
            yield Check("history", Status.FAIL, f"{path}: its directory is not writable",
                        "set db = \"/a/writable/path.db\" in config.toml or AGENTCODE_DB")
        return
    try:
        # Read-only: the doctor changes nothing, and a locked or broken file is reported.
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            count = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        yield Check("history", Status.FAIL, f"{path}: cannot read it ({exc})", _history_fix(path))
        return
    if verdict != "ok":
        yield Check("history", Status.FAIL, f"{path}: integrity check failed: {verdict}",
                    _history_fix(path))
        return
    writable = os.access(path, os.W_OK)
    yield Check("history", Status.OK if writable else Status.FAIL,
                f"{path}: {count} entries, integrity ok" + ("" if writable else ", read-only"),
                "" if writable else f"make {path} writable (chmod u+w)")


def _history_fix(path: Path) -> str:
    return (f"move {path} aside (agentcode starts a new one), or recover it with "
            f"sqlite3 {path} .recover")


def check_plugin_settings(ctx: DoctorContext) -> Iterator[Check]:
    """A ``[plugins.NAME]`` table that no installed model or sandbox plugin reads."""
    from agentcode.models.registry import all_providers
    from agentcode.sandbox.registry import all_backends

    if not ctx.settings.plugins:
        return
    names = {entry.name for entry in (*all_providers(), *all_backends())}
    for name in ctx.settings.plugins:
        if name not in names:
            yield Check(f"plugin {name}", Status.WARN,
                        f"the config file has [plugins.{name}] but no plugin {name!r} is "
                        "installed", f"install it, or remove [plugins.{name}]")


# -- built from the registries ------------------------------------------------------------------


def checks() -> list[DoctorCheck]:
    """The report's checks, in order: each sandbox backend's, each model provider's (once
    each), then the history's and the plugin settings'."""
    from agentcode.models.registry import all_providers
    from agentcode.sandbox.registry import all_backends

    found: list[DoctorCheck] = []
    seen: set[Any] = set()
    for kind, entries in (("sandbox", all_backends()), ("model", all_providers())):
        for entry in entries:
            if isinstance(entry, PluginFailure):
                found.append(_broken_plugin(kind, entry))
                continue
            check = entry.doctor or _status_check(kind, entry)
            if check not in seen:  # one AWS check for Bedrock and AgentCore
                seen.add(check)
                found.append(check)
    return [*found, check_history, check_plugin_settings]


def _status_check(kind: str, entry: Any) -> DoctorCheck:
    """An entry's offline ``status`` as doctor lines: a problem fails when it is configured."""
    def check(ctx: DoctorContext) -> Iterator[Check]:
        if kind == "sandbox":
            from agentcode.sandbox.registry import backend_status

            usable, detail = backend_status(entry, ctx.settings)
            needed = ctx.needed(sandbox=entry.name)
            status = Status.OK if usable is not False else failed_or_warned(needed)
            yield Check(f"sandbox {entry.name}", status, detail,
                        "" if status is Status.OK else _status_fix(needed))
            return
        from agentcode.models.registry import provider_status

        needed = ctx.needed(model_prefix=entry.name)
        for row in provider_status(entry, ctx.settings).rows:
            status = Status.OK if row.available else failed_or_warned(needed)
            yield Check(f"model {row.name}", status, row.detail,
                        "" if row.available else _status_fix(needed))

    check.__name__ = f"check_{kind}_{entry.name}"
    return check


def _status_fix(needed: bool) -> str:
    return ("set it up as the line says: the configuration uses it" if needed
            else "optional: set it up as the line says to use it")


def _broken_plugin(kind: str, failure: PluginFailure) -> DoctorCheck:
    def check(ctx: DoctorContext) -> Iterator[Check]:
        needed = (ctx.needed(sandbox=failure.name) if kind == "sandbox"
                  else ctx.needed(model_prefix=failure.name))
        yield Check(f"{kind} plugin {failure.name}", failed_or_warned(needed),
                    f"{failure.target} failed to load: {failure.reason}",
                    "reinstall the plugin or its dependencies, or uninstall it")

    return check


def run_checks(settings: Settings, *, online: bool = False,
               checks: Iterable[DoctorCheck] | None = None) -> list[Check]:
    ctx = DoctorContext(settings, online=online)
    lines: list[Check] = []
    for check in globals()["checks"]() if checks is None else checks:
        try:
            lines.extend(check(ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check is one failing line
            name = getattr(check, "__name__", "check").removeprefix("check_").replace("_", " ")
            lines.append(Check(name, Status.FAIL, f"the check itself failed: "
                               f"{type(exc).__name__}: {exc}", "run agentcode doctor --debug"))
    return lines


def healthy(lines: Iterable[Check]) -> bool:
    return all(line.status is not Status.FAIL for line in lines)


def report(lines: list[Check]) -> dict[str, Any]:
    return {"ok": healthy(lines), "checks": [line.to_dict() for line in lines]}
