"""The sandbox worker: runs inside the jail, one process per session, standard library only.

The supervisor starts it as ``python -I -B -c <source> <request fd>``, the source being this
module joined with its parts (worker_state, worker_errors, worker_outputs: `jail.worker_source`).
The first line on the request fd is the worker's config (kept off the command line, where any
process could read it); then requests arrive as JSON lines, and one result line goes back per
request on the response fd, echoing the request's id. The code's stdout and stderr are the
worker's fds 1 and 2, pipes the supervisor drains while the code runs, so output streams live
and subprocesses' output is included.

Start-up cost matters (a session starts in well under 100 ms): only cheap modules are imported
here (not json, re, ast or ctypes: the C parts they use); traceback, linecache and base64 load
on first use.
"""

import _signal  # not signal: its enums load enum, functools and collections
import io
import os
import resource
import sys
import time
import types

from agentcode.sandbox.local.worker_errors import (
    _compile,
    _error,
    _format_exception,
    _text,
    _type_name,
    _write_err,
)
from agentcode.sandbox.local.worker_outputs import (
    _figures,
    _images,
    _ImportWatch,
    _rich,
    _saved_images,
    display,
)
from agentcode.sandbox.local.worker_state import (
    _DUMPS,
    _EVAL,
    _EXEC,
    _LOADS,
    CPUTimeLimitExceeded,
    _State,
    _write_all,
)


def _on_sigint(signum, frame):
    # The supervisor sends SIGINT on timeout or Ctrl-C; between executions it is ignored.
    if _State.running:
        raise KeyboardInterrupt


def _on_sigxcpu(signum, frame):
    _set_cpu_soft(resource.RLIM_INFINITY)
    if _State.running:
        raise CPUTimeLimitExceeded(f"CPU time limit of {_State.cpu_budget} s exceeded")


def _set_cpu_soft(soft):
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY and (soft == resource.RLIM_INFINITY or soft > hard):
        soft = hard
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _drop_privileges(uid, gid, workdir):
    # Root jail only: hand the work dir to the session uid, then become it for good. Leaving
    # uid 0 clears every capability bwrap granted for this step; RLIMIT_NPROC applies from now.
    os.chown(workdir, uid, gid)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def _guard_protocol(requests, responses):
    """Keep the protocol from what the code starts: no other process of the jail may read or
    write this process's memory, or open its pipes through /proc (PR_SET_DUMPABLE 0; the code's
    own /proc/self/environ and io become unreadable: os.environ has the same), and a process the
    code forks (os.fork, multiprocessing) gets /dev/null in place of the protocol's pipes, so it
    can neither read a later request (its id) before the worker nor answer one. Threads share
    this process: docs/security.md says what that leaves."""
    try:  # noqa: SIM105 - no contextlib import
        _prctl(4)  # PR_SET_DUMPABLE 0
    except (ImportError, OSError, AttributeError):
        pass  # no ctypes here: the per-process uid and seccomp's ptrace ban remain
    fds = (requests, responses)

    def forget():
        try:
            null = os.open(os.devnull, os.O_RDWR)
        except OSError:  # out of descriptors: closed, then (their numbers may be reused)
            for fd in fds:
                os.close(fd)
            return
        for fd in fds:
            os.dup2(null, fd, inheritable=False)
        os.close(null)

    os.register_at_fork(after_in_child=forget)


