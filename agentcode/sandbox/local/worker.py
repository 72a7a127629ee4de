"""The sandbox worker: runs inside the jail, one process per session, standard library only.

The supervisor (sandbox/local.py) starts it as ``python -I -B -c <this source> <request fd>``.
The first line on the request fd is the worker's config (kept off the command line, where any
process could read it); then requests arrive as JSON lines, and one result line goes back per
request on the response fd, echoing the request's id. The code's stdout and stderr are the
worker's fds 1 and 2, pipes the supervisor drains while the code runs, so output streams live
and subprocesses' output is included.

Start-up cost matters (a session starts in well under 100 ms): only cheap modules are imported
here; ast, traceback and base64 load on first use.
"""

import io
import json
import os
import resource
import signal
import sys
import time
import types

# What the worker itself compiles, runs and encodes with, bound before any code runs: code that
# replaces builtins.compile or json.dumps must not change how a later request is run or what
# its result line says (the Verifier's tests run as a later request of the candidate's session).
_COMPILE, _EXEC, _EVAL = compile, exec, eval
_DUMPS = json.JSONEncoder().encode
_LOADS = json.JSONDecoder().decode

WORKER_FILENAME = sys.argv[0] if sys.argv and sys.argv[0] != "-c" else "<string>"


class CPUTimeLimitExceeded(BaseException):
    """The execution used up its CPU-time budget (RLIMIT_CPU). Not an Exception: a blanket
    ``except Exception`` in user code must not swallow it."""


class _State:
    running = False
    cpu_budget = 60
    output_bytes = 1024 * 1024
    count = 0
    workdir = "."
    shown = None  # the running execution's display() outputs (None between executions)
    shown_bytes = 0  # their size so far: past output_bytes, display() drops and counts
    dropped = 0


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
    # Changing uid made the process non-dumpable: /proc/self would then belong to root and the
    # code could not read its own /proc/self/fd or environ. Nothing secret is left to protect.
    import ctypes

    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE


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


def _format_exception(exc):
    """The traceback as `python script.py` prints it, without the worker's own frames; never
    raises (the code's exception may break str(), __format__ or its own attributes)."""
    try:
        return _traceback_text(exc)
    except BaseException:  # noqa: BLE001 - user code: every failure is data
        return f"{_type_name(exc)}: <the traceback could not be formatted>\n"


def _traceback_text(exc):
    import traceback

    report = traceback.TracebackException.from_exception(exc)
    pending, seen = [report], set()
    while pending:
        part = pending.pop()
        if part is None or id(part) in seen:
            continue
        seen.add(id(part))
        frames = [f for f in part.stack if f.filename != WORKER_FILENAME]
        part.stack = traceback.StackSummary.from_list(frames)
        pending += [part.__cause__, part.__context__]
    return "".join(report.format())


def _type_name(obj):
    """The class's own name (a metaclass cannot swap in a property that raises)."""
    try:
        name = vars(type)["__name__"].__get__(type(obj))
        return name if type(name) is str else "object"
    except BaseException:  # noqa: BLE001 - whatever the class does, the worker goes on
        return "object"


def _text(obj, limit):
    """``str(obj)``, cut to ``limit``: never raises (a ``__str__`` or ``__format__`` that raises
    or returns no str is the code's failure, not the worker's), never unbounded."""
    try:
        text = str(obj)
        if type(text) is not str:
            text = str.__str__(text)
    except BaseException:  # noqa: BLE001 - user code: every failure is data
        text = f"<{_type_name(obj)} object: str() failed>"
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    return text


def _write_err(text):
    """To the code's stderr, whatever the code did to sys.stderr."""
    try:
        sys.stderr.write(text)
    except BaseException:  # noqa: BLE001 - a replaced or closed stderr
        try:  # noqa: SIM105 - no contextlib import (start-up cost)
            _write_all(2, text.encode("utf-8", "replace"))
        except OSError:
            pass


def _error(exc, text, filename=None):
    limit = _State.output_bytes
    error = {"name": _type_name(exc), "value": _text(exc, limit), "traceback": _text(text, limit)}
    if filename is not None:
        error["frame_locals"] = _frame_locals(exc, filename)
    return error


