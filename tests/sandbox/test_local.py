"""The local sandbox, for real: bubblewrap, the worker, the protocol (functional behaviour)."""

from __future__ import annotations

import base64
import time

import pytest
from jail_helpers import small_settings

from agentcode.errors import SandboxError, SandboxUnavailableError
from agentcode.sandbox import open_sandbox
from agentcode.sandbox.local.session import LocalSandboxSession
from agentcode.sandbox.local.supervisor import Stream


def test_state_persists_and_last_expression_is_the_main_output(jail: LocalSandboxSession) -> None:
    first = jail.execute("import math\nx = 6 * 7\nprint('hello')")
    assert (first.stdout, first.outputs, first.exit_code, first.ok) == ("hello\n", [], 0, True)
    second = jail.execute("x + math.floor(0.5)")
    assert second.text == "42"
    assert second.outputs[0].main is True
    assert second.backend == "local" and second.session_id is None  # set by a Session


def test_none_and_trailing_semicolon_give_no_output(jail: LocalSandboxSession) -> None:
    assert jail.execute("None").outputs == []
    assert jail.execute("1 + 1;").outputs == []


def test_rich_reprs_are_collected(jail: LocalSandboxSession) -> None:
    code = (
        "class Pic:\n"
        "    def __repr__(self): return 'Pic()'\n"
        "    def _repr_html_(self): return '<b>pic</b>'\n"
        "    def _repr_png_(self): return b'\\x89PNG fake'\n"
        "Pic()"
    )
    out = jail.execute(code).outputs[0]
    assert (out.text, out.html, out.main) == ("Pic()", "<b>pic</b>", True)
    assert base64.b64decode(out.png or "") == b"\x89PNG fake"


def test_open_matplotlib_figures_become_pngs_and_are_closed(jail: LocalSandboxSession) -> None:
    # matplotlib is not installed in this venv: a stand-in `matplotlib.pyplot` module with the
    # same three calls exercises the worker's figure collection for real.
    setup = (
        "import sys, types\n"
        "plt = types.ModuleType('matplotlib.pyplot')\n"
        "plt.open = [1, 2]\n"
        "class Fig:\n"
        "    def __init__(self, n): self.n = n\n"
        "    def savefig(self, buf, format): buf.write(b'PNG%d' % self.n)\n"
        "plt.get_fignums = lambda: list(plt.open)\n"
        "plt.figure = Fig\n"
        "def close(which): plt.open.clear()\n"
        "plt.close = close\n"
        "sys.modules['matplotlib.pyplot'] = plt\n"
    )
    result = jail.execute(setup)
    pngs = [base64.b64decode(o.png or "") for o in result.outputs]
    assert pngs == [b"PNG1", b"PNG2"]
    assert all(not o.main for o in result.outputs)
    assert jail.execute("plt.open").text == "[]"


def test_stdout_and_stderr_stream_while_the_code_runs(jail: LocalSandboxSession) -> None:
    seen: list[tuple[str, str, float]] = []
    code = "import sys, time\nprint('a')\nprint('e', file=sys.stderr)\ntime.sleep(0.6)\nprint('b')"
    result = jail.execute(
        code,
        on_stdout=lambda s: seen.append(("out", s, time.monotonic())),
        on_stderr=lambda s: seen.append(("err", s, time.monotonic())),
    )
    done = time.monotonic()
    assert "".join(s for kind, s, _ in seen if kind == "out") == "a\nb\n" == result.stdout
    assert "".join(s for kind, s, _ in seen if kind == "err") == "e\n" == result.stderr
    first = next(t for kind, s, t in seen if s == "a\n")
    assert done - first >= 0.5  # 'a' arrived before the sleep, not with the result


def test_output_is_capped_per_stream_with_dropped_counts() -> None:
    with LocalSandboxSession(small_settings(output_bytes=1000)) as jail:
        result = jail.execute("import sys\nprint('x' * 5000)\nsys.stderr.write('y' * 3000)")
    assert result.stdout == "x" * 1000 and result.stdout_dropped == 4001
    assert result.stderr == "y" * 1000 and result.stderr_dropped == 2000


def test_stream_cap_keeps_the_callback_and_copy_identical() -> None:
    chunks: list[str] = []
    stream = Stream(5, chunks.append)
    for piece in (b"ab", "é".encode(), b"cdef"):
        stream.feed(piece)
    stream.finish()
    assert "".join(chunks) == stream.text() == "abéc"
    assert stream.dropped == 3


