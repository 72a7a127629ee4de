"""The console script's entry point: `agentcode run` and `gen` go to the resident helper first.

If a resident helper runs for this installation (cli/run_helper.py), it runs `run` on the
local sandbox and every `gen` (but `--help`) in a child that has their modules loaded and a
jail started (cli/run_client.py: a few milliseconds of this process). Without one, or when it
declines, the command runs in process as below, and afterwards starts the helper in the
background for the next ones (when `sandbox_keep_alive` allows and the sandbox is local).

Typer, the command's module and the library take ~100 ms of imports before `run` asks for a
sandbox, and the jail's start (bwrap, then the interpreter inside) takes ~40 ms more in
processes of its own. So when the command line is `run` on the local sandbox, the jail starts
first, on a thread (a spare jail, `agentcode.sandbox.local.spare`, handed out once), and those
imports overlap it. Should `run` end up wanting another sandbox or other limits, or fail before
it runs anything, the spare is closed at exit, unused.
"""

from __future__ import annotations

import os
import sys

# run's options that choose a sandbox other than the configured one, or print help only.
_HELP = frozenset({"-h", "--help"})


def entry() -> None:
    args = sys.argv[1:]
    helped = for_helper(args)
    closed = closed_streams()
    if helped and not closed:
        # The resident helper, if one runs for this installation, runs it (cli/run_client.py).
        # Not with a closed fd 0-2: the socket would take that number and go as the stream.
        from agentcode.cli import run_client

        status = run_client.run(args)
        if status is not None:
            sys.exit(status)
    fill_closed_streams(closed)
    start_jail_early(args)
    from agentcode.cli.app import entry as app_entry

    try:
        app_entry()
    finally:
        if helped:
            start_helper()


def closed_streams() -> list[int]:
    """Which of fds 0, 1 and 2 are closed (`agentcode run - <&-`)."""
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
    return closed


def fill_closed_streams(closed: list[int]) -> None:
    """Put /dev/null on fd 0, 1 or 2 if it is closed (`agentcode run - >&-`), as daemons do:
    else the next pipe or socket we open takes that number and is written to as our stdout
    (the jail's start failed on a broken pipe, with a traceback). Python made ``sys.stdin``
    (and the others) None for a closed fd: stdin stays None, so `run -` still says there is no
    code on stdin; output to a closed stdout or stderr is dropped, as `python` drops it."""
    for fd in closed:  # in order: each open takes the lowest free number, fd itself
        null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if fd == 1:
            sys.stdout = open(fd, "w", closefd=False)  # noqa: SIM115 - for the process
        elif fd == 2:
            sys.stderr = open(fd, "w", closefd=False)  # noqa: SIM115 - for the process


def for_helper(args: list[str]) -> bool:
    """Whether the helper serves ``args``: `run` on the local sandbox (the jail is what it
    keeps ready), and `gen` whatever its options (its ~0.45 s of imports are; a `--server` gen
    gains less but loses nothing); neither when they only print help."""
    if args[:1] == ["gen"]:
        return not any(arg in _HELP for arg in args)
    return _wants_local_jail(args)


def start_helper() -> None:
    """After a `run` or `gen` in process (its output written), start the helper for the next
    ones."""
    try:
        from agentcode.config import load_settings
        from agentcode.sandbox.local import resident

        resident.start(load_settings())
    except Exception:  # noqa: BLE001 - without a helper, `run` works as it always did
        pass


def start_jail_early(args: list[str]) -> bool:
    """Start a spare local jail if ``args`` are a `run` that will want one; whether it did."""
    if not _wants_local_jail(args):
        return False
    try:
        from agentcode.config import load_settings
        from agentcode.sandbox.local import spare

        settings = load_settings()
        if settings.sandbox != "local":
            return False
        spare.keep_once(settings)
    except Exception:  # noqa: BLE001 - the command itself reports what is wrong
        return False
    return True


def _wants_local_jail(args: list[str]) -> bool:
    if not args or args[0] != "run" or any(arg in _HELP for arg in args):
        return False
    for index, arg in enumerate(args):
        if arg == "--sandbox":
            return args[index + 1:index + 2] == ["local"]
        if arg.startswith("--sandbox="):
            return arg == "--sandbox=local"
    # `run` with nothing piped and no file: it only prints a usage error.
    return not (os.isatty(0) and all(arg.startswith("-") for arg in args[1:]))