# The failing frame's variables, shown to a repair (what the program saw: `row = {'r': 'e'}`
# makes a csv.DictReader over a string obvious). Bounded: they go back into a model's prompt.
LOCALS_COUNT = 10
LOCALS_CHARS = 120


def _frame_locals(exc, filename):
    """name -> short repr of the variables of the innermost frame of the user's program
    (``filename``), those on the failing line first; modules, functions, classes and dunder
    names left out. {} when no frame is the program's or anything goes wrong."""
    import re
    import reprlib

    try:
        frame, line = None, ""
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == filename:
                frame = tb.tb_frame
                import linecache

                line = linecache.getline(filename, tb.tb_lineno)
            tb = tb.tb_next
        if frame is None:
            return {}
        shown = reprlib.Repr()
        shown.maxstring = shown.maxother = LOCALS_CHARS - 20
        shown.maxlist = shown.maxtuple = shown.maxdict = shown.maxset = 6
        shown.maxlevel = 3
        on_line = set(re.findall(r"[A-Za-z_]\w*", line))
        names = [n for n in frame.f_locals if not n.startswith("__")]
        names.sort(key=lambda n: n not in on_line)  # stable: first-bound order otherwise
        out = {}
        for name in names:
            value = frame.f_locals[name]
            if isinstance(value, (types.ModuleType, types.FunctionType, type,
                                  types.BuiltinFunctionType, types.MethodType)):
                continue
            try:
                text = shown.repr(value)
            except Exception:  # noqa: BLE001 - a broken __repr__ is the user's
                text = f"<{type(value).__name__} object>"
            out[name] = text if len(text) <= LOCALS_CHARS else text[: LOCALS_CHARS - 3] + "..."
            if len(out) >= LOCALS_COUNT:
                break
        return out
    except BaseException:  # noqa: BLE001 - a late interrupt: the error itself still goes back
        return {}


def _compile(code, filename):
    """Split the code like a notebook cell: the statements, and a last bare expression."""
    import ast
    import linecache

    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    tree = _COMPILE(code, filename, "exec", ast.PyCF_ONLY_AST)
    last = None
    # A trailing ';' silences the value, as in IPython.
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
        last = ast.Expression(tree.body.pop().value)
    body = _COMPILE(tree, filename, "exec")
    return body, (_COMPILE(last, filename, "eval") if last is not None else None)


def _b64(data):
    import base64

    return base64.b64encode(data).decode("ascii")


def _rich(value, limit, main=True):
    """The value's reprs, as a notebook shows them: text always, and the rich ones it has."""
    out = {"main": main, "text": None, "html": None, "png": None}
    text = repr(value)
    out["text"] = text if len(text) <= limit else text[:limit] + "..."
    if isinstance(value, type):
        return out
    for key in ("html", "markdown", "svg"):
        result = _call_repr(value, key)
        if isinstance(result, str):
            out[key] = result[:limit]
    for key in ("png", "jpeg"):
        result = _call_repr(value, key)
        if isinstance(result, (bytes, bytearray)):
            out[key] = _b64(bytes(result))
    if out["png"] is None and callable(getattr(value, "savefig", None)) and hasattr(
            value, "canvas"):
        out["png"] = _figure_png(value)  # a matplotlib Figure, as a notebook shows it
    return out


def _call_repr(value, key):
    method = getattr(value, f"_repr_{key}_", None)
    result = method() if callable(method) else None
    # IPython lets a _repr_*_ return (data, metadata).
    return result[0] if isinstance(result, tuple) and result else result


def _figure_png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    figure._agentcode_saved = True  # shown once: not collected again as an open figure
    return _b64(buffer.getvalue())


def display(*objs):
    """Show each object in the results, in order, as a notebook's display() does. Past the
    output cap (a display() in a long loop) objects are dropped and counted on stderr."""
    for obj in objs:
        if _State.shown is None:
            print(repr(obj))
        elif _State.shown_bytes > _State.output_bytes:
            _State.dropped += 1
        else:
            out = _rich(obj, _State.output_bytes, main=False)
            _State.shown_bytes += sum(len(v) for v in out.values() if isinstance(v, str))
            _State.shown.append((time.time_ns(), out))


