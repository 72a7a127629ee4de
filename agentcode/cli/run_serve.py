"""One child of the `run` helper (agentcode/cli/run_helper.py): a spare jail, then one request.

The exchange with the client is in agentcode/cli/run_client.py. The child is forked from the
single-threaded master with everything loaded; it starts its spare jail on a thread, waits in
accept(), and serves exactly one client: the jail is never handed to anyone else.
"""

from __future__ import annotations

import contextlib
import io
import marshal
import os
import select
import signal
import socket
import struct
import sys
import threading
from typing import Any

_REQUEST_TIMEOUT = 5.0  # for the client's request and its go, once connected
_MAX_REQUEST = 64 * 1024 * 1024
_FDS = 4  # the client's working directory, stdin, stdout, stderr


def stamps() -> dict[str, tuple[int, int]]:
    """(mtime, size) of each agentcode module file loaded, and of each directory on the import
    path: a change means stale code. A directory changes when something is installed into it
    or removed from it (`pip install`: a new plugin, an upgraded strands), which the modules
    the master loaded would not show."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if path.startswith(package):
            paths.append(path)
    found = {}
    for path in paths:
        with contextlib.suppress(OSError):
            info = os.stat(path)
            found[path] = (info.st_mtime_ns, info.st_size)
    return found


def stale(stamps: dict[str, tuple[int, int]]) -> bool:
    for path, stamp in stamps.items():
        try:
            info = os.stat(path)
        except OSError:
            return True
        if (info.st_mtime_ns, info.st_size) != stamp:
            return True
    return False


class Declined(Exception):
    """This child does not run the request; the client runs it in process. ``tell`` is what
    the master hears (`Child`): d declined (it forks the next idle child), x stale code (it
    goes)."""

    def __init__(self, tell: bytes = b"d") -> None:
        super().__init__()
        self.tell = tell


class Child:
    """One idle child: ``taken_w`` tells the master what became of it (a byte: t taken,
    f finished, d declined, x stale code), ``master`` ends (EOF) when the master does."""

    def __init__(self, listener: socket.socket, taken_w: int,
                 stamps: dict[str, tuple[int, int]], master: int | None = None) -> None:
        self.listener = listener
        self.master = master
        self.taken_w = taken_w
        self.stamps = stamps
        self.go = False  # the client said go: from here on the request is ours to finish
        self.done = False  # the status is on its way: the client's EOF is expected

    def serve(self) -> int:
        # Idle, SIGTERM (the master leaving) ends the child and closes its spare jail; once
        # the request is ours it acts as it does on `agentcode run` in process.
        signal.signal(signal.SIGTERM, self._leave_unless_go)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # The master ignores SIGHUP; a jail started with it ignored would keep that.
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        self._start_spare()
        conn = self.accept()
        try:
            return self._serve(conn)
        except Declined as declined:
            with contextlib.suppress(OSError):
                os.write(self.taken_w, declined.tell)
            with contextlib.suppress(OSError):
                conn.sendall(b"d")
            return 0
        finally:
            conn.close()

    def accept(self) -> socket.socket:
        """The next connection from a process of this user (anyone else's gets no answer)."""
        while True:
            watched: list[Any] = [self.listener]
            if self.master is not None:
                watched.append(self.master)
            if self.master in select.select(watched, [], [])[0]:
                raise SystemExit(0)  # the master is gone: so is this child, and its jail
            conn, _ = self.listener.accept()
            if _peer_uid(conn) == os.getuid():
                return conn
            conn.close()

    def _leave_unless_go(self, signum: int, frame: Any) -> None:
        if not self.go:
            raise SystemExit(0)

    def _start_spare(self) -> None:
        try:
            from agentcode.config import load_settings
            from agentcode.sandbox.local import spare

            settings = load_settings()
            if settings.sandbox == "local":
                spare.keep_once(settings)
        except Exception:  # noqa: BLE001 - the request's own run reports what is wrong
            pass

    def _serve(self, conn: socket.socket) -> int:
        if stale(self.stamps):
            raise Declined(b"x")  # the master goes; a new helper loads the new code
        conn.settimeout(_REQUEST_TIMEOUT)
        request, fds = _receive(conn)
        try:
            self._take_environment(request)
            os.write(self.taken_w, b"t")  # taken: the master forks the next idle child soon
            self.listener.close()
            if self.master is not None:
                os.close(self.master)
            try:
                conn.sendall(b"a")
                go = conn.recv(1)
            except OSError:
                go = b""
            if go != b"g":
                return 0  # the client gave up waiting and runs it itself
            self.go = True
            conn.settimeout(None)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            _ignore_as_the_client(list(request.get("ignored") or ()))
            _take_descriptors(fds, request)
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        threading.Thread(target=self._watch, args=(conn,), name="agentcode-run-client",
                         daemon=True).start()
        status = _run(list(request["argv"]))
        self.done = True
        conn.sendall(b"s" + (status & 0xFFFFFFFF).to_bytes(4, "big"))
        with contextlib.suppress(OSError):
            os.write(self.taken_w, b"f")  # done: the next child's start no longer slows us
        return 0

    def _take_environment(self, request: dict[str, Any]) -> None:
        from agentcode.sandbox.local.resident import keep_alive_seconds

        environ = {str(k): str(v) for k, v in request["env"].items()}
        if _interpreter_settings(environ) != _interpreter_settings(os.environ):
            # PYTHONPATH and the like set up the interpreter, which is the master's: a plugin
            # only the client's path can import would not be found here.
            raise Declined
        if tuple(request.get("fs") or ()) != (sys.getfilesystemencoding(),
                                              sys.getfilesystemencodeerrors()):
            # The client's locale decoded its argv, environment and file names (a Latin-1
            # é is U+00E9); encoded again as this interpreter's (UTF-8), a path is another.
            raise Declined
        os.environ.clear()
        os.environ.update(environ)
        os.umask(int(request["umask"]))
        try:
            from agentcode.config import load_settings

            off = keep_alive_seconds(load_settings()) <= 0
        except Exception:  # noqa: BLE001 - a bad config: `run` itself says what is wrong
            off = False
        if off:
            raise Declined

    def _watch(self, conn: socket.socket) -> None:
        """Forwarded signals are raised in the main thread (so a blocking wait there is
        interrupted, as in process); the client's end closing ends the run and the jail."""
        main = threading.main_thread().ident
        assert main is not None
        while True:
            try:
                data = conn.recv(64)
            except OSError:
                data = b""
            if not data:
                if not self.done and signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
                    os.kill(os.getpid(), signal.SIGKILL)  # (`nohup`): the run goes with us
                if not self.done:
                    signal.pthread_kill(main, signal.SIGHUP)  # as when a terminal goes
                return
            for kind, signum in zip(data[::2], data[1::2], strict=False):
                if kind == ord("k") and signum in (signal.SIGINT, signal.SIGTERM,
                                                   signal.SIGHUP):
                    signal.pthread_kill(main, signum)


def _ignore_as_the_client(ignored: list[int]) -> None:
    """Ignore what the client ignores, and only that: the command and the jail it starts
    inherit it, as in process. The spare jail was started with ours: if they differ it is
    closed unused and the command starts its own."""
    from agentcode.cli.run_client import ignored_signals
    from agentcode.sandbox.local import spare

    if sorted(ignored) == ignored_signals():
        return
    for signum in set(ignored) | set(ignored_signals()):
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signum, signal.SIG_IGN if signum in ignored else signal.SIG_DFL)
    spare.stop()


