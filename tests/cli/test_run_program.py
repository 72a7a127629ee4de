"""`agentcode run FILE ARGS... --env`, the note about unsaved files, --json after a timeout."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cli_runner import run_cli

ARGV = "import sys, os\nprint(sys.argv)\nprint(os.environ.get('GREETING'), os.environ.get('MINE'))"


def test_file_arguments_become_sys_argv_with_the_files_name(tmp_path: Path) -> None:
    script = tmp_path / "show_args.py"
    script.write_text(ARGV)
    done = run_cli(["run", str(script), "a", "b c", "--verbose", "--json", "--", "-x"])
    assert done.exit_code == 0, done.stderr
    # Everything after the file is the program's, as `python FILE ARGS` gives it.
    assert done.stdout.splitlines()[0] == (
        "['show_args.py', 'a', 'b c', '--verbose', '--json', '--', '-x']")
    piped = run_cli(["run", "--env", "GREETING=hi", "-", "x", "--top", "5"], stdin=ARGV)
    assert piped.stdout.splitlines() == ["['-', 'x', '--top', '5']", "hi None"]


def test_the_readme_report_example_gets_its_options(tmp_path: Path) -> None:
    script = tmp_path / "report.py"
    script.write_text("import sys\nprint(sys.argv)")
    done = run_cli(["run", str(script), "2026", "--top", "5"])
    assert (done.exit_code, done.stdout) == (0, "['report.py', '2026', '--top', '5']\n")


def test_env_sets_or_passes_named_variables_and_nothing_else(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINE", "from the host")
    monkeypatch.setenv("GREETING", "not passed")
    done = run_cli(["run", "--env", "GREETING=hello", "--env", "MINE", "-"], stdin=ARGV)
    assert done.stdout.splitlines()[1] == "hello from the host"
    unnamed = run_cli(["run", "-"], stdin=ARGV)
    assert unnamed.stdout.splitlines()[1] == "None None"


@pytest.mark.parametrize(("flag", "message"), [
    ("NOT_SET_ANYWHERE", "NOT_SET_ANYWHERE is not set here"),
    ("1BAD=x", "invalid environment variable name '1BAD'"),
])
def test_bad_env_flags_are_one_line_and_exit_2(flag: str, message: str) -> None:
    done = run_cli(["run", "--env", flag, "-"], stdin="print(1)")
    assert done.exit_code == 2 and done.stdout == ""
    assert done.stderr.startswith("agentcode: error: ") and message in done.stderr


def test_files_the_program_made_are_noted_when_not_kept(tmp_path: Path) -> None:
    code = "open('a.txt', 'w').write('a')\nopen('b.txt', 'w').write('b')\nprint('done')"
    done = run_cli(["run", "-"], stdin=code)
    assert done.stdout == "done\n"
    assert done.stderr == "agentcode: 2 files not saved; add --out DIR\n"
    kept = run_cli(["run", "--out", str(tmp_path / "out"), "-"], stdin=code)
    assert "not saved" not in kept.stderr and "saved 2 file(s)" in kept.stderr
    nothing = run_cli(["run", "-"], stdin="print('only output')")
    assert nothing.stderr == ""


def test_json_names_the_files_written_but_not_unchanged_inputs(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("x\n1\n")
    code = "open('out.csv', 'w').write(open('in.csv').read() + '2\\n')"
    done = run_cli(["run", "--file", str(data), "--json", "-"], stdin=code)
    result = json.loads(done.stdout)
    assert result["files"] == ["out.csv"] and done.stderr == ""


def test_json_after_a_timeout_says_124_and_timeout_error_without_agentcode_frames() -> None:
    code = "import time\ndef wait():\n    time.sleep(30)\nwait()"
    done = run_cli(["run", "--timeout", "1", "--json", "-"], stdin=code)
    assert done.exit_code == 124
    result = json.loads(done.stdout)
    assert result["exit_code"] == 124
    error = result["error"]
    assert error["name"] == "TimeoutError"
    lines = error["traceback"].splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert [line.strip() for line in lines if line.strip().startswith("File")] == [
        'File "<stdin>", line 4, in <module>', 'File "<stdin>", line 3, in wait']
    assert lines[-1] == "TimeoutError: the code ran past the 1 s timeout"
    assert "KeyboardInterrupt" not in error["traceback"]


def test_figures_ride_in_json_and_the_note_counts_them(data_sandbox_env: Path,
                                                       tmp_path: Path) -> None:
    env = {"AGENTCODE_SANDBOX_ENV": str(data_sandbox_env)}
    code = ("import matplotlib.pyplot as plt\n"
            "plt.bar(['a'], [1]); plt.savefig('saved.png')\n"
            "plt.figure(); plt.plot([1, 2])\n")
    done = run_cli(["run", "-"], stdin=code, env=env)
    assert done.exit_code == 0, done.stderr
    assert done.stderr == "agentcode: 1 file and 1 figure not saved; add --out DIR\n"
    as_json = json.loads(run_cli(["run", "--json", "-"], stdin=code, env=env).stdout)
    assert as_json["files"] == ["saved.png"]
    # The saved chart is shown (named by its file) and the open figure: the file is not
    # counted again as a figure, nor saved twice with --out.
    saved, figure = [o for o in as_json["outputs"] if o["png"]]
    assert saved["name"] == "saved.png" and figure["name"] is None
    assert base64.b64decode(figure["png"]).startswith(b"\x89PNG")
    out = tmp_path / "out"
    run_cli(["run", "--out", str(out), "-"], stdin=code, env=env)
    assert sorted(p.name for p in out.iterdir()) == ["figure-1.png", "saved.png"]


def test_display_of_a_dataframe_and_a_figure_as_in_a_notebook(data_sandbox_env: Path,
                                                              tmp_path: Path) -> None:
    env = {"AGENTCODE_SANDBOX_ENV": str(data_sandbox_env)}
    code = ("import pandas as pd, matplotlib.pyplot as plt\n"
            "df = pd.DataFrame({'region': ['East', 'West'], 'total': [3, 4]})\n"
            "print('totals:')\n"
            "display(df)\n"
            "fig, ax = plt.subplots(); ax.bar(df.region, df.total)\n"
            "display(fig)\n")
    done = run_cli(["run", "-"], stdin=code, env=env)
    assert done.exit_code == 0, done.stderr
    # On a terminal or a pipe: the text forms, after the program's own output.
    assert done.stdout.splitlines() == ["totals:", "  region  total", "0   East      3",
                                        "1   West      4", "<Figure size 640x480 with 1 Axes>"]
    assert done.stderr == "agentcode: 1 figure not saved; add --out DIR\n"  # shown once
    table, figure = json.loads(run_cli(["run", "--json", "-"], stdin=code, env=env).stdout)[
        "outputs"]
    assert "<table" in table["html"] and table["main"] is False
    assert base64.b64decode(figure["png"]).startswith(b"\x89PNG")
    out = tmp_path / "out"
    run_cli(["run", "--out", str(out), "-"], stdin=code, env=env)
    assert [p.name for p in out.iterdir()] == ["figure-1.png"]


def test_a_failed_run_notes_runs_own_options_that_went_to_the_program() -> None:
    code = "import sys\nprint(sys.argv[1:])\nsys.exit(3)"
    done = run_cli(["run", "-", "--json", "--out=x", "--json"], stdin=code)
    assert (done.exit_code, done.stdout) == (3, "['--json', '--out=x', '--json']\n")
    assert done.stderr == ("agentcode: note: --json, --out came after the file, so the program "
                           "got them; run's own options go before the file\n")
    ok = run_cli(["run", "-", "--json"], stdin="import sys\nprint(sys.argv[1:])")
    assert (ok.exit_code, ok.stdout, ok.stderr) == (0, "['--json']\n", "")  # its own option
