"""Copy-out attacks against the real jail: code chooses names and contents, the host's --out
directory already holds links, a git checkout and files worth keeping."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from jail_helpers import small_settings

from agentcode.api.execution import execute
from agentcode.api.session import Session
from agentcode.sandbox.local.session import LocalSandboxSession


def _run(code: str, out: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "agentcode", "run", "--no-history", "--out", str(out), *extra,
         "-"], input=code.encode(), capture_output=True, timeout=120,
    )


def test_links_already_in_the_out_dir_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "python3"
    victim.write_text("#!/bin/sh\necho real\n")
    out = tmp_path / "project"
    (out / ".venv" / "bin").mkdir(parents=True)
    (out / ".venv" / "bin" / "python3").symlink_to(victim)
    (out / "data").symlink_to(outside)
    code = (
        "import os\n"
        "os.makedirs('.venv/bin'); open('.venv/bin/python3', 'w').write('PWNED')\n"
        "os.makedirs('data'); open('data/planted.txt', 'w').write('PWNED')\n"
        "open('result.txt', 'w').write('fine')\n"
    )
    done = _run(code, out)
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "#!/bin/sh\necho real\n"
    assert sorted(p.name for p in outside.iterdir()) == ["python3"]
    assert (out / "result.txt").read_text() == "fine"
    stderr = done.stderr.decode()
    assert "not saved: .venv/bin/python3" in stderr and "not saved: data/planted.txt" in stderr


def test_existing_files_are_kept_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code = "open('notes.txt', 'w').write('theirs'); open('new.txt', 'w').write('new')"
    done = _run(code, out)
    assert done.returncode == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "new.txt").read_text() == "new"
    assert b"not saved: notes.txt: it exists (use --overwrite" in done.stderr
    assert _run(code, out, "--overwrite").returncode == 0
    assert (out / "notes.txt").read_text() == "theirs"


def test_a_fifo_in_the_out_dir_does_not_block_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "pipe")
    done = _run("open('pipe', 'w').write('x'); open('ok', 'w').write('y')", out, "--overwrite")
    assert done.returncode == 0
    assert (out / "ok").read_text() == "y"
    assert b"not saved: pipe" in done.stderr


def test_nothing_is_written_into_a_git_directory(tmp_path: Path) -> None:
    out = tmp_path / "checkout"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "config").write_text("[core]\n")
    code = (
        "import os\n"
        "os.makedirs('.git/hooks'); open('.git/config', 'w').write('[core]\\nfsmonitor = evil')\n"
        "open('.git/hooks/pre-commit', 'w').write('evil')\n"
        "os.makedirs('vendor/.GIT'); open('vendor/.GIT/config', 'w').write('evil')\n"
        "open('report.md', 'w').write('ok')\n"
    )
    done = _run(code, out, "--overwrite")
    assert done.returncode == 0
    assert (out / ".git" / "config").read_text() == "[core]\n"
    assert not (out / ".git" / "hooks").exists() and not (out / "vendor").exists()
    assert (out / "report.md").read_text() == "ok"
    refused = _run("open('x', 'w').write('1')", out / ".git" / "hooks")
    assert refused.returncode == 2 and b".git" in refused.stderr


def test_names_with_control_characters_are_refused_and_shown_escaped(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _run("open('a\\x1b]52;c;cHduZWQ=\\x07b', 'w').write('x'); open('ok', 'w')", out)
    assert done.returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["ok"]
    assert b"\x1b" not in done.stderr and b"\\x1b]52" in done.stderr


def test_sparse_files_count_by_apparent_size_and_budgets_hold(tmp_path: Path) -> None:
    settings = small_settings(copy_out_mb=8, copy_out_files=3, file_size_mb=200,
                              workdir_mb=64)
    code = (
        "with open('sparse.bin', 'wb') as f: f.truncate(100 * 2**20)\n"
        "for i in range(5): open(f'f{i}.txt', 'w').write(str(i))\n"
    )
    execution = execute(code, sandbox="local", settings=settings, out_dir=tmp_path / "out")
    saved = sorted(Path(p).name for p in execution.artifacts)
    assert saved == ["f0.txt", "f1.txt", "f2.txt"]
    skipped = "\n".join(execution.skipped_files)
    assert "sparse.bin: over the copy-out budget of 8 MiB" in skipped
    assert "f3.txt: over the copy-out budget of 3 files" in skipped
    used = sum(p.stat().st_blocks * 512 for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert used < 1024 * 1024


def test_download_from_a_session_follows_the_same_rules(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    (out / "link").symlink_to(tmp_path)
    with Session(LocalSandboxSession(small_settings()), settings=small_settings(),
                 history=False) as session:
        session.execute("import os\nopen('keep.txt', 'w').write('theirs')\n"
                        "os.mkdir('link'); open('link/x', 'w').write('x')\n"
                        "open('fresh.txt', 'w').write('fresh')")
        result = session.copy_out(out)
    assert [p.name for p in result.saved] == ["fresh.txt"]
    assert (out / "keep.txt").read_text() == "mine" and not (tmp_path / "x").exists()
    assert len(result.skipped) == 2


def test_write_files_over_a_planted_fifo_does_not_block(jail: LocalSandboxSession) -> None:
    jail.execute("import os\nos.mkfifo('data.csv')\nos.mkfifo('held')\n"
                 "import threading\n"
                 "threading.Thread(target=lambda: open('held', 'rb').read(), daemon=True)"
                 ".start()")
    finished = threading.Event()

    def write() -> None:
        jail.write_files({"data.csv": b"a,b\n", "held": b"z"})
        finished.set()

    worker = threading.Thread(target=write, daemon=True)
    worker.start()
    worker.join(10)
    assert finished.is_set(), "write_files blocked on a FIFO"
    assert jail.read_file("data.csv") == b"a,b\n" and jail.read_file("held") == b"z"
    result = jail.execute("import stat, os\n"
                          "[stat.S_ISREG(os.lstat(n).st_mode) for n in ('data.csv', 'held')]")
    assert result.text == "[True, True]"


@pytest.mark.parametrize("name", ["a/../../x", "/etc/x"])
def test_out_dir_writes_refuse_names_that_leave_it(tmp_path: Path, name: str) -> None:
    from agentcode.sandbox.copyout import OutDir, Skipped

    root = tmp_path / "root"
    with OutDir(root / "o") as out, pytest.raises(Skipped):
        out.write(name, b"x")
    assert sorted(p.name for p in root.iterdir()) == ["o"] and not Path("/etc/x").exists()


def test_a_timed_out_run_still_saves_and_says_what_it_did_not(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code = ("open('notes.txt', 'w').write('theirs'); open('partial.txt', 'w').write('p')\n"
            "while True: pass\n")
    done = _run(code, out, "--timeout", "2")
    assert done.returncode == 124
    assert (out / "partial.txt").read_text() == "p" and (out / "notes.txt").read_text() == "mine"
    assert b"not saved: notes.txt: it exists" in done.stderr


_PLANT_REPOSITORY = """
import os
def plant(root):
    os.makedirs(f'{root}objects/info', exist_ok=True); os.makedirs(f'{root}refs/heads')
    open(f'{root}HEAD', 'w').write('ref: refs/heads/main\\n')
    open(f'{root}objects/info/packs', 'w').write('')
    open(f'{root}refs/heads/.keep', 'w').write('')
    open(f'{root}config', 'w').write('[core]\\n\\trepositoryformatversion = 0\\n\\tbare = false\\n'
        '\\tworktree = .\\n\\tfsmonitor = "touch MARKER; false"\\n')