def test_stdin_is_what_the_code_reads(jail: LocalSandboxSession) -> None:
    result = jail.execute("import sys\nprint(sys.stdin.read().upper())", stdin=b"abc\n")
    assert result.stdout == "ABC\n\n"
    assert jail.execute("input()", stdin=b"line one\nline two\n").text == "'line one'"
    assert jail.execute("import sys; sys.stdin.read()").text == "''"


def test_files_in_and_out(jail: LocalSandboxSession) -> None:
    jail.write_files({"data/in.csv": b"a,b\n1,2\n"})
    result = jail.execute(
        "import os\nprint(open('data/in.csv').read().strip())\n"
        "os.makedirs('out', exist_ok=True)\nopen('out/r.txt', 'w').write('result')\nos.getcwd()"
    )
    assert result.stdout == "a,b\n1,2\n" and result.text == "'/sandbox'"
    assert jail.list_files() == ["data/in.csv", "out/r.txt"]
    assert jail.read_file("out/r.txt") == b"result"
    with pytest.raises(SandboxError, match="no file"):
        jail.read_file("missing.txt")


def test_written_files_belong_to_the_code(jail: LocalSandboxSession) -> None:
    jail.write_files({"notes.txt": b"v1"})
    jail.execute("open('notes.txt', 'a').write('+v2')")
    assert jail.read_file("notes.txt") == b"v1+v2"


def test_syntax_error_is_reported_like_python(jail: LocalSandboxSession) -> None:
    result = jail.execute("x = 1\nif x\n    pass\n")
    expected = '  File "<stdin>", line 2\n    if x\n        ^\nSyntaxError: expected \':\'\n'
    assert result.stderr == expected
    assert result.exit_code == 1 and result.error is not None
    assert result.error.name == "SyntaxError" and result.error.traceback == expected


def test_traceback_shows_only_the_users_frames(jail: LocalSandboxSession) -> None:
    result = jail.execute("def f():\n    return 1 / 0\n\nf()")
    assert result.exit_code == 1 and result.error is not None
    assert result.error.name == "ZeroDivisionError"
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == '  File "<stdin>", line 4, in <module>'
    assert '  File "<stdin>", line 2, in f' in lines
    assert "<string>" not in result.stderr and "worker" not in result.stderr
    assert result.stderr == result.error.traceback


def test_the_failing_frames_variables_come_back_as_short_reprs(
    jail: LocalSandboxSession,
) -> None:
    code = (
        "import csv, io\n"
        "text = 'region,amount\\nWest,3\\n' * 500\n"
        "def total(rows):\n"
        "    n = 0\n"
        "    for row in rows:\n"
        "        n += float(row['region'])\n"
        "    return n\n"
        "total([{'r': 'e'}])\n"
    )
    result = jail.execute(code)
    assert result.error is not None and result.error.name == "KeyError"
    seen = result.error.frame_locals
    assert list(seen)[:2] == ["n", "row"] or list(seen)[:2] == ["row", "n"]  # on the line first
    assert seen["row"] == "{'r': 'e'}" and seen["rows"] == "[{'r': 'e'}]"
    at_top = jail.execute("import os\nbig = 'x' * 100_000\nitems = list(range(1000))\n"
                          "class C:\n    def __repr__(self):\n        raise ValueError\n"
                          "c = C()\nitems[5000]\n")
    assert at_top.error is not None
    top = at_top.error.frame_locals
    assert "os" not in top and "C" not in top and "__name__" not in top  # modules, classes
    assert next(iter(top)) == "items" and len(top["big"]) <= 120
    assert top["items"].startswith("[0, 1, 2, 3, 4, 5, ...") and top["c"].startswith("<C instance")
    assert jail.execute("1 +").error.frame_locals == {}  # no frame ran


@pytest.mark.parametrize(("code", "status", "stderr"), [
    ("import sys; sys.exit(3)", 3, ""),
    ("import sys; sys.exit()", 0, ""),
    ("raise SystemExit(0)", 0, ""),
    ("import sys; sys.exit('bye')", 1, "bye\n"),
    ("exit(256 + 7)", 7, ""),
])
def test_system_exit_codes_like_python(jail: LocalSandboxSession, code: str, status: int,
                                       stderr: str) -> None:
    result = jail.execute("kept = 'yes'\n" + code)
    assert (result.exit_code, result.stderr, result.error) == (status, stderr, None)
    assert jail.execute("kept").text == "'yes'"  # the session survives sys.exit


def test_keyboard_interrupt_raised_by_the_code_is_an_error(jail: LocalSandboxSession) -> None:
    result = jail.execute("raise KeyboardInterrupt")
    assert result.exit_code == 130 and result.error is not None
    assert result.stderr.endswith("KeyboardInterrupt\n")


