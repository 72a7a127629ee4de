"""Plugins through entry points: docs/extending.md's worked plugin, installed as a package would
be (a dist-info with entry_points.txt on the path), drives the real CLI; broken plugins are
reported, not fatal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")


def doc_block(language: str, after: str) -> str:
    """The first ```language block after the text ``after`` in docs/extending.md."""
    start = DOC.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(DOC, start)
    assert match is not None, f"no {language} block after {after!r}"
    return match.group(1)


def install(site: Path, name: str, module: str, source: str, entry_points: dict[str, dict[str, str]]
            ) -> None:
    """What pip leaves behind: the module and a dist-info naming its entry points."""
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    info = site / f"{module}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n",
                                   encoding="utf-8")
    lines = []
    for group, entries in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def echo_plugin(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    project = tomllib.loads(doc_block("toml", "declares the two entry points"))["project"]
    install(site, project["name"], "agentcode_echo",
            doc_block("python", "`agentcode_echo.py`:"), project["entry-points"])
    return {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ['PYTHONPATH']}"}


def agentcode(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentcode", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_documented_plugin_adds_a_model_and_a_sandbox(echo_plugin: dict[str, str]) -> None:
    gen = agentcode(echo_plugin, "gen", "--no-history", "-m", "echo:hello", "say hi")
    assert gen.returncode == 0, gen.stderr
    assert gen.stdout == "print('hello', 'say hi')\n"
    run = agentcode(echo_plugin, "run", "--no-history", "--sandbox", "tiny", "-",
                    stdin=gen.stdout)
    assert (run.returncode, run.stdout) == (0, "hello say hi\n"), run.stderr


def test_the_tiny_sandbox_has_its_smaller_limits(echo_plugin: dict[str, str]) -> None:
    code = "import resource\nprint(resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20)\n"
    run = agentcode(echo_plugin, "run", "--no-history", "--sandbox", "tiny", "-", stdin=code)
    assert (run.returncode, run.stdout) == (0, "256\n"), run.stderr


def test_models_lists_the_plugin_entries(echo_plugin: dict[str, str]) -> None:
    listing = agentcode(echo_plugin, "models", "--json")
    assert listing.returncode == 0, listing.stderr
    report = json.loads(listing.stdout)
    rows = {row["name"]: row for row in report["models"]}
    assert rows["echo"] == {"name": "echo", "provider": "echo", "available": True,
                            "detail": "prints the request back"}
    assert report["providers"]["echo"]["names"] == ["echo", "echo:<greeting>"]
    sandboxes = {row["name"]: row for row in report["sandboxes"]}
    assert sandboxes["tiny"]["available"] is True
    assert {"local", "agentcore", "unsafe", "tiny"} <= set(sandboxes)


def test_without_the_plugin_the_names_are_unknown() -> None:
    env = dict(os.environ)
    gen = agentcode(env, "gen", "--no-history", "-m", "echo:hello", "say hi")
    assert gen.returncode == 2 and "unknown model 'echo:hello'" in gen.stderr
    assert "Traceback" not in gen.stderr
    run = agentcode(env, "run", "--no-history", "--sandbox", "tiny", "-", stdin="print(1)")
    assert run.returncode == 2
    assert run.stderr == ("agentcode: error: unknown sandbox 'tiny': choose one of local, "
                          "agentcore, unsafe\n")


def test_a_broken_plugin_is_reported_not_fatal(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install(site, "agentcode-broken", "agentcode_broken", "raise ImportError('missing dep')\n",
            {"agentcode.models": {"broken": "agentcode_broken:MODEL"},
             "agentcode.sandboxes": {"wobbly": "agentcode_broken:SANDBOX"}})
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ['PYTHONPATH']}"}
    listing = agentcode(env, "models", "--json")
    assert listing.returncode == 0, listing.stderr
    report = json.loads(listing.stdout)
    broken = next(row for row in report["models"] if row["provider"] == "broken")
    assert broken["available"] is False and "missing dep" in broken["detail"]
    wobbly = next(row for row in report["sandboxes"] if row["name"] == "wobbly")
    assert wobbly["available"] is False and "missing dep" in wobbly["detail"]
    gen = agentcode(env, "gen", "--no-history", "-m", "broken:x", "say hi")
    assert gen.returncode == 2
    assert "the model plugin 'broken' (agentcode_broken:MODEL) failed to load" in gen.stderr


def test_in_process_registration_reaches_help_and_validation() -> None:
    from agentcode.config import Settings
    from agentcode.errors import UsageError
    from agentcode.models import registry
    from agentcode.models.provider import ModelProvider
    from agentcode.sandbox import registry as sandboxes
    from agentcode.testing import FakeModel

    provider = ModelProvider(name="mine", description="mine", forms=("mine:<x>",),
                             factory=lambda spec, settings: FakeModel("x", model_id=spec or ""))
    registry.register("mine", provider)
    try:
        assert registry.names_help().endswith("openai:<model>, mine:<x>")
        (candidate,) = registry.candidates_for("mine:abc", Settings())
        assert candidate.group == "mine" and candidate.load().get_config()["model_id"] == "abc"
    finally:
        registry.unregister("mine")
    with pytest.raises(UsageError, match="unknown sandbox 'nope': choose one of local, "
                                         "agentcore, unsafe"):
        sandboxes.check_name("nope")


def test_the_plugin_reads_its_own_table_of_the_config(echo_plugin: dict[str, str],
                                                       agentcode_home: Path) -> None:
    table = doc_block("toml", "No field has to be added")
    (agentcode_home / "config.toml").write_text(table + "\n[plugins.nope]\nx = 1\n",
                                                encoding="utf-8")
    gen = agentcode(echo_plugin, "gen", "--no-history", "-m", "echo", "say hi")
    assert (gen.returncode, gen.stdout) == (0, "print('hey', 'say hi')\n"), gen.stderr
    doctor = json.loads(agentcode(echo_plugin, "doctor", "--json").stdout)
    lines = {line["name"]: line for line in doctor["checks"]}
    assert lines["model echo"]["status"] == "ok"  # from the plugin's own status
    assert lines["sandbox tiny"]["status"] == "ok"
    assert lines["plugin nope"]["status"] == "warn" and "plugin echo" not in lines
