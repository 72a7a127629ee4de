"""`agentcode models`: the model names, the configured chain, and what is usable here.

Offline by design: local weights are checked on disk, Bedrock credentials through botocore's
credential chain without the providers that call a network endpoint or run a command.
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
    """List model names and whether each is usable on this machine (no network calls)."""
    from agentcode.config import load_settings

    settings = load_settings(region=region, profile=profile)
    report = model_report(settings)
    if json_output:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(_format(report))


def model_report(settings: Any) -> dict[str, Any]:
    """Everything `agentcode models` shows, as JSON-ready data."""
    from agentcode.models.bedrock import DEFAULT_CHAIN, bedrock_status

    rows: list[dict[str, Any]] = []
    local_rows = _local_rows(settings)
    default_local = next((r for r in local_rows if r.get("default")), None)
    rows.append({
        "name": "local",
        "provider": "local",
        "available": bool(default_local and default_local["available"]),
        "detail": "the embedded model"
        + (f": {default_local['name']} ({default_local['detail']})" if default_local else ""),
    })
    rows.extend(local_rows)

    status = bedrock_status(settings)
    where = f"region {status.region} (from {status.region_source})"
    creds = (f"credentials: {status.credentials}" if status.credentials
             else "no credentials found" + (f" ({status.note})" if status.note else ""))
    rows.append({
        "name": "bedrock",
        "provider": "bedrock",
        "available": status.ready,
        "detail": "the chain " + " -> ".join(DEFAULT_CHAIN) + f"; {where}; {creds}",
    })
    for model_id in DEFAULT_CHAIN:
        rows.append({"name": f"bedrock:{model_id}", "provider": "bedrock",
                     "available": status.ready, "detail": f"{where}; {creds}"})
    return {
        "configured": list(settings.model),
        "aws": {"region": status.region, "region_source": status.region_source},
        "models": rows,
        "bedrock": {
            "region": status.region,
            "region_source": status.region_source,
            "credentials": status.credentials,
            "note": status.note,
        },
        "names": "local, local:<name or .gguf path>, bedrock, bedrock:<model id>",
    }


def _local_rows(settings: Any) -> list[dict[str, Any]]:
    try:
        from agentcode.models.local import local_model_status
    except ImportError:
        return []
    rows = []
    for info in local_model_status(settings):
        ready = bool(info.get("runtime")) and bool(info.get("installed") or info.get("assembled"))
        if not info.get("runtime"):
            detail = f"runtime not installed: {info.get('install', '')}"
        elif info.get("assembled"):
            detail = f"ready, weights at {info.get('path')}"
        elif info.get("installed"):
            detail = "ready, weights assembled on first use"
        else:
            detail = f"weights not installed: {info.get('install', '')}"
        rows.append({
            "name": f"local:{info['name']}",
            "provider": "local",
            "available": ready,
            "default": bool(info.get("default")),
            "detail": f"{info.get('description', '')}; {detail}",
            "status": info,
        })
    return rows


def _format(report: dict[str, Any]) -> str:
    width = max(len(row["name"]) for row in report["models"]) + 2
    aws = report["aws"]
    lines = [f"configured chain: {', '.join(report['configured']) or '(none)'}",
             f"AWS region (Bedrock and AgentCore): {aws['region']} (from {aws['region_source']})",
             ""]
    lines.append(f"{'NAME':<{width}}{'USABLE':<8}DETAILS")
    for row in report["models"]:
        usable = "yes" if row["available"] else "no"
        lines.append(f"{row['name']:<{width}}{usable:<8}{row['detail']}")
    lines += ["", f"names: {report['names']}"]
    return "\n".join(lines) + "\n"