def _prctl(option):
    """``prctl(option, 0, 0, 0, 0)`` through _ctypes: the ctypes package (struct, its endian
    module) cost every session's start ~1 ms before the worker could say it is ready."""
    import _ctypes

    class Int(_ctypes._SimpleCData):
        _type_ = "i"

    class Function(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL
        _restype_ = Int

    class Libc:
        _handle = _ctypes.dlopen(None, 0)

    return Function(("prctl", Libc()))(option, 0, 0, 0, 0)


def _apply_limits(limits):
    mib = 1024 * 1024
    pairs = (
        (resource.RLIMIT_AS, limits["memory_mb"] * mib),
        (resource.RLIMIT_FSIZE, limits["file_size_mb"] * mib),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_NPROC, limits["processes"]),
    )
    for which, value in pairs:
        if value and value > 0:
            resource.setrlimit(which, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dumps, not even asked for
    _State.cpu_budget = int(limits["cpu_seconds"])
    _State.output_bytes = int(limits["output_bytes"])
    hard = limits.get("cpu_hard_seconds")
    if hard:
        # The host cannot move our hard limit per execution: a fixed total for the session.
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def _close_other_fds(keep):
    """Close what bwrap left open (its --args and data pipes): only the protocol stays."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                continue


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    _write_err(_text(code, _State.output_bytes) + "\n")  # as Python prints sys.exit("message")
    return 1


def _flush():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):  # noqa: SIM105 - no contextlib import
            continue


def _set_import_path(packages):
    """The standard library and the sandbox environment; not agentcode's own site-packages
    (nor what their .pth files added): the code gets only the packages made for it."""
    bases = tuple(p.rstrip("/") + "/" for p in {sys.base_prefix, sys.base_exec_prefix})
    sys.path[:] = [p for p in sys.path if p.startswith(bases)
                   and "site-packages" not in p and "dist-packages" not in p]
    if packages:
        import site

        site.addsitedir(packages)


def _program_name(argv):
    if argv and argv[0] not in ("", "-"):
        return argv[0]
    return "<stdin>" if _State.count == 1 else f"<stdin-{_State.count}>"


def run(request, namespace):
    _State.count += 1
    argv = [str(a) for a in request.get("argv") or ["-"]]
    sys.argv = argv
    filename = _program_name(argv)
    os.environ.update({str(k): str(v) for k, v in (request.get("env") or {}).items()})
    stdin_data = request.get("stdin") or ""
    if stdin_data:
        import base64

        stdin_data = base64.b64decode(stdin_data)
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin_data or b""), encoding="utf-8")
    _signal.signal(_signal.SIGINT, _on_sigint)
    result = {"type": "result", "status": "ok", "exit_code": 0, "error": None, "outputs": []}
    try:
        body, last = _compile(request["code"], filename)
    except (SyntaxError, ValueError) as exc:
        import traceback

        text = "".join(traceback.format_exception_only(type(exc), exc))
        _write_err(text)
        result.update(status="error", exit_code=1, error=_error(exc, text))
        return result
    used = resource.getrusage(resource.RUSAGE_SELF)
    # RLIMIT_CPU counts whole seconds of the worker's life: round up so the budget is never
    # less than asked.
    _set_cpu_soft(int(used.ru_utime + used.ru_stime) + 1 + max(1, _State.cpu_budget))
    images = _images()
    _State.shown, _State.shown_bytes, _State.dropped = [], 0, 0
    try:
        _State.running = True
        _EXEC(body, namespace)
        if last is not None:
            value = _EVAL(last, namespace)
            if value is not None:
                result["outputs"].append(_rich(value, _State.output_bytes))
        result["outputs"].extend(_figures())
    except KeyboardInterrupt as exc:
        # Not written to stderr: the supervisor knows whether it sent the interrupt (timeout,
        # Ctrl-C) or the code raised it itself, and reports it accordingly.
        text = _format_exception(exc)
        result.update(status="interrupted", exit_code=130, error=_error(exc, text))
    except SystemExit as exc:
        result["exit_code"] = _exit_code(exc)
    except BaseException as exc:  # noqa: BLE001 - user code: every failure is data
        text = _format_exception(exc)
        _write_err(_text(text, _State.output_bytes))  # past the cap it would be dropped anyway
        result.update(status="error", exit_code=1, error=_error(exc, text, filename))
    finally:
        _State.running = False
        # What display() showed and the images the code saved, in the order they came,
        # before the last expression's value and the figures left open.
        shown = sorted(_State.shown + _saved_images(images), key=lambda pair: pair[0])
        result["outputs"][:0] = [out for _, out in shown]
        _State.shown = None
        if _State.dropped:
            _write_err(f"display: {_State.dropped} more object(s) not shown "
                       "(over the output cap)\n")
        if result["status"] != "ok" and "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        _set_cpu_soft(resource.RLIM_INFINITY)
        sys.stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    return result


def _encode(result, limit):
    """The result line, never over ``limit`` (the supervisor stops a session past it)."""
    line = _DUMPS(result).encode() + b"\n"
    if len(line) > limit:
        # Too big for the protocol (huge figures): keep the text of each output only.
        for out in result["outputs"]:
            for key in ("html", "png", "jpeg", "svg", "markdown"):
                out[key] = None
        line = _DUMPS(result).encode() + b"\n"
    error = result.get("error") or {}
    if len(line) > limit:
        error.pop("frame_locals", None)
    while len(line) > limit:
        # Still too big (many outputs, or texts that escape to six bytes a character): halve
        # every text until it fits; with nothing left to cut, drop the outputs.
        holders = [(out, "text") for out in result["outputs"] if out.get("text")]
        holders += [(error, key) for key in ("value", "traceback") if error.get(key)]
        if not holders:
            result["outputs"] = []
        for holder, key in holders:
            text = holder[key]
            text = str.__str__(text) if isinstance(text, str) else ""  # a str subclass's own
            holder[key] = text[: len(text) // 2]  # slicing cannot keep it from shrinking
        line = _DUMPS(result).encode() + b"\n"
    return line


def _failed_run(exc):
    """The result when the worker itself failed to run or report the code (it goes on)."""
    name = _type_name(exc)
    text = f"the sandbox worker could not report this execution ({name})\n"
    return {"type": "result", "status": "error", "exit_code": 1, "outputs": [],
            "error": {"name": name, "value": text.strip(), "traceback": text}}




def main():
    requests = os.fdopen(int(sys.argv[1]), "rb")
    config = _LOADS(requests.readline().decode("utf-8"))
    workdir = config["workdir"]
    if config.get("uid") is not None:
        _drop_privileges(config["uid"], config["gid"], workdir)
    os.chdir(workdir)
    _State.workdir = workdir
    _apply_limits(config["limits"])
    _signal.signal(_signal.SIGINT, _on_sigint)
    _signal.signal(_signal.SIGXCPU, _on_sigxcpu)
    responses = config["response_fd"]
    os.set_inheritable(requests.fileno(), False)
    os.set_inheritable(responses, False)
    _close_other_fds({requests.fileno(), responses})
    _guard_protocol(requests.fileno(), responses)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    # The code runs as the script would: a fresh __main__, argv like `python -`, cwd on sys.path.
    user_main = types.ModuleType("__main__")
    user_main.__dict__["__builtins__"] = __builtins__
    user_main.__dict__["display"] = display  # as in a notebook
    sys.modules["__main__"] = user_main
    sys.argv = ["-"]
    _set_import_path(config.get("packages"))
    sys.meta_path.insert(0, _ImportWatch())
    sys.path.insert(0, workdir)
    line_limit = int(config["line_limit"])
    os.write(responses, b'{"type": "ready"}\n')
    # Every execution is split with _ast, whose node types take ~0.9 ms to set up at its first
    # import: done here, while no request is waiting yet (a spare jail waits here for its
    # session), not at the first request; one that is already waiting waits no longer for it.
    import _ast  # noqa: F401
    while True:
        try:
            line = requests.readline()
            if not line:
                return
            request = _LOADS(line.decode("utf-8"))
            request_id = request.pop("id", None)
        except KeyboardInterrupt:
            continue  # a late interrupt that landed between executions
        started = time.perf_counter()
        try:
            result = run(request, user_main.__dict__)
        except BaseException as exc:  # noqa: BLE001 - the session must outlive any code
            result = _failed_run(exc)
        result["id"] = request_id
        result["duration_ms"] = (time.perf_counter() - started) * 1000
        _flush()
        try:
            data = _encode(result, line_limit)
        except BaseException as exc:  # noqa: BLE001 - e.g. an output that is not JSON
            data = _encode({**_failed_run(exc), "id": result["id"],
                            "duration_ms": result["duration_ms"]}, line_limit)
        _write_all(responses, data)


if __name__ == "__main__":
    main()
