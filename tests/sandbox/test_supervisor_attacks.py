"""Code that attacks the supervisor itself: its pipes, its result line, its drain loop.

Every request returns within its timeout plus the kill grace plus the drain allowance, and a
malformed message is one SandboxError, never a hang or a non-agentcode exception.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from jail_helpers import small_settings

from agentcode.errors import ExecutionTimeoutError, SandboxError
from agentcode.sandbox.local.session import LocalSandboxSession
from agentcode.sandbox.local.supervisor import DRAIN_SECONDS, EXIT_SECONDS

# The code shares the worker's process: it can reach the worker's variables through its frames.
WORKER_LOCALS = (
    "import os, sys\n"
    "found, frame = {}, sys._getframe()\n"
    "while frame is not None:\n"
    "    found.update({k: v for k, v in frame.f_locals.items() if k not in found})\n"
    "    frame = frame.f_back\n"
)


def _bound(timeout: float, grace: float) -> float:
    return timeout + grace + DRAIN_SECONDS + EXIT_SECONDS + 1.5  # + 1.5 s for a loaded machine


def test_closing_the_result_pipe_and_sleeping_does_not_hang() -> None:
    with LocalSandboxSession(small_settings(kill_grace_seconds=0.5)) as jail:
        started = time.monotonic()
        result = jail.execute(
            "import os, time\n"
            "for fd in range(3, 64):\n"
            "    try:\n"
            "        if os.fstat(fd) and not os.get_inheritable(fd): os.close(fd)\n"
            "    except OSError: pass\n"
            "time.sleep(60)",
            timeout=2,
        )
        assert time.monotonic() - started < _bound(2, 0.5)
        assert result.error is not None and result.error.name == "SandboxExited"
        assert jail.execute("1 + 1").text == "2"  # a fresh worker


def test_run_timeout_holds_when_the_code_closes_its_pipes() -> None:
    code = (
        "import os, time\n"
        "for fd in range(3, 64):\n"
        "    try: os.close(fd)\n"
        "    except OSError: pass\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "agentcode", "run", "--no-history",
                           "--timeout", "3", "-"], input=code.encode(), capture_output=True,
                          timeout=60)
    assert time.monotonic() - started < _bound(3, 2.0) + 2  # + the CLI's own start-up
    assert done.returncode != 0
    assert b"Traceback" not in done.stderr


def test_a_stdout_flood_after_the_result_does_not_hold_the_drain() -> None:
    with LocalSandboxSession(small_settings(kill_grace_seconds=0.5)) as jail:
        started = time.monotonic()
        jail.execute(
            "import os, threading\n"
            "def flood():\n"
            "    block = b'x' * 65536\n"
            "    while True: os.write(1, block)\n"
            "for _ in range(4): threading.Thread(target=flood, daemon=True).start()\n",
            timeout=3,
        )
        assert time.monotonic() - started < _bound(3, 0.5)
        # Between executions the flood is stopped; what it wrote is not the next one's output.
        nxt = jail.execute("print('clean')", timeout=3)
        assert nxt.stdout.startswith("clean\n") or nxt.stdout_dropped >= 0
        assert time.monotonic() - started < 2 * _bound(3, 0.5)


@pytest.mark.parametrize("forged", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"type": "result", "id": ID, "status": "ok", "exit_code": 1e999, "outputs": []}',
    b'{"type": "result", "id": ID, "status": "ok", "exit_code": 7, "outputs": 5}',
    b'{"type": "result", "id": ID, "status": "ok", "exit_code": 99999999999999999999}',
    b'{"type": "result", "id": ID, "status": "ok", "exit_code": 0, "error": [1]}',
    b'{"type": "result", "id": ID, "status": "ok", "exit_code": 0, "outputs": [{"text": 5}]}',
    b'{"type": "result", "id": 999, "status": "ok", "exit_code": 0}',
    b'{"type": "result", "id": ID, "status": "error", "exit_code": 1, '
    b'"error": {"name": "E", "value": "", "frame_locals": [1]}}',
    b"\xff\xfe not json",
])
def test_a_forged_result_line_is_one_sandbox_error(forged: bytes) -> None:
    with LocalSandboxSession(small_settings()) as jail:
        code = (
            WORKER_LOCALS +
            "responses, request_id = found['responses'], found['request_id']\n"
            f"line = {forged!r}.replace(b'ID', b'\"' + request_id.encode() + b'\"')\n"
            "os.write(responses, line + b'\\n')\n"
            "import time; time.sleep(30)\n"
        )
        with pytest.raises(SandboxError, match="malformed result"):
            jail.execute(code, timeout=10)
        assert jail.execute("6 * 7").text == "42"  # the next execute starts a fresh sandbox


def test_an_oversized_message_is_refused() -> None:
    with LocalSandboxSession(small_settings()) as jail, pytest.raises(SandboxError):
        jail.execute(
            WORKER_LOCALS +
            "fd = found['responses']\n"
            "chunk = b'x' * 2**20\n"
            "for _ in range(80): os.write(fd, chunk)\n",
            timeout=20,
        )


def test_the_worker_config_is_not_on_the_command_line(jail: LocalSandboxSession) -> None:
    result = jail.execute(
        "import os\n"
        "print(all('\"response_fd\":' not in open(f'/proc/{p}/cmdline').read()\n"
        "          for p in os.listdir('/proc') if p.isdigit()))"
    )
    assert result.stdout == "True\n"


def test_timeout_with_killed_session_is_reported_not_hung() -> None:
    with LocalSandboxSession(small_settings(kill_grace_seconds=0.5)) as jail:
        started = time.monotonic()
        with pytest.raises(ExecutionTimeoutError):
            jail.execute("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                         "time.sleep(60)", timeout=1)
        assert time.monotonic() - started < _bound(1, 0.5)


def test_exceptions_that_break_str_or_format_do_not_kill_the_worker() -> None:
    """An exception whose __str__ raises, or sys.exit(obj) whose __format__ raises, killed the
    worker and lost the session's state."""
    with LocalSandboxSession(small_settings()) as jail:
        assert jail.execute("kept = 41").ok
        broken_str = jail.execute(
            "class Odd(Exception):\n"
            "    def __str__(self): raise RuntimeError('no str for you')\n"
            "raise Odd()")
        assert broken_str.error is not None and broken_str.error.name == "Odd"
        assert "str() failed" in broken_str.error.value
        broken_format = jail.execute(
            "import sys\n"
            "class Code:\n"
            "    def __format__(self, spec): raise SystemExit(3)\n"
            "    def __str__(self): raise KeyboardInterrupt\n"
            "sys.exit(Code())")
        assert broken_format.exit_code == 1
        meta = jail.execute(
            "class Meta(type):\n"
            "    @property\n"
            "    def __name__(cls): raise RuntimeError('no name')\n"
            "class E(Exception, metaclass=Meta):\n"
            "    def __str__(self): return 5\n"
            "raise E()")
        assert meta.error is not None and meta.exit_code == 1
        assert jail.execute("kept + 1").text == "42"


