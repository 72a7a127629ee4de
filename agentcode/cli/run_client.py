"""The client of the resident helper (agentcode/cli/run_helper.py), for `run` and `gen`.

When the helper runs, a `run` (or `gen`, cli/entry.py's `for_helper`) is: Python's start, this
module, one Unix socket. The helper's child that takes the connection runs the very CLI this
process would have run, on this process's stdin, stdout, stderr, working directory, umask and
environment (the descriptors go over the socket), and answers with the exit status. Nothing
here is relayed: the program's output goes straight to our descriptors.

The exchange (a length-prefixed request, then one-byte messages):

    client -> child   request (argv, environ, umask, the streams' and file names' encodings,
                      the signals it ignores) + fds cwd, 0, 1, 2
    child -> client   b"a" ready to run it, or b"d" declined (stale code, helper off for us)
    client -> child   b"g" go (the client is committed: it will not run the program itself)
    client -> child   b"k" + signal number, for SIGINT/SIGTERM/SIGHUP it receives (and
                      does not ignore)
    child -> client   b"s" + exit status (4 bytes), once the output, history and --out are done

Until the client says go, nothing has run, so anything that goes wrong before it (no helper,
a stale or declining one, no answer within `READY_TIMEOUT`) makes `run` fall back to the
in-process path; after it, a child that dies without a status is one line and exit 4, never
a second run. Imports: `_socket` and `_signal` (not `socket`/`signal`: their enums cost ~5 ms),
`marshal` (built in; both ends are the same interpreter, see `runtime.installation_key`).
"""

from __future__ import annotations

import _signal
import _socket
import marshal
import os
import sys

from agentcode import runtime

READY_TIMEOUT = 5.0  # seconds for a child to take the request before running in process
EXIT_LOST = 4  # the sandbox's exit code: the helper's child died before saying how it ended
FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)
_INT = 4
# How this process turns its arguments, environment and file names into text (the locale's,
# fixed at Python's start): the helper's child must be the same (run_serve.py).
_FS_ENCODING = (sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())


def run(args: list[str]) -> int | None:
    """Run `agentcode ARGS` through the helper: its exit status, or None if no helper took
    it (nothing ran; the caller runs it in process). Fds 0, 1 and 2 must be open (cli/entry.py
    checks): a closed one would be taken by our socket and sent as that stream."""
    if os.environ.get("AGENTCODE_SANDBOX_KEEP_ALIVE", "").strip() in ("0", "0.0"):
        return None
    if not sys.platform.startswith("linux"):  # SO_PEERCRED, O_PATH; and bwrap is Linux's
        return None
    directory = runtime.runtime_path()
    if not runtime.is_private(directory):
        return None
    path = os.path.join(directory, f"run-{runtime.installation_key()}.sock")
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        if not _connect(sock, path):
            return None
        return _exchange(sock, args)
    except KeyboardInterrupt:  # Ctrl-C before the child was told to go: nothing ran
        sys.stderr.write("agentcode: interrupted\n")
        return 130
    finally:
        sock.close()


def _connect(sock: _socket.socket, path: str) -> bool:
    dir_fd = None
    try:
        address, dir_fd = runtime.socket_address(path)
        sock.connect(address)
        # The listening end must be ours: a socket anyone else could have put there gets
        # neither our environment nor our descriptors.
        creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 3 * _INT)
    except OSError:
        return False
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    return int.from_bytes(creds[_INT:2 * _INT], sys.byteorder) == os.getuid()


def _request(args: list[str]) -> bytes:
    umask = os.umask(0o022)
    os.umask(umask)
    streams = [(s.encoding, s.errors, s.line_buffering, getattr(s, "write_through", False))
               if s is not None else None for s in (sys.stdin, sys.stdout, sys.stderr)]
    return marshal.dumps({"argv": list(args), "env": dict(os.environ), "umask": umask,
                          "streams": streams, "fs": _FS_ENCODING, "ignored": ignored_signals()})


def ignored_signals() -> list[int]:
    """The signals this process ignores: a program run in process inherits them (`nohup`'s
    SIGHUP, a background job's SIGINT and SIGQUIT, a shell's `trap '' ...`)."""
    found = []
    for signum in range(1, _signal.NSIG):
        try:
            if _signal.getsignal(signum) == _signal.SIG_IGN:
                found.append(signum)
        except (OSError, ValueError):
            continue
    return found


def _exchange(sock: _socket.socket, args: list[str]) -> int | None:
    try:
        cwd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        body = _request(args)
        fds = b"".join(fd.to_bytes(_INT, sys.byteorder) for fd in (cwd, 0, 1, 2))
        data = len(body).to_bytes(8, "big") + body
        sent = sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        sock.sendall(data[sent:])
    except OSError:  # a closed stdin/stdout/stderr, the helper gone: nothing ran
        return None
    finally:
        os.close(cwd)
    sock.settimeout(READY_TIMEOUT)
    try:
        reply = sock.recv(1)
    except OSError:
        return None
    if reply != b"a":
        return None  # declined, or gone before anything ran
    previous = {}
    try:
        sock.settimeout(None)
        sock.sendall(b"g")
        for signum in FORWARDED:
            # One we were started with ignored (`nohup`, a background job's SIGINT) is
            # ignored in process too: passing it on would end the command.
            if _signal.getsignal(signum) != _signal.SIG_IGN:
                previous[signum] = _signal.signal(signum, _forwarder(sock))
        return _status(sock)
    except OSError:
        return _lost()
    finally:
        for signum, handler in previous.items():
            _signal.signal(signum, handler)


_forwarded: list[int] = []


def _forwarder(sock: _socket.socket):  # type: ignore[no-untyped-def]
    def forward(signum: int, frame: object) -> None:
        _forwarded.append(signum)
        try:  # noqa: SIM105 - contextlib is one more import on every run's path
            sock.send(b"k" + bytes([signum]))
        except OSError:
            pass

    return forward


def _status(sock: _socket.socket) -> int:
    reply = b""
    while len(reply) < 1 + _INT:
        chunk = sock.recv(1 + _INT - len(reply))
        if not chunk:
            return _lost()
        reply += chunk
    return int.from_bytes(reply[1:], "big", signed=True)


def _lost() -> int:
    fatal = [signum for signum in _forwarded if signum != _signal.SIGINT]
    if fatal:  # the child died of the SIGTERM or SIGHUP we passed on: so do we, as in process
        _signal.signal(fatal[-1], _signal.SIG_DFL)
        os.kill(os.getpid(), fatal[-1])
    sys.stderr.write("agentcode: error: the run helper's process ended before the program "
                     "did (see `agentcode sandbox status`); its result is unknown\n")
    return EXIT_LOST
