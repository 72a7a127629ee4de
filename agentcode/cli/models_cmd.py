"""`agentcode models`: the model names, the configured chain, the sandboxes, and what is usable.

Every row comes from a registry entry's offline check (`agentcode.models.registry`,
`agentcode.sandbox.registry`), installed plugins included: local weights are checked on disk,
Bedrock credentials through botocore's credential chain without the providers that call a network
endpoint or run a command, an OpenAI-compatible endpoint by its settings only.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    app.command("models")(models)


def models(
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    region: Annotated[str | None, typer.Option("--region", help="AWS region for Bedrock.")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile to use.")] = None,
) -> None:
    """List model names and sandboxes, and whether each is usable here (no network calls)."""
    from agentcode.config import load_settings

    settings = load_settings(region=region, profile=profile)
    report = model_report(settings)
    if json_output:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(_format(report))


def model_report(settings: Any) -> dict[str, Any]:
    """Everything `agentcode models` shows, as JSON-ready data, from the two registries."""
    from agentcode.aws.region import resolve_region
    from agentcode.models.registry import all_providers, names_help, provider_status
    from agentcode.registry import PluginFailure

    region = resolve_region(settings)
    report: dict[str, Any] = {
        "configured": list(settings.model),
        "aws": {"region": region.name, "region_source": region.source},
        "models": [],
    }
    providers: dict[str, Any] = {}
    for provider in all_providers():
        if isinstance(provider, PluginFailure):
            report["models"].append({
                "name": f"{provider.name}:<model>", "provider": provider.name,
                "available": False, "detail": f"plugin {provider.target} failed to load: "
                f"{provider.reason}",
            })
            continue
        status = provider_status(provider, settings)
        for row in status.rows:
            report["models"].append({"name": row.name, "provider": provider.name,
                                     "available": row.available, "detail": row.detail,
                                     **row.extra})
        if status.info:
            report[provider.name] = dict(status.info)
        providers[provider.name] = {"description": provider.description,
                                    "names": list(provider.name_forms),
                                    "settings": list(provider.settings)}
    report["providers"] = providers
    report["sandboxes"] = _sandbox_rows(settings)
    report["names"] = names_help()
    return report


def _sandbox_rows(settings: Any) -> list[dict[str, Any]]:
    from agentcode.registry import PluginFailure
    from agentcode.sandbox.registry import all_backends, backend_status

    rows: list[dict[str, Any]] = []
    for backend in all_backends():
        if isinstance(backend, PluginFailure):
            rows.append({"name": backend.name, "available": False, "default": False,
                         "description": "an installed plugin", "settings": [],
                         "detail": f"plugin {backend.target} failed to load: {backend.reason}"})
            continue
        available, detail = backend_status(backend, settings)
        rows.append({"name": backend.name, "available": available,
                     "default": backend.name == settings.sandbox,
                     "description": backend.description, "detail": detail,
                     "settings": list(backend.settings)})
    return rows


def _format(report: dict[str, Any]) -> str:
    names = [row["name"] for row in (*report["models"], *report["sandboxes"])]
    width = max(len(name) for name in names) + 2
    aws = report["aws"]
    lines = [f"configured chain: {', '.join(report['configured']) or '(none)'}",
             f"AWS region (Bedrock and AgentCore): {aws['region']} (from {aws['region_source']})",
             ""]
    lines.append(f"{'NAME':<{width}}{'USABLE':<8}DETAILS")
    for row in report["models"]:
        usable = "yes" if row["available"] else "no"
        lines.append(f"{row['name']:<{width}}{usable:<8}{row['detail']}")
    lines += ["", f"names: {report['names']}", ""]
    lines.append(f"{'SANDBOX':<{width}}{'USABLE':<8}DETAILS")
    for row in report["sandboxes"]:
        usable = {True: "yes", False: "no", None: "?"}[row["available"]]
        default = " (configured)" if row["default"] else ""
        lines.append(f"{row['name']:<{width}}{usable:<8}{row['description']}{default}; "
                     f"{row['detail']}")
    return "\n".join(lines) + "\n"