def test_a_huge_exception_message_is_cut_not_the_session() -> None:
    """A 100 MB exception message made the result line too long: the session stopped (exit 4)."""
    settings = small_settings(memory_mb=1024)
    with LocalSandboxSession(settings) as jail:
        assert jail.execute("kept = 'still here'").ok
        started = time.monotonic()
        huge = jail.execute("raise ValueError('x' * 100_000_000)", timeout=20)
        assert huge.error is not None and huge.error.name == "ValueError"
        cap = settings.limits.output_bytes
        assert len(huge.error.value) < cap + 100 and "more characters" in huge.error.value
        assert len(huge.stderr) <= cap
        assert jail.execute("kept").text == "'still here'"
        assert time.monotonic() - started < 15


def test_a_result_line_past_the_cap_stops_the_session() -> None:
    """A forged 60 MiB result grew the server by 230 MiB: the whole line is capped now (8 MiB
    plus two output caps), not only stdout and stderr."""
    from agentcode.sandbox.local.jail import line_limit

    settings = small_settings()
    over = line_limit(settings.limits) + 1024
    assert over < 12 * 2**20
    with LocalSandboxSession(settings) as jail, pytest.raises(SandboxError, match="oversized"):
        jail.execute(
            WORKER_LOCALS +
            "fd = found['responses']\n"
            f"os.write(fd, b'{{\"type\": \"result\", \"text\": \"' + b'x' * {over})\n"
            "import time; time.sleep(20)\n",
            timeout=20,
        )


def test_many_large_outputs_still_fit_the_result_line() -> None:
    with LocalSandboxSession(small_settings(output_bytes=4 * 2**20)) as jail:
        result = jail.execute(
            "for i in range(8): display('\\u2603' * 4_000_000)\n"  # escapes to 6 bytes each
            "raise RuntimeError('\\u2603' * 4_000_000)")
        assert result.error is not None and result.error.name == "RuntimeError"
        assert jail.execute("1 + 1").text == "2"


