"""The Typer app, and the one place that turns exceptions into messages and exit codes.

Each command lives in its own module, imported only when that command runs (cli/lazy.py), and
keeps heavy imports (strands, boto3, the sandbox) inside its function body, so `agentcode run`
starts fast.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer

from agentcode.cli.lazy import LazyGroup, plain_help
from agentcode.errors import EXIT_INTERRUPTED, AgentcodeError

app = typer.Typer(
    name="agentcode",
    cls=LazyGroup,
    help="Turn a sentence into Python and run it safely.\n\n"
    'Example: agentcode gen "print the first 10 primes" | agentcode run -',
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"agentcode {version('agentcode')}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", envvar="AGENTCODE_DEBUG",
        help="Show tracebacks of agentcode's own errors.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    if debug:
        os.environ["AGENTCODE_DEBUG"] = "1"


def _debug_enabled(argv: Sequence[str]) -> bool:
    flag = os.environ.get("AGENTCODE_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    return flag or "--debug" in argv


def error(message: str) -> None:
    """Print one line on stderr, the way every agentcode error looks."""
    sys.stderr.write(f"agentcode: error: {message}\n")


class _CtrlC:
    """Notes that SIGINT arrived: Typer turns the KeyboardInterrupt into a plain exit code 130,
    which a program's own ``sys.exit(130)`` also gives, and only a real Ctrl-C gets a message."""

    def __init__(self) -> None:
        self.seen = False
        self.previous: Any = None

    def __enter__(self) -> _CtrlC:
        import signal
        import threading

        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.seen = True
        self.previous(signum, frame)  # Python's default handler: raises KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            import signal

            signal.signal(signal.SIGINT, self.previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point: run the app, map failures to one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    with _CtrlC() as ctrl_c:
        status = _main(args)
    if ctrl_c.seen and status == EXIT_INTERRUPTED:
        sys.stderr.write("agentcode: interrupted\n")
    return status


_built: Any = None


def _command() -> Any:
    """The app's click group, built once per process: the run helper's children
    (cli/run_helper.py) use the one their master built, with `run` loaded."""
    global _built
    if _built is None:
        _built = plain_help(typer.main.get_command(app))
    return _built


def _main(args: list[str]) -> int:
    try:
        result = _command().main(args=args, prog_name="agentcode", standalone_mode=False)
    except AgentcodeError as exc:
        if _debug_enabled(args):
            traceback.print_exc()
        error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED  # `main` says so
    except BrokenPipeError:
        # The reader of our stdout went away (e.g. `| head`): not an error (docs/cli.md).
        _silence_stdout()
        return 0
    except SystemExit:
        # Typer turns a broken pipe inside a command into a silent exit 1, after wrapping
        # stdout to pacify later flushes: that wrapper is how we know, and it is exit 0 too.
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":
            _silence_stdout()
            return 0
        raise
    except typer.Abort:
        sys.stderr.write("agentcode: aborted\n")
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:
        # Usage errors: Typer's own usage line and message, exit 2.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            error(exc.format_message())
        return int(getattr(exc, "exit_code", 2))
    except OSError as exc:
        if _debug_enabled(args):
            traceback.print_exc()
        if exc.errno in _NO_ROOM:  # a full disk is the machine's state, not our bug
            error(f"cannot write: {exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
                  + ": free some space and run it again")
        else:
            error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no bare tracebacks
        if _debug_enabled(args):
            traceback.print_exc()
        error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        return 1
    return result if isinstance(result, int) else 0


_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):  # no stdout at all (`>&-`): nothing to quiet
        pass


def entry() -> None:
    status = main()
    try:
        sys.stdout.flush()  # what is still buffered, before exit would, noisily
    except BrokenPipeError:
        _silence_stdout()
    except OSError as exc:  # a full disk took the last of it: one line, not a traceback
        _silence_stdout()
        error(f"cannot write to stdout: {exc.strerror or exc}")
        status = status or 1
    sys.exit(status)
