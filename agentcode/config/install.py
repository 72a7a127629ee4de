"""The command that adds an extra to *this* installation of agentcode.

A hint like ``pip install 'agentcode[local]'`` is wrong for a pipx or `uv tool` install (pip
would change another environment) and, until agentcode is on a package index, for every install
from a clone or a wheel file. The hint names the installer (a pipx venv holds
``pipx_metadata.json``, a uv tool environment ``uv-receipt.toml``) and the source pip recorded
(PEP 610 ``direct_url.json``: the clone for an editable install, else the wheel's path).
Computed only when a hint is shown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse


def install_hint(extra: str) -> str:
    """E.g. ``pipx install --force 'agentcode[local]'``, for the way agentcode was installed."""
    source, editable = _source()
    spec = f"'{source}[{extra}]'"
    prefix = Path(sys.prefix)
    if (prefix / "uv-receipt.toml").is_file():
        return f"uv tool install --reinstall {spec}"
    if (prefix / "pipx_metadata.json").is_file():
        return f"pipx install --force {spec}"
    return f"pip install {'-e ' if editable else ''}{spec}"


def _source() -> tuple[str, bool]:
    """(what to install, editable): the local clone or wheel pip recorded, else the name."""
    from importlib.metadata import distributions

    # Not distribution("agentcode"): an editable install from a clone puts the clone's root on
    # sys.path, and the root holds the build's agentcode.egg-info, found first and without the
    # record pip wrote into the environment's dist-info. The first that has the record wins.
    recorded = next((text for dist in distributions(name="agentcode")
                     if (text := dist.read_text("direct_url.json"))), None)
    try:
        data = json.loads(recorded) if recorded else {}
    except ValueError:
        data = {}
    url = urlparse(str(data.get("url", "")))
    if url.scheme != "file" or not url.path:
        return "agentcode", False
    return unquote(url.path), bool((data.get("dir_info") or {}).get("editable"))