_IMAGES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".svg": "svg"}
_SUFFIXES = tuple(_IMAGES)
_SCAN_ENTRIES = 2000  # a walk of the work dir looks at no more than this many names


def _images():
    """{path: (mtime_ns, size)} of the image files in the work dir (regular files only)."""
    found, seen = {}, 0
    root = _State.workdir.rstrip("/") + "/"
    pending = [root]
    while pending and seen <= _SCAN_ENTRIES:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    seen += 1
                    if entry.is_dir(follow_symlinks=False):
                        if not entry.name.startswith("."):
                            pending.append(entry.path)
                    elif entry.name.lower().endswith(_SUFFIXES) and entry.is_file(
                            follow_symlinks=False):  # never a link
                        info = entry.stat(follow_symlinks=False)
                        found[entry.path[len(root):]] = (info.st_mtime_ns, info.st_size)
        except OSError:
            continue
    return found


def _saved_images(before):
    """(mtime_ns, output) for each image the code wrote or changed, named by its path."""
    shown = []
    for path, (mtime, size) in _images().items():
        if before.get(path) == (mtime, size) or size > _State.output_bytes:
            continue
        kind = _IMAGES[os.path.splitext(path)[1].lower()]
        try:
            with open(os.path.join(_State.workdir, path), "rb") as handle:
                data = handle.read(_State.output_bytes)
        except OSError:
            continue
        out = {"main": False, "text": None, "html": None, "png": None, "name": path}
        out[kind] = data.decode("utf-8", "replace") if kind == "svg" else _b64(data)
        shown.append((mtime, out))
    return shown


class _SavefigWatch:
    """A meta path finder that marks matplotlib figures the code saved itself.

    When ``matplotlib.figure`` is first imported, ``Figure.savefig`` is wrapped to set a flag on
    the figure, so `_figures` does not hand back a second copy of a chart already in a file.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib.figure":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        original = getattr(loader, "exec_module", None)
        if original is None:
            return spec

        def exec_module(module):
            original(module)
            _watch_savefig(module)

        loader.exec_module = exec_module
        return spec


def _watch_savefig(module):
    figure_class = getattr(module, "Figure", None)
    savefig = getattr(figure_class, "savefig", None)
    if savefig is None:
        return

    def watched_savefig(self, *args, **kwargs):
        result = savefig(self, *args, **kwargs)
        self._agentcode_saved = True
        return result

    watched_savefig.__wrapped__ = savefig
    watched_savefig.__doc__ = savefig.__doc__
    figure_class.savefig = watched_savefig


def _figures():
    """PNGs of the open matplotlib figures the code did not save itself, then close them all."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    outputs = []
    try:
        for number in plt.get_fignums():
            figure = plt.figure(number)
            if getattr(figure, "_agentcode_saved", False):
                continue
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
            png = _b64(buffer.getvalue())
            outputs.append({"main": False, "text": None, "html": None, "png": png})
    finally:
        plt.close("all")
    return outputs


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
    signal.signal(signal.SIGINT, _on_sigint)
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


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def main():
    requests = os.fdopen(int(sys.argv[1]), "rb")
    config = json.loads(requests.readline())
    workdir = config["workdir"]
    if config.get("uid") is not None:
        _drop_privileges(config["uid"], config["gid"], workdir)
    os.chdir(workdir)
    _State.workdir = workdir
    _apply_limits(config["limits"])
    signal.signal(signal.SIGINT, _on_sigint)
    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    responses = config["response_fd"]
    os.set_inheritable(requests.fileno(), False)
    os.set_inheritable(responses, False)
    _close_other_fds({requests.fileno(), responses})
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
    sys.meta_path.insert(0, _SavefigWatch())
    sys.path.insert(0, workdir)
    line_limit = int(config["line_limit"])
    os.write(responses, b'{"type": "ready"}\n')
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
