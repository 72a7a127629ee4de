"""`Session`: one stateful sandbox that variables and files survive in, between executions.

    with agentcode.Session() as s:
        s.execute("import math; x = 2")
        s.execute("print(math.sqrt(x))").stdout   # '1.4142135623730951\\n'

The sandbox starts on first use. ``sandbox`` is a backend name ("local", "agentcore",
"unsafe"; default from settings) or an open `SandboxSession`, which the Session then uses but
does not close.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeAlias

from agentcode.errors import ExecutionTimeoutError, UsageError

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.sandbox.base import SandboxSession
    from agentcode.types import Execution

# Files for the work dir: name -> content, or host paths copied under their base name.
Files: TypeAlias = Mapping[str, bytes | str] | Iterable[str | Path]
Callback: TypeAlias = Callable[[str], None]


class Session:
    """A sandbox session: state persists across `execute` calls until `close`."""

    def __init__(self, sandbox: SandboxSession | str | None = None, *,
                 settings: Settings | None = None) -> None:
        if settings is None:
            from agentcode.config import load_settings

            settings = load_settings()
        self.id = uuid.uuid4().hex
        self.settings = settings
        self._backend = sandbox if isinstance(sandbox, str) else settings.sandbox
        self._sandbox: SandboxSession | None = None if isinstance(sandbox, str) else sandbox
        self._owns_sandbox = sandbox is None or isinstance(sandbox, str)
        self._inputs: dict[str, str] = {}  # name -> sha256 of what we put there

    @property
    def sandbox(self) -> SandboxSession:
        """The sandbox session, started on first use."""
        if self._sandbox is None:
            from agentcode.sandbox import open_sandbox

            self._sandbox = open_sandbox(self._backend, self.settings)
        return self._sandbox

    def execute(self, code: str, *, timeout: float | None = None,
                stdin: bytes | str | None = None, files: Files | None = None,
                on_stdout: Callback | None = None, on_stderr: Callback | None = None) -> Execution:
        """Run ``code``; ``stdin`` is what it reads, ``files`` are put in its work dir first."""
        if files:
            self.write_files(files)
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        try:
            execution = _run(self.sandbox, code, timeout, data, on_stdout, on_stderr)
        except ExecutionTimeoutError as exc:
            self._record_history(code, exc.execution, timed_out=True)
            raise
        execution.session_id = self.id
        self._record_history(code, execution)
        return execution

    def _record_history(
        self, code: str, execution: Execution | None, *, timed_out: bool = False
    ) -> None:
        """Save the run in the history, tagged with this session (agentcode.store)."""
        from agentcode.store.context import is_paused

        if execution is None or not self.settings.history or is_paused():
            return
        from agentcode.store import record_execution_safely  # sqlite3: only after the run

        record_execution_safely(
            self.settings, code, execution, session_id=self.id, timed_out=timed_out
        )

    def write_files(self, files: Files) -> None:
        contents = read_files(files, self.settings.max_input_bytes)
        self.sandbox.write_files(contents)
        for name, data in contents.items():
            self._inputs[name] = hashlib.sha256(data).hexdigest()

    def download(self, out_dir: str | Path) -> list[Path]:
        """Copy the files the code created or changed (not unchanged inputs) into ``out_dir``."""
        from agentcode.sandbox.base import check_relative

        target = Path(out_dir)
        saved: list[Path] = []
        for name in self.sandbox.list_files():
            data = self.sandbox.read_file(name)
            if self._inputs.get(name) == hashlib.sha256(data).hexdigest():
                continue
            path = target / check_relative(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            saved.append(path)
        return saved

    def close(self) -> None:
        if self._sandbox is not None and self._owns_sandbox:
            self._sandbox.close()
        self._sandbox = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def read_files(files: Files, limit: int) -> dict[str, bytes]:
    """Normalise ``files`` to name -> bytes, reading host paths (at most ``limit`` bytes each)."""
    if isinstance(files, Mapping):
        return {str(name): data.encode("utf-8") if isinstance(data, str) else bytes(data)
                for name, data in files.items()}
    from agentcode.cli.io import read_bytes

    contents: dict[str, bytes] = {}
    for item in files:
        path = Path(item)
        if not path.name or str(item) == "-":
            raise UsageError(f"invalid file path {str(item)!r}")
        contents[path.name] = read_bytes(str(path), limit=limit, what="file")
    return contents


def _run(sandbox: SandboxSession, code: str, timeout: float | None, stdin: bytes | None,
         on_stdout: Callback | None, on_stderr: Callback | None) -> Execution:
    """Execute, streaming when the backend can; otherwise deliver the output at the end."""
    if on_stdout is None and on_stderr is None:
        return sandbox.execute(code, timeout=timeout, stdin=stdin)
    import inspect

    if "on_stdout" in inspect.signature(sandbox.execute).parameters:
        return sandbox.execute(  # type: ignore[call-arg]
            code, timeout=timeout, stdin=stdin, on_stdout=on_stdout, on_stderr=on_stderr
        )
    execution = sandbox.execute(code, timeout=timeout, stdin=stdin)
    if on_stdout is not None and execution.stdout:
        on_stdout(execution.stdout)
    if on_stderr is not None and execution.stderr:
        on_stderr(execution.stderr)
    return execution
