"""The sandbox environment: installs into a new dir and switches, removal, failures, the jail.

pip installs from a directory of tiny wheels built here (offline-safe); the jail tests run the
real bubblewrap sandbox with the environment mounted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jail_helpers import small_settings
from wheels import build_wheel, offline_index

from agentcode.errors import PackageInstallError, SandboxUnavailableError, UsageError
from agentcode.sandbox.local.packages import JAIL_PATH, SandboxEnvironment
from agentcode.sandbox.local.session import LocalSandboxSession


@pytest.fixture
def wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "wheels"
    directory.mkdir()
    build_wheel(directory, "acme_base", "2.0", body="ANSWER = 42\n")
    build_wheel(directory, "acme_stats", "1.3", requires=["acme_base>=2"],
                body="from acme_base import ANSWER\ndef mean(xs): return sum(xs) / len(xs)\n")
    build_wheel(directory, "acme_extra", "0.1")
    offline_index(monkeypatch, directory)
    return directory


@pytest.fixture
def env(tmp_path: Path) -> SandboxEnvironment:
    return SandboxEnvironment(tmp_path / "sandbox-env")


def _names(env: SandboxEnvironment) -> dict[str, tuple[str, bool]]:
    return {p.name: (p.version, p.requested) for p in env.packages()}


def test_add_installs_packages_and_dependencies(env: SandboxEnvironment, wheels: Path) -> None:
    assert env.path is None and env.packages() == []
    announced: list[list[str]] = []
    env.on_install = announced.append
    env.add(["acme_stats"])
    assert _names(env) == {"acme_base": ("2.0", False), "acme_stats": ("1.3", True)}
    assert announced == [["acme_stats"]]
    assert env.path is not None and (env.path / "acme_stats" / "__init__.py").is_file()
    assert not (env.path / "bin").exists()


def test_add_keeps_earlier_packages_and_switches_to_a_new_dir(env: SandboxEnvironment,
                                                              wheels: Path) -> None:
    env.add(["acme_stats"])
    first = env.path
    env.add(["acme_extra"])
    assert env.path != first and first is not None and not first.exists()
    assert env.requested() == ["acme_stats", "acme_extra"]
    assert set(_names(env)) == {"acme_base", "acme_stats", "acme_extra"}


def test_remove_rebuilds_without_the_package_and_what_only_it_needed(
        env: SandboxEnvironment, wheels: Path) -> None:
    env.add(["acme_stats", "acme_extra"])
    env.remove(["acme-stats"])  # names compare like pip's: - and _ are the same
    assert _names(env) == {"acme_extra": ("0.1", True)}
    env.remove(["acme_extra"])
    assert env.packages() == [] and env.path is not None


def test_remove_refuses_what_was_not_added(env: SandboxEnvironment, wheels: Path) -> None:
    env.add(["acme_stats"])
    with pytest.raises(UsageError, match="dependency of another package"):
        env.remove(["acme_base"])
    with pytest.raises(UsageError, match="not in the sandbox environment"):
        env.remove(["pandas"])


def test_a_failed_install_leaves_the_environment_as_it_was(env: SandboxEnvironment,
                                                           wheels: Path) -> None:
    env.add(["acme_stats"])
    before, listing = env.path, env.packages()
    with pytest.raises(PackageInstallError, match="No matching distribution found for "
                       "no-such-package") as caught:
        env.add(["no-such-package"])
    assert caught.value.exit_code == 2 and "unchanged" in str(caught.value)
    assert env.path == before and env.packages() == listing
    assert sorted(p.name for p in env.root.iterdir() if p.name.startswith("env-")) == [
        before.name if before else ""]


def test_invalid_names_are_refused_before_anything_runs(env: SandboxEnvironment) -> None:
    for spec in ("bad name!", "https://example.invalid/x.whl", "pkg @ file:///etc/passwd"):
        with pytest.raises(UsageError):
            env.add([spec])
    assert env.path is None


def _hostile_checkout(where: Path, marker: Path) -> None:
    """A directory a user runs `agentcode sandbox add` in: a local sdist whose build backend,
    and a pip/ package whose __main__, would each run on the host."""
    import io
    import tarfile

    # An in-tree build backend needs nothing from an index: pip runs it offline too.
    setup = f"open({str(marker)!r}, 'a').write('the build backend ran\\n')\n"
    pyproject = ('[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                 'backend-path = ["."]\n')
    with tarfile.open(where / "evilpkg-1.0.tar.gz", "w:gz") as archive:
        for name, text in (("evilpkg-1.0/backend.py", setup),
                           ("evilpkg-1.0/pyproject.toml", pyproject),
                           ("evilpkg-1.0/PKG-INFO", "Metadata-Version: 1.0\nName: evilpkg\n"
                                                    "Version: 1.0\n")):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    (where / "evilpkg").mkdir()
    (where / "evilpkg" / "backend.py").write_text(setup)
    (where / "evilpkg" / "pyproject.toml").write_text(pyproject)
    (where / "pip").mkdir()
    (where / "pip" / "__init__.py").write_text("")
    (where / "pip" / "__main__.py").write_text(
        f"open({str(marker)!r}, 'a').write('pip/__main__ ran\\n')\n")


def test_add_never_runs_code_from_the_users_directory(env: SandboxEnvironment, wheels: Path,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    checkout, marker = tmp_path / "checkout", tmp_path / "ran"
    checkout.mkdir()
    _hostile_checkout(checkout, marker)
    monkeypatch.chdir(checkout)
    for spec in ("evilpkg-1.0.tar.gz", "EvilPkg-1.0.TGZ", "evilpkg-1.0-py3-none-any.whl"):
        with pytest.raises(UsageError, match="not a file"):
            env.add([spec])
        with pytest.raises(UsageError, match="not a file"):
            env.sync([spec])  # `sandbox sync` with it in the config
    with pytest.raises(PackageInstallError):
        env.add(["evilpkg"])  # a directory of that name is not taken for the package
    env.add(["acme_extra"])  # pip itself comes from the interpreter, not from ./pip
    assert _names(env) == {"acme_extra": ("0.1", True)}
    assert not marker.exists()


def test_an_environment_for_another_python_is_refused(env: SandboxEnvironment,
                                                      wheels: Path) -> None:
    env.add(["acme_extra"])
    assert env.path is not None
    meta = env.path / "agentcode-env.json"
    meta.write_text(meta.read_text().replace("cpython", "otherpython"))
    with pytest.raises(SandboxUnavailableError, match="agentcode sandbox sync"):
        env.mount_source()


def test_the_jail_imports_from_the_environment_at_a_neutral_path(
        env: SandboxEnvironment, wheels: Path) -> None:
    env.add(["acme_stats"])
    settings = small_settings()
    settings.sandbox_env = str(env.root)
    with LocalSandboxSession(settings) as jail:
        result = jail.execute(
            "import sys, acme_stats\n"
            "print(acme_stats.mean([1, 2, 3]), acme_stats.ANSWER)\n"
            "print(acme_stats.__file__)\n"
            "print([p for p in sys.path if 'packages' in p])"
        )
        assert result.ok, result.stderr
        assert result.stdout.splitlines() == [
            "2.0 42", f"{JAIL_PATH}/acme_stats/__init__.py", f"[{JAIL_PATH!r}]"]
        assert str(env.root) not in result.stdout
        # Nor does the mount table name it: the bind's source is a tree of hard links at a
        # neutral path (staging.py), where the environment shares /var/tmp's file system.
        roots = jail.execute("print([line.split()[3] for line in open('/proc/self/mountinfo')])")
        if os.stat(env.root).st_dev == os.stat("/var/tmp").st_dev:
            assert str(env.root) not in roots.stdout, roots.stdout
            assert "/var/tmp/agentcode-packages-" in roots.stdout
        write = jail.execute(f"open('{JAIL_PATH}/acme_stats/x.py', 'w')")
        assert write.error is not None and write.error.name == "OSError"


def test_agentcodes_own_packages_are_not_importable_in_the_jail(env: SandboxEnvironment) -> None:
    with LocalSandboxSession(small_settings()) as jail:
        result = jail.execute("import typer")
        assert result.error is not None and result.error.name == "ModuleNotFoundError"
        assert jail.execute("exit(3)").exit_code == 3  # site's exit() is still there
