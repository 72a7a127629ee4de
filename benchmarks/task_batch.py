"""Run many task programs in one local sandbox session, each as it would run alone.

Starting a sandbox per program costs about 0.1 s (more on a busy machine); the suite checks some
600 programs (every task's reference, wrong and right programs). So one session runs a small
driver that forks a child per program: the child gets a fresh work dir holding the task's files,
the task's stdin and argv, runs the program like the worker does (``exec`` as ``__main__``), and
the driver collects its exit code, stdout and the files it created or changed. The programs run
inside the same jail, with the same packages, as `agentcode run`; only the host reads the results.
"""

from __future__ import annotations

import json
from typing import Any

# Runs inside the sandbox worker: stdlib only. Reads _batch_in.json, writes _batch_out.json.
DRIVER = r'''
import json, os, shutil, signal, sys, tempfile, time, traceback

def _preload():
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threads do not survive a fork
    for name in ("numpy", "pandas", "matplotlib.pyplot"):
        try:
            __import__(name)
        except Exception:
            pass

def _child(job, task, work):
    os.chdir(work)
    for fd, name, flags in ((0, "_in", os.O_RDONLY), (1, "_out", os.O_WRONLY | os.O_CREAT),
                            (2, "_err", os.O_WRONLY | os.O_CREAT)):
        os.dup2(os.open(os.path.join(_scratch, name), flags, 0o600), fd)
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    sys.argv = ["-", *task.get("argv", [])]
    code = 0
    try:
        exec(compile(job["code"], "<stdin>", "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code & 255)

def _read(path):
    with open(path, "rb") as f:
        return f.read()

def _run(job, task, timeout):
    work = tempfile.mkdtemp(prefix="w", dir=_scratch)
    for name, text in task.get("files", {}).items():
        with open(os.path.join(work, name), "w", encoding="utf-8", newline="") as f:
            f.write(text)
    with open(os.path.join(_scratch, "_in"), "w", encoding="utf-8", newline="") as f:
        f.write(task.get("stdin") or "")
    for name in ("_out", "_err"):
        open(os.path.join(_scratch, name), "w").close()
    pid = os.fork()
    if pid == 0:
        _child(job, task, work)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            exit_code = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            exit_code = None
            break
        time.sleep(0.002)
    inputs = task.get("files", {})
    written = {}
    for name in sorted(os.listdir(work)):
        path = os.path.join(work, name)
        if os.path.isfile(path):
            data = _read(path).decode("utf-8", "replace")
            if inputs.get(name) != data:
                written[name] = data
    shutil.rmtree(work, ignore_errors=True)
    return {"exit_code": exit_code, "files": written,
            "stdout": _read(os.path.join(_scratch, "_out")).decode("utf-8", "replace"),
            "stderr": _read(os.path.join(_scratch, "_err")).decode("utf-8", "replace")[-2000:]}

_batch = json.loads(_read("_batch_in.json"))
_scratch = tempfile.mkdtemp(prefix="batch")
if _batch["preload"]:
    _preload()
_results = [_run(job, _batch["tasks"][job["task"]], _batch["timeout"]) for job in _batch["jobs"]]
with open("_batch_out.json", "w") as f:
    json.dump(_results, f)
shutil.rmtree(_scratch, ignore_errors=True)
'''


def run_programs(jobs: list[tuple[Any, str]], settings: Any, *, timeout: float = 20.0,
                 batch_timeout: float = 900.0) -> list[dict[str, Any]]:
    """Run each ``(task, code)`` in one sandbox session; per job ``exit_code`` (None: timed
    out), ``stdout``, ``stderr`` and ``files`` (the names it created or changed, as text)."""
    from agentcode.api.session import Session

    tasks = {task.name: {"stdin": task.stdin, "files": task.files, "argv": task.argv}
             for task, _ in jobs}
    data_tags = {"pandas", "numpy", "matplotlib"}
    payload = {
        "tasks": tasks, "timeout": timeout,
        "preload": any(data_tags & set(task.tags) for task, _ in jobs),
        "jobs": [{"task": task.name, "code": code} for task, code in jobs],
    }
    with Session("local", settings=settings) as session:
        session.write_files({"_batch_in.json": json.dumps(payload).encode("utf-8")})
        execution = session.execute(DRIVER, timeout=batch_timeout)
        if execution.exit_code != 0 or execution.error is not None:
            raise RuntimeError(f"batch driver failed: {execution.stderr[-2000:]}")
        results: list[dict[str, Any]] = json.loads(session.sandbox.read_file("_batch_out.json"))
    return results