def test_a_later_executions_result_cannot_be_forged_by_counting() -> None:
    """Ids were sequential (1, 2, 3...): code left behind answered the next execution with a
    result of its own. Ids are random now: a line with the next count is refused."""
    with LocalSandboxSession(small_settings()) as jail:
        planted = jail.execute(
            WORKER_LOCALS +
            "import threading, time, json\n"
            "fd, mine = found['responses'], found['request_id']\n"
            "def forge():\n"
            "    time.sleep(0.5)\n"  # runs once the next execution thaws the session
            "    for guess in (2, '2', mine):\n"
            "        os.write(fd, json.dumps({'type': 'result', 'id': guess, 'status': 'ok',\n"
            "                                 'exit_code': 0, 'outputs': []}).encode() + b'\\n')\n"
            "threading.Thread(target=forge, daemon=True).start()\n"
            "len(mine)")
        assert planted.text == "32"  # 128 random bits, as hex
        with pytest.raises(SandboxError, match="answers another request"):
            jail.execute("import time; time.sleep(2); print('the real result')", timeout=10)


def test_a_process_left_behind_cannot_read_or_answer_a_later_request() -> None:
    """Issue 24: a process the code forked kept the worker's protocol pipes and could read the
    worker's memory (/proc/PID/mem, with the next request's id): it could take a later request
    off the pipe or answer it. Now the worker is not dumpable and a fork gets /dev/null there."""
    with LocalSandboxSession(small_settings()) as jail:
        planted = jail.execute(
            WORKER_LOCALS +
            "import json, time\n"
            "worker, fds = os.getpid(), (found['requests'].fileno(), found['responses'])\n"
            "if os.fork() == 0:\n"
            "    time.sleep(0.5)\n"  # runs once the next execution thaws the session
            "    seen = []\n"
            "    for path in (f'/proc/{worker}/mem', *(f'/proc/{worker}/fd/{fd}' for fd in fds)):\n"
            "        try:\n"
            "            open(path, 'rb').close(); seen.append('opened ' + path)\n"
            "        except OSError as exc:\n"
            "            seen.append(type(exc).__name__)\n"
            "    seen.append(os.read(fds[0], 4096).decode() or 'no request')\n"
            "    os.write(fds[1], json.dumps({'type': 'result', 'id': 'x', 'status': 'ok',\n"
            "                                 'exit_code': 0, 'outputs': []}).encode() + b'\\n')\n"
            "    open('/tmp/seen', 'w').write(json.dumps(seen))\n"
            "    os._exit(0)\n"
            "'planted'")
        assert planted.text == "'planted'"
        later = jail.execute("import time; time.sleep(1.5); print(open('/tmp/seen').read())",
                             timeout=10)
        assert later.ok, later.stderr  # the worker took its own request and answered it
        import json

        seen = json.loads(later.stdout)
        assert seen == ["PermissionError", "PermissionError", "PermissionError", "no request"]
        assert jail.execute("1 + 1").text == "2"


def test_an_execution_can_rewrite_how_later_ones_of_its_session_are_reported() -> None:
    """The premise of the trust model (docs/security.md): one Session is one trust domain. An
    execution rewrites the worker it shares an interpreter with, leaves no thread and no process
    behind, and every later result says what it chose: a process that sheds threads (issue 24's
    fork-when-threaded) would carry the rewrite along, which is why it was not built. If a
    boundary between executions is ever built, this test changes with that section."""
    with LocalSandboxSession(small_settings()) as jail:
        planted = jail.execute(
            "import os\n"
            "g = display.__globals__\n"  # the worker's own module: its loop calls g['run']
            "real = g['run']\n"
            "def run(request, namespace):\n"
            "    result = real(request, namespace)\n"
            "    threads = len(os.listdir('/proc/self/task'))\n"
            "    result.update(status='ok', exit_code=0, error=None,\n"
            "                  outputs=[{'text': f'forged ({threads} thread)'}])\n"
            "    return result\n"
            "g['run'] = run\n")
        assert planted.ok, planted.stderr
        later = jail.execute("1 / 0")
    assert "ZeroDivisionError" in later.stderr  # the code failed...
    assert later.ok and later.exit_code == 0  # ...and its result says it did not
    assert [output.text for output in later.outputs] == ["forged (1 thread)"]
