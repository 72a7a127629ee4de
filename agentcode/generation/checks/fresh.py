"""The verdict of the user's tests and ``--check``, from a process the candidate never ran in.

In a session of its own (the Verifier's default), the sandbox worker has run nothing yet: it runs
`DRIVER` as its first request. The driver forks a process that runs the job (setup, candidate,
tests, check, stdin) with `fresh_runner.py` and sends the verdict over a unix socket the driver
made; the driver takes it only from that process (``SO_PEERCRED``), enforces the time limit of
each stage and prints one JSON line. The candidate never runs in the worker before the verdict
is back, so nothing it does can change how the worker reads or reports it; what it can and
cannot do inside the judging process is in fresh_runner.py and docs/security.md.

Nothing here runs code in agentcode's own process: it builds the request and reads its answer.
"""

from __future__ import annotations

import base64
import functools
import json
import marshal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentcode.generation.checks.fresh_runner import RUNNER_FILENAME
from agentcode.generation.checks.user_tests import TestSource

_HERE = Path(__file__).parent


@functools.cache
def runner_source() -> str:
    """test_harness.py then fresh_runner.py, as one program (the latter's import of the former
    dropped: in the jail nothing of agentcode can be imported)."""
    harness = (_HERE / "test_harness.py").read_text(encoding="utf-8")
    runner = (_HERE / "fresh_runner.py").read_text(encoding="utf-8")
    start = runner.index("from agentcode.")
    end = runner.index(")\n", start) + 2
    runner = runner[:start] + runner[end:]
    source = harness + "\n\n" + runner.replace("from __future__ import annotations\n", "", 1)
    # Imports for annotations only (never evaluated): typing and collections cost the judging
    # process 10-20% of its start on a loaded machine.
    for line in ("from collections.abc import Callable, Iterator\n", "from typing import Any\n"):
        source = source.replace(line, "")
    return source


# Runs as the worker's first request: it loads the runner (definitions and standard modules
# only), forks a process that runs the job, and prints {"verdict", "stage", "tampered",
# "exit", "timed_out", "output"}. A fork of a worker no code has run in is as clean as a new
# interpreter and starts in a few ms. Before the fork the worker becomes non-dumpable
# (PR_SET_DUMPABLE 0: no other process of the jail may read or write its memory, or open its
# pipes through /proc), and the child inherits that; the child keeps no descriptor but its
# stage pipe and gets a pipe as stdout and stderr. Every wait has a deadline: a stage gets
# ``timeout`` seconds from its start, and all of them together no more than their sum.
DRIVER = r"""
def _agentcode_fresh_verdict(source):
    import json, os, select, signal, socket, struct, sys, time
    data = sys.stdin.buffer.read()  # the job's line, then the candidate's stdin as it is
    head, _, given = data.partition(b"\n")
    del data
    job = json.loads(head)
    job["stdin"] = given
    limit, stages = float(job.pop("timeout")), int(job.pop("stages"))
    try:
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
        del ctypes
    except Exception:
        pass
    for name in [n for n in sys.modules if n in ("ctypes", "_ctypes") or n.startswith("ctypes.")]:
        del sys.modules[name]  # the runner's audit hook refuses to import it again
    runner = {"__name__": "agentcode_verdict", "__builtins__": __builtins__}
    code = None
    if job.pop("version") == sys.version:  # the host's interpreter: its compiled runner
        import base64, marshal
        code = marshal.loads(base64.b64decode(job.pop("compiled")))
    exec(code or compile(source, "<agentcode-verdict>", "exec"), runner)
    address = "\0agentcode-verdict-" + os.urandom(16).hex()
    job["address"] = address
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(8)
    listener.setblocking(False)
    read_fd, write_fd = os.pipe()
    out_read, out_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out_write, 1)
            os.dup2(out_write, 2)
            os.closerange(3, write_fd)
            os.closerange(write_fd + 1, 1 << 16)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            runner["_verdict_main"](job, write_fd)
        finally:
            os._exit(70)
    os.close(write_fd)
    os.close(out_write)
    verdict = stage = tampered = None
    timed_out = False
    started = stage_started = time.monotonic()
    pending, output, status = b"", b"", None
    pipes = [read_fd, out_read]
    while verdict is None:
        left = min(stage_started + limit, started + limit * stages) - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready = select.select([listener] + pipes, [], [], min(left, 0.2))[0]
        if out_read in ready:
            part = os.read(out_read, 65536)
            output = (output + part)[-4000:]
            if not part:
                pipes.remove(out_read)
        if read_fd in ready:
            part = os.read(read_fd, 65536)
            if not part:
                pipes.remove(read_fd)
            pending = (pending + part)[-65536:]
            *lines, pending = pending.split(b"\n")
            for line in lines:
                try:
                    note = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(note, dict):
                    continue
                if isinstance(note.get("stage"), str) and note["stage"] != stage:
                    stage, stage_started = note["stage"][:20], time.monotonic()
                if isinstance(note.get("tampered"), str):
                    tampered = tampered or note["tampered"][:200]
        if listener in ready:
            try:
                conn = listener.accept()[0]
            except OSError:
                conn = None
            if conn is not None:
                peer = struct.unpack("3i", conn.getsockopt(
                    socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
                if peer == pid:  # this process, not one it forked
                    conn.settimeout(max(0.1, left))
                    data = b""
                    try:
                        while len(data) < 1 << 20:
                            part = conn.recv(65536)
                            if not part:
                                break
                            data += part
                    except OSError:
                        pass
                    try:
                        verdict = json.loads(data)
                    except ValueError:
                        verdict = {"ok": False, "stage": stage,
                                   "error": ["Exception", "no verdict"]}
                conn.close()
        if read_fd not in pipes and verdict is None:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
    try:
        os.killpg(pid, 9)
    except OSError:
        pass
    if status is None:
        status = os.waitpid(pid, 0)[1]
    listener.close()
    os.close(read_fd)
    os.close(out_read)
    print(json.dumps({"verdict": verdict, "stage": stage, "tampered": tampered,
                      "exit": os.waitstatus_to_exitcode(status), "timed_out": timed_out,
                      "output": output.decode("utf-8", "replace")}))
try:
    _agentcode_fresh_verdict(%r)
finally:
    del _agentcode_fresh_verdict
"""


