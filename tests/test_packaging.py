"""The package people install: `python -m build` makes an sdist and a wheel that `twine check`
accepts, the sdist holds the whole project, and the wheel installs in a fresh venv outside the
repository and works there (`agentcode run`, the page's static files for `agentcode serve`).

One test, ~30-60 s: the build runs without isolation (setuptools, build and twine are in the
dev group) and the fresh venv takes agentcode's dependencies from this venv's site-packages
(a path entry, not a copy), so nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent



def _project_files() -> list[str]:
    """The files a clean clone has: git's list, without ignored files or caches."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_build_check_install_and_smoke_test_outside_the_repo(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("run from an unpacked sdist: this test builds from git's list of tracked "
                    "files, which only a checkout has (CI runs it from a clone)")
    source = tmp_path / "src"
    files = _project_files()
    for name in files:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
        target.chmod((ROOT / name).stat().st_mode)
    dist = tmp_path / "dist"
    # sdist first, then the wheel built from the unpacked sdist: a file the sdist lacks fails.
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source, cwd=tmp_path)
    (sdist,) = dist.glob("agentcode-*.tar.gz")
    (wheel,) = dist.glob("agentcode-*.whl")
    _run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel, cwd=tmp_path)

    with tarfile.open(sdist) as archive:
        prefix = archive.getnames()[0].split("/")[0]
        in_sdist = {name.removeprefix(prefix + "/") for name in archive.getnames()}
    wanted = {f for f in files if f.split("/")[0] in
              {"agentcode", "docs", "tests", "examples", "scripts", "benchmarks"}}
    wanted |= {"LICENSE", "README.md", "pyproject.toml", "dev.sh", "MANIFEST.in"}
    assert sorted(wanted - in_sdist) == []
    assert any(name.startswith("examples/") for name in in_sdist)

    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
        (metadata_name,) = [n for n in in_wheel if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()
    static = {f for f in files if f.startswith("agentcode/server/static/")}
    assert static and sorted(static - in_wheel) == []
    assert not any(name.startswith(("tests/", "benchmarks/", "docs/")) for name in in_wheel)
    assert "License-Expression: Apache-2.0" in metadata and "Classifier: " in metadata
    assert "Provides-Extra: dev" not in metadata and "Provides-Extra: bench" not in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in in_wheel)

    # A fresh venv outside the repo: the wheel's own files, this venv's dependencies.
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    purelib = Path(sysconfig.get_paths()["purelib"])
    (fresh_site,) = venv.glob("lib/python*/site-packages")
    # A plain path entry: this venv's .pth files (the editable install of the repo) are not read.
    (fresh_site / "zz-dependencies.pth").write_text(f"{purelib}\n", encoding="utf-8")
    _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q",
         "--no-deps", "--no-index", "--disable-pip-version-check", wheel, cwd=tmp_path)
    home = tmp_path / "home"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AGENTCODE_", "PYTHON", "VIRTUAL_ENV"))}
    # No `run` helper left behind by the smoke test's run.
    env.update(AGENTCODE_HOME=str(home), AGENTCODE_NO_HISTORY="1",
               AGENTCODE_SANDBOX_KEEP_ALIVE="0")
    where = _run(venv / "bin" / "python", "-c", "import agentcode; print(agentcode.__file__)",
                 cwd=tmp_path, env=env)
    assert Path(where.strip()).is_relative_to(venv)
    assert _run(venv / "bin" / "agentcode", "--version", cwd=tmp_path, env=env) == (
        "agentcode 0.1.0\n")
    ran = subprocess.run([venv / "bin" / "agentcode", "run", "-", "x", "--top", "5"],
                         input="import sys\nprint(sys.argv[1:], sum(range(10)))\n", text=True,
                         capture_output=True, cwd=tmp_path, env=env, timeout=120)
    assert (ran.returncode, ran.stdout) == (0, "['x', '--top', '5'] 45\n"), ran.stderr
    _serve_smoke(venv, static, tmp_path, env)


def _serve_smoke(venv: Path, static: set[str], cwd: Path, env: dict[str, str]) -> None:
    """`agentcode serve` from the installed wheel serves the page and every static file."""
    import re
    import time

    import httpx

    server = subprocess.Popen([venv / "bin" / "agentcode", "serve", "--port", "0", "--no-warm",
                               "--token", "smoke"], cwd=cwd, env=env, stderr=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, text=True)
    try:
        assert server.stderr is not None
        deadline, url = time.monotonic() + 60, None
        while url is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            assert line, "agentcode serve exited before it printed its URL"
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            url = found.group() if found else None
        assert url is not None
        headers = {"Authorization": "Bearer smoke"}
        page = httpx.get(url + "/", headers=headers, timeout=30)
        assert page.status_code == 200 and "<html" in page.text.lower()
        for name in sorted(static):
            asset = httpx.get(f"{url}/static/{name.removeprefix('agentcode/server/static/')}",
                              headers=headers, timeout=30)
            assert asset.status_code == 200 and asset.content, name
    finally:
        server.terminate()
        server.wait(timeout=30)
