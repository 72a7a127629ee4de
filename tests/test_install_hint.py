"""The hint that adds an extra matches how agentcode was installed (pip, pipx, uv tool)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agentcode.config import install


class _Dist:
    def __init__(self, direct_url: dict[str, object] | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        return json.dumps(self.direct_url) if self.direct_url is not None else None


@pytest.mark.parametrize(("marker", "direct_url", "hint"), [
    (None, None, "pip install 'agentcode[local]'"),
    (None, {"url": "file:///src/agent%20code", "dir_info": {"editable": True}},
     "pip install -e '/src/agent code[local]'"),
    (None, {"url": "file:///tmp/dist/agentcode-0.1.0-py3-none-any.whl", "archive_info": {}},
     "pip install '/tmp/dist/agentcode-0.1.0-py3-none-any.whl[local]'"),
    ("pipx_metadata.json", None, "pipx install --force 'agentcode[local]'"),
    ("uv-receipt.toml", {"url": "file:///tmp/agentcode-0.1.0-py3-none-any.whl"},
     "uv tool install --reinstall '/tmp/agentcode-0.1.0-py3-none-any.whl[local]'"),
])
def test_the_hint_names_the_installer_and_the_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: str | None,
        direct_url: dict[str, object] | None, hint: str) -> None:
    if marker:
        (tmp_path / marker).write_text("{}")
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    # The build's egg-info (no record) comes first on the path, as in a clone's root.
    monkeypatch.setattr("importlib.metadata.distributions",
                        lambda name: iter([_Dist(None), _Dist(direct_url)]))
    assert install.install_hint("local") == hint


def test_this_checkout_gets_an_editable_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test venv holds agentcode as an editable install of a clone (dev.sh); run from the
    # clone's root, whose agentcode.egg-info is found before the venv's record.
    monkeypatch.chdir(Path(install.__file__).resolve().parents[2])
    monkeypatch.syspath_prepend(str(Path(install.__file__).resolve().parents[2]))
    assert install.install_hint("serve").startswith("pip install -e '/")
    assert install.install_hint("serve").endswith("[serve]'")