def _interpreter_settings(environ: Any) -> dict[str, str]:
    """The variables read by Python's start (PYTHONPATH, PYTHONHOME, PYTHONSAFEPATH, ...)."""
    return {name: value for name, value in environ.items() if name.startswith("PYTHON")}


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    try:
        data, fds, _, _ = socket.recv_fds(conn, 65536, _FDS)
        if len(data) < 8:
            raise Declined
        length = int.from_bytes(data[:8], "big")
        if length > _MAX_REQUEST or len(fds) != _FDS:
            raise Declined
        body = bytearray(data[8:])
        while len(body) < length:
            chunk = conn.recv(min(1 << 20, length - len(body)))
            if not chunk:
                raise Declined
            body += chunk
        request = marshal.loads(bytes(body))
    except (OSError, ValueError, EOFError, TypeError) as exc:
        raise Declined from exc
    if not isinstance(request, dict):
        raise Declined
    return request, fds


def _take_descriptors(fds: list[int], request: dict[str, Any]) -> None:
    cwd, *streams = fds
    os.fchdir(cwd)
    for target, fd in enumerate(streams):
        os.dup2(fd, target)
    specs = list(request.get("streams") or [None, None, None])
    sys.stdin = _stream(0, "r", specs[0])
    sys.stdout = _stream(1, "w", specs[1])
    sys.stderr = _stream(2, "w", specs[2])
    sys.argv = ["agentcode", *request["argv"]]


def _stream(fd: int, mode: str, spec: Any) -> io.TextIOWrapper:
    """A text stream on ``fd`` like the client's own (encoding, errors, buffering)."""
    encoding, errors, line_buffering, write_through = spec or ("utf-8", "strict", False, False)
    raw = io.FileIO(fd, mode, closefd=False)
    buffered: Any = raw  # PYTHONUNBUFFERED (-u): each write goes out at once, as Python's own
    if mode == "r":
        buffered = io.BufferedReader(raw)
    elif not write_through:
        buffered = io.BufferedWriter(raw)
    return io.TextIOWrapper(buffered, encoding=encoding, errors=errors,
                            line_buffering=bool(line_buffering),
                            write_through=bool(write_through))


def _run(argv: list[str]) -> int:
    """The CLI for ``argv``, as `agentcode.cli.entry` runs it in process."""
    from agentcode.cli.app import _silence_stdout, main

    status = main(argv)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except OSError:
        # A full disk (`> /dev/full`): in process this escapes `entry` as a traceback, and
        # the interpreter's own flush at exit fails again, which Python exits 120 for.
        import traceback

        traceback.print_exc()
        _silence_stdout()
        status = 120
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    return status