plant(''); plant('results/')
for name in ('.envrc', '.env', '.vscode/tasks.json', '.idea/workspace.xml', '.hg/hgrc',
             '.npmrc', 'sub/.bash_profile', 'mise.toml', 'results/Head', 'report.csv'):
    os.makedirs(os.path.dirname(name) or '.', exist_ok=True)
    open(name, 'w').write('touch MARKER\\n')
"""


def test_copy_out_plants_no_repository_and_no_file_a_tool_runs(tmp_path: Path) -> None:
    out, marker = tmp_path / "out", tmp_path / "ran"
    execution = execute(_PLANT_REPOSITORY.replace("MARKER", str(marker)), sandbox="local",
                        settings=small_settings(), out_dir=out)
    assert execution.exit_code == 0, execution.stderr
    saved = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert saved == ["config", "objects/info/packs", "report.csv", "results/config",
                     "results/objects/info/packs"]
    skipped = {line.split(": ", 1)[0] for line in execution.skipped_files}
    assert skipped == {"HEAD", "results/HEAD", "refs/heads/.keep", "results/refs/heads/.keep",
                       ".envrc", ".env", ".vscode/tasks.json", ".idea/workspace.xml",
                       ".hg/hgrc", ".npmrc", "sub/.bash_profile", "mise.toml", "results/Head"}
    for where in (out, out / "results"):  # git sees no repository: the fsmonitor never runs
        subprocess.run(["git", "status"], cwd=where, capture_output=True, check=False,
                       env={**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert not marker.exists()


def test_nothing_is_written_into_a_directory_that_holds_a_head(tmp_path: Path) -> None:
    from agentcode.sandbox.copyout import OutDir, Skipped

    out = tmp_path / "bare"
    for part in ("objects", "refs", "results"):
        (out / part).mkdir(parents=True)
    (out / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "results" / "HEAD").write_text("ref: refs/heads/main\n")
    with OutDir(out) as target:
        for name in ("config", "hooks/pre-commit", "results/config", "results/sub/x"):
            with pytest.raises(Skipped, match="holds a HEAD"):
                target.write(name, b"[core]\n\tfsmonitor = evil\n")
    assert sorted(p.name for p in out.iterdir()) == ["HEAD", "objects", "refs", "results"]