def test_cpu_budget_is_per_execution_and_raises() -> None:
    with LocalSandboxSession(small_settings(cpu_seconds=1)) as jail:
        jail.execute("n = 0")
        result = jail.execute("while True:\n    n += 1", timeout=15)
        assert result.error is not None and result.error.name == "CPUTimeLimitExceeded"
        assert "CPU time limit of 1 s" in result.stderr
        again = jail.execute(
            "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass\n'ok'"
        )
        assert again.text == "'ok'"  # a fresh budget, not what is left of the last one


def test_code_that_ends_the_worker_gets_a_fresh_session(jail: LocalSandboxSession) -> None:
    jail.execute("x = 1")
    jail.write_files({"f.txt": b"1"})
    result = jail.execute("import os; print('bye', flush=True); os._exit(3)")
    assert result.stdout == "bye\n" and result.exit_code == 3
    assert result.error is not None and result.error.name == "SandboxExited"
    assert "variables and files are gone" in result.error.value
    after = jail.execute("'x' in globals()")
    assert after.text == "False"
    assert jail.list_files() == []


def test_open_sandbox_names_the_backends(jail_settings: object) -> None:
    with pytest.raises(Exception, match="unknown sandbox 'nope'"):
        open_sandbox("nope", small_settings())


def test_unsafe_backend_warns_loudly_every_time(capfd: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):
        with open_sandbox("unsafe", small_settings()) as session:
            assert session.backend == "unsafe"
            result = session.execute("import os\nx = 2\nprint(os.getcwd() != '/sandbox')\nx * 21")
            assert (result.stdout, result.text) == ("True\n", "42")
    err = capfd.readouterr().err
    assert err.count("WARNING: the 'unsafe' sandbox runs code WITHOUT ISOLATION") == 2


def test_missing_bubblewrap_is_refused_with_install_hint(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: object) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without bwrap
    with pytest.raises(SandboxUnavailableError, match="apt-get install bubblewrap") as info:
        LocalSandboxSession(small_settings())
    assert info.value.exit_code == 4


def test_host_ctrl_c_interrupts_the_code_and_keeps_state(jail: LocalSandboxSession) -> None:
    jail.execute("kept = 7")

    def ctrl_c(_: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        jail.execute("print('go', flush=True)\nimport time\ntime.sleep(30)", on_stdout=ctrl_c)
    assert jail.execute("kept").text == "7"


def test_display_shows_rich_reprs_in_call_order_before_the_value(
        jail: LocalSandboxSession) -> None:
    code = (
        "class Table:\n"
        "    def __repr__(self): return 'Table(2 rows)'\n"
        "    def _repr_html_(self): return '<table></table>'\n"
        "class Note:\n"
        "    def _repr_markdown_(self): return '**done**'\n"
        "class Pic:\n"
        "    def _repr_png_(self): return (b'\\x89PNG fake', {'width': 1})\n"
        "print('before')\n"
        "display(Table(), 'plain')\n"
        "display(Note(), Pic())\n"
        "6 * 7"
    )
    result = jail.execute(code)
    assert result.ok and result.stdout == "before\n"
    table, plain, note, pic, value = result.outputs
    assert (table.text, table.html, table.main) == ("Table(2 rows)", "<table></table>", False)
    assert (plain.text, plain.html) == ("'plain'", None)
    assert note.markdown == "**done**" and base64.b64decode(pic.png or "") == b"\x89PNG fake"
    assert (value.text, value.main) == ("42", True)
    assert result.displayed == ["Table(2 rows)", "'plain'", "**done**", pic.text]
    # display() is per execution: the next one starts empty, and code may shadow the name.
    assert jail.execute("display = print\ndisplay('x')").outputs == []


def test_display_past_the_output_cap_is_dropped_and_counted() -> None:
    session = LocalSandboxSession(small_settings(output_bytes=1000))
    try:
        result = session.execute("for i in range(50): display('x' * 100)")
    finally:
        session.close()
    assert result.ok and 9 <= len(result.outputs) <= 12
    assert "more object(s) not shown (over the output cap)" in result.stderr


def test_the_worker_runs_as_one_program_joined_from_its_parts() -> None:
    # The parts import each other on the host; in the jail they are one `python -c` program
    # with nothing of agentcode importable, so the joined source must not import agentcode.
    import ast

    from agentcode.sandbox.local import jail

    tree = ast.parse(jail.worker_source())
    imported = {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.startswith("agentcode")}
    defined = {node.name for node in tree.body
               if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    assert {"main", "run", "display", "_error", "_State"} <= defined