def driver_step(*, code: str, setup: str | None, tests: TestSource | None, check: str | None,
                stdin: bytes | None, timeout: float,
                argv: Sequence[str] = ("-",)) -> tuple[str, bytes]:
    """The request that judges ``code`` in a fresh process: (its code, its stdin); ``argv``
    is the candidate's ``sys.argv``."""
    stages = 1 + (setup is not None) + (tests is not None) + (check is not None)
    job = {"setup": setup, "run": code, "check": check, "argv": list(argv),
           "tests": None if tests is None else tests.code,
           "tests_filename": None if tests is None else tests.filename,
           "timeout": timeout, "stages": stages}
    version, compiled = _compiled_runner()
    job.update(version=version, compiled=compiled)
    # The candidate's stdin follows the job's line unencoded (10 MB of it as hex inside the JSON
    # took 3x as long as the run itself); the forked process shares the driver's copy.
    return DRIVER % runner_source(), json.dumps(job).encode("utf-8") + b"\n" + (stdin or b"")


@functools.cache
def _compiled_runner() -> tuple[str, str]:
    """The runner compiled here, for a jail that runs this same interpreter (compiling it there
    took 14 ms of each verification at load 6)."""
    code = compile(runner_source(), RUNNER_FILENAME, "exec")
    return sys.version, base64.b64encode(marshal.dumps(code)).decode("ascii")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the fresh process reported: ``ok``; else the ``stage`` it failed in and why."""

    ok: bool
    stage: str
    report: dict[str, Any]
    timed_out: bool = False
    tampered: str | None = None
    exit_code: int | None = None
    output: str = ""


def read_verdict(stdout: str) -> Verdict | None:
    """The driver's answer (None when it printed none: the driver itself failed)."""
    try:
        answer = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    if not isinstance(answer, dict):
        return None
    report = answer.get("verdict")
    report = report if isinstance(report, dict) else {}
    stage = report.get("stage") or answer.get("stage") or "run"
    tampered = report.get("tampered") or answer.get("tampered")
    exit_code = answer.get("exit")
    return Verdict(
        ok=report.get("ok") is True and not answer.get("timed_out"),
        stage=str(stage), report=report, timed_out=bool(answer.get("timed_out")),
        tampered=str(tampered) if tampered else None,
        exit_code=exit_code if isinstance(exit_code, int) else None,
        output=str(answer.get("output") or ""))
