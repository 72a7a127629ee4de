"""The hard-link tree the jail binds instead of the Python installation (staging.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentcode.sandbox.local import staging


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small installation, with the stage directory on the same file system."""
    base = tmp_path / "pyenv" / "versions" / "3.99.0"
    (base / "bin").mkdir(parents=True)
    (base / "bin" / "python3.99").write_text("#!interpreter\n")
    (base / "bin" / "python3").symlink_to("python3.99")
    lib = base / "lib" / "python3.99"
    (lib / "email").mkdir(parents=True)
    (lib / "os.py").write_text("# os\n")
    (lib / "email" / "parser.py").write_text("# parser\n")
    (lib / "site-packages" / "hostpkg").mkdir(parents=True)
    (lib / "site-packages" / "hostpkg" / "__init__.py").write_text("# host's\n")
    stage = tmp_path / "stage"
    stage.mkdir()
    monkeypatch.setattr(staging, "STAGE_PARENT", str(stage))
    return base


def _site(base: Path) -> str:
    return str(base / "lib" / "python3.99" / "site-packages")


def test_the_tree_links_the_files_and_names_no_host_path(installation: Path) -> None:
    tree = staging.staged_python(str(installation), _site(installation))
    assert tree is not None
    assert str(installation) not in tree and "pyenv" not in tree
    os_py = Path(tree, "lib", "python3.99", "os.py")
    assert os_py.stat().st_ino == (installation / "lib" / "python3.99" / "os.py").stat().st_ino
    assert Path(tree, "lib", "python3.99", "email", "parser.py").read_text() == "# parser\n"
    assert os.readlink(Path(tree, "bin", "python3")) == "python3.99"
    # The host's own packages are not there (the jail shows site-packages empty).
    assert os.listdir(Path(tree, "lib", "python3.99", "site-packages")) == []
    # Made once: a second session binds the same tree.
    assert staging.staged_python(str(installation), _site(installation)) == tree


def test_a_reinstall_gets_a_new_tree(installation: Path) -> None:
    first = staging.staged_python(str(installation), _site(installation))
    (installation / "lib" / "python3.99" / "new.py").write_text("# new\n")
    second = staging.staged_python(str(installation), _site(installation))
    assert first is not None and second is not None and second != first
    assert Path(second, "lib", "python3.99", "new.py").exists()


def test_a_stage_directory_others_may_write_is_not_used(installation: Path) -> None:
    root = Path(staging.STAGE_PARENT, f"agentcode-python-{os.geteuid()}")
    root.mkdir(mode=0o777)
    root.chmod(0o777)  # another user could have planted files in it
    assert staging.staged_python(str(installation), _site(installation)) is None
