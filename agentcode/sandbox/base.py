"""The contract every sandbox backend meets, so nothing above it knows which one runs the code."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from agentcode.types import Execution

# Where a backend's files live, as the user's code sees them (cwd of the code).
WORKDIR = "/sandbox"


@runtime_checkable
class SandboxSession(Protocol):
    """One stateful sandbox: variables and files survive between `execute` calls.

    Errors in user code come back as data (`Execution.error`); a sandbox that cannot start or
    dies raises `SandboxError`; a run past its limit raises `ExecutionTimeoutError`.
    """

    id: str
    backend: str

    def execute(
        self,
        code: str,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        argv: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        on_stdout: Callable[[str], None] | None = None,
        on_stderr: Callable[[str], None] | None = None,
        output_errors: str = "replace",
    ) -> Execution:
        """Run ``code``; the callbacks get output chunks as they come (or all at the end).

        ``argv`` becomes ``sys.argv`` (``["-"]`` when None); ``env`` is set in ``os.environ``
        before the code runs and stays set for the rest of the session. ``output_errors``:
        how the chunks given to the callbacks carry output that is not UTF-8: "replace"
        (U+FFFD) or "surrogateescape" (lone surrogates, as `os.fsdecode` does:
        ``chunk.encode("utf-8", "surrogateescape")`` gives the program's bytes back). A
        backend whose output is text only ignores it; `Execution`'s text is always replaced.
        Optional for backends: `Session` passes it only when it is not "replace".
        """
        ...

    def write_files(self, files: Mapping[str, bytes]) -> None:
        """Put files in the work dir; keys are relative paths (no '..', not absolute)."""
        ...

    def list_files(self) -> list[str]:
        """Relative paths of the regular files in the work dir (links are never followed)."""
        ...

    def read_file(self, path: str) -> bytes:
        """Read one file of the work dir without following links the code may have planted."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def check_relative(path: str) -> str:
    """Normalise a work-dir path and refuse anything that would leave the work dir."""
    from agentcode.errors import UsageError

    if "\0" in path:  # no file system takes it; os calls would raise ValueError, not say why
        raise UsageError(f"invalid sandbox file name {path!r}: it holds a NUL character")
    p = Path(path)
    if p.is_absolute() or not p.parts or any(part in ("..", "") for part in p.parts):
        raise UsageError(
            f"invalid sandbox file name {path!r}: use a relative path inside the work dir"
        )
    return p.as_posix()
