"""`Session`: one conversation, one stateful sandbox and the history, tied together.

    with agentcode.Session() as s:
        s.execute("import math; x = 2")
        s.execute("print(math.sqrt(x))").stdout   # '1.4142135623730951\\n'
        s.generate("print x squared with a sentence")  # sees the code above and its results

The sandbox starts on first use. ``sandbox`` is a backend name ("local", "agentcore",
"unsafe"; default from settings) or an open `SandboxSession`, which the Session then uses but
does not close. Every entry it records in the history carries its ``id`` (written through one
store connection kept for the Session's life; ``history=False`` records nothing);
`Session.resume` continues a recorded conversation in a new process (the sandbox's variables
cannot survive a process: the earlier code is shown to the model, not re-run).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeAlias, Unpack

from agentcode.errors import Cancelled, ExecutionTimeoutError, UsageError
from agentcode.inputs import Files

if TYPE_CHECKING:
    from strands.models.model import Model

    # `known_input_options` lives with `generate` (the one rule for known input); kept
    # importable here, loaded on use (`__getattr__`): `agentcode run` imports this module and
    # must not load the generation core.
    from agentcode.api.generation import known_input_options as known_input_options
    from agentcode.config import Settings
    from agentcode.generation.conversation import Conversation
    from agentcode.generation.request import RunOptions
    from agentcode.sandbox.base import SandboxSession
    from agentcode.sandbox.copyout import CopyOut, OutDir
    from agentcode.store.recording import HistoryWriter
    from agentcode.types import Execution, Generation, HistoryEntry

    ModelChoice: TypeAlias = str | Model | list[str | Model]

Callback: TypeAlias = Callable[[str], None]


class Session:
    """A sandbox session: state persists across `execute` calls until `close`."""

    def __init__(self, sandbox: SandboxSession | str | None = None, *,
                 settings: Settings | None = None, model: ModelChoice | None = None,
                 session_id: str | None = None, history: bool | None = None) -> None:
        if settings is None:
            from agentcode.config import load_settings

            settings = load_settings()
        # 128 random bits as 32 hex digits (not uuid: it imports platform, ~1 ms)
        self.id = session_id or os.urandom(16).hex()
        # None: settings.history decides. The store is opened on the first entry, not here.
        self.records_history = settings.history if history is None else history
        self._writer: HistoryWriter | None = None
        self.model: ModelChoice | None = model  # None: the configured chain (settings.model)
        self._conversation: Conversation | None = None
        # Runs not yet folded into the conversation: (code, its execution or what stopped it).
        # The conversation and the pre-flight's names are built when a generation needs them,
        # so a session that only executes (`agentcode run`) never imports the generation core.
        self._pending: list[tuple[str, Execution | str]] = []
        # False when the code will not run in this session's sandbox (`gen -c`): then the model
        # is told to write complete programs rather than rely on earlier variables.
        self.stateful = True
        self.settings = settings
        self._backend = sandbox if isinstance(sandbox, str) else settings.sandbox
        self._sandbox: SandboxSession | None = None if isinstance(sandbox, str) else sandbox
        self._owns_sandbox = sandbox is None or isinstance(sandbox, str)
        self._inputs: dict[str, str] = {}  # name -> sha256 of what we put there
        self._input_data: dict[str, bytes] = {}  # name -> what we put there (see input_files)
        self._cancel = threading.Event()  # set by cancel() from another thread
        self._defined: set[str] = set()  # names the code run here bound (for the pre-flight)

    @property
    def sandbox(self) -> SandboxSession:
        """The sandbox session, started on first use."""
        if self._sandbox is None:
            from agentcode.sandbox import open_sandbox

            self._sandbox = open_sandbox(self._backend, self.settings)
        return self._sandbox

    def execute(self, code: str, *, timeout: float | None = None,
                stdin: bytes | str | None = None, files: Files | None = None,
                argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
                on_stdout: Callback | None = None, on_stderr: Callback | None = None,
                output_errors: str = "replace") -> Execution:
        """Run ``code``; ``stdin`` is what it reads, ``files`` are put in its work dir first.

        ``argv`` is the code's ``sys.argv`` (``["-"]`` by default, like ``python -``); ``env``
        sets variables in its ``os.environ`` (they stay set for later runs of this session).
        Nothing from this process's own environment reaches the code unless passed here.
        ``output_errors``: "replace" (the default) or "surrogateescape", how the chunks given
        to ``on_stdout``/``on_stderr`` carry output that is not UTF-8 (see
        `agentcode.sandbox.base.SandboxSession.execute`).
        """
        if files:
            self.write_files(files)
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        extra: dict[str, Any] = {}  # only what was given: plugin sandboxes may predate them
        if argv is not None and [str(a) for a in argv] not in ([], ["-"]):
            extra["argv"] = [str(a) for a in argv]
        if env:
            extra["env"] = check_env(env)
        if output_errors != "replace":
            if output_errors != "surrogateescape":
                raise UsageError(f"output_errors must be 'replace' or 'surrogateescape', not "
                                 f"{output_errors!r}")
            extra["output_errors"] = output_errors
        self._cancel.clear()
        try:
            execution = self.sandbox.execute(code, timeout=timeout, stdin=data,
                                             on_stdout=on_stdout, on_stderr=on_stderr, **extra)
        except ExecutionTimeoutError as exc:
            if exc.execution is not None:
                exc.execution.session_id = self.id
                self._record_execution(code, exc.execution, timed_out=True)
            self._pending.append((code, f"stopped: {exc}"))
            raise
        execution.session_id = self.id
        self._record_execution(code, execution)
        self._pending.append((code, execution))
        return execution

    @property
    def conversation(self) -> Conversation:
        """The requests, their code and what running it did, as the model will see them."""
        from agentcode.generation.checks.preflight import defined_names
        from agentcode.generation.conversation import Conversation, describe_execution

        if self._conversation is None:
            self._conversation = Conversation()
        for code, outcome in self._pending:
            # Even a run that failed midway may have bound some names.
            self._defined |= defined_names(code)
            self._conversation.add_run(
                code, outcome if isinstance(outcome, str) else describe_execution(outcome))
        self._pending.clear()
        return self._conversation

    def generate(self, prompt: str, *, system: str | None = None, context: str | None = None,
                 **options: Unpack[RunOptions]) -> Generation:
        """Write code for ``prompt`` as the next turn of this conversation.

        The model sees the earlier requests, their code, and what running it printed or raised
        (trimmed to fit its context), and knows the variables still exist. The code is not run:
        call `execute` with it. ``options`` go to `agentcode.generate` (``on_token``,
        ``verify``, ``tests``, ...); a verified generation runs its candidates in this sandbox.
        To describe the files given to this session to the model and run the candidate on
        them, as ``gen --file`` does, see `known_input_options`. `cancel` stops the call.
        """
        from agentcode.api.generation import generate_unrecorded
        from agentcode.generation.conversation import SESSION_SYSTEM, STANDALONE_SYSTEM

        self._cancel.clear()
        options["on_token"] = self._cancellable(options.get("on_token"))
        options["on_restart"] = self._cancellable(options.get("on_restart"))

        history, request = self.conversation.messages(prompt)
        # A fresh `gen` has no earlier conversation to speak of: no note (one measured-prompt less
        # for a small model to misread).
        note = SESSION_SYSTEM if self.stateful else STANDALONE_SYSTEM if history else None
        extra = "\n".join(part for part in (note, system) if part) or None
        verifying = options.get("verify") or options.get("tests") or options.get("check")
        if verifying and self.stateful:  # candidates run against this session's variables
            options.setdefault("sandbox", self.sandbox)
        known: Collection[str] | None = ()
        if self.stateful:  # names earlier code bound; unknown in a sandbox we did not start
            known = frozenset(self._defined) if self._owns_sandbox else None
        generation = generate_unrecorded(request, model=self.model, system=extra,
                                         context=context, history=history,
                                         settings=self.settings, known_names=known, **options)
        generation.prompt = prompt  # recorded with the user's words, not the folded request
        self.conversation.add_turn(prompt, generation.code)
        if self.records_history:
            self.history_writer.generation(generation)
        return generation

    def cancel(self) -> None:
        """Stop the running `generate` or `execute`, from another thread (a Stop button).

        The model's answer stops at its next token (the call raises `Cancelled`); running code
        is interrupted (KeyboardInterrupt, as Ctrl-C would) and the session keeps its
        variables. A sandbox that cannot be interrupted finishes the code.
        """
        self._cancel.set()
        interrupt = getattr(self._sandbox, "interrupt", None)
        if callable(interrupt):
            interrupt()

    def _cancellable(self, callback: Callback | None) -> Callback:
        def call(text: str) -> None:
            if self._cancel.is_set():
                raise Cancelled("stopped: the request was cancelled")
            if callback is not None:
                callback(text)

        return call

    def input_files(self) -> dict[str, bytes]:
        """The files given to this session (`write_files`, ``execute(files=)``), by name."""
        return dict(self._input_data)

    @property
    def model_names(self) -> list[str]:
        """The model chain this session asks, as names."""
        from agentcode.models.provider import model_label

        if self.model is None:
            return list(self.settings.model)
        chosen = self.model if isinstance(self.model, list) else [self.model]
        return [m if isinstance(m, str) else model_label(m) for m in chosen]

    def use_model(self, model: ModelChoice) -> None:
        """Ask another model (or chain) from the next `generate` on; the conversation stays."""
        from agentcode.models.registry import candidates_for

        candidates_for(model, self.settings)  # refuse an unknown name now, not at the next turn
        self.model = model

    def reset(self) -> None:
        """Forget the conversation and start a fresh sandbox (variables and files are lost)."""
        self.close()
        self._inputs.clear()
        self._input_data.clear()
        self.conversation.clear()

    def entries(self, limit: int | None = None) -> list[HistoryEntry]:
        """This session's history entries, oldest first (the last ``limit``); [] if none."""
        import sqlite3

        from agentcode.errors import StoreError
        from agentcode.store import open_store

        try:
            with open_store(settings=self.settings) as store:
                found = list(store.conversation(self.id))
        except (StoreError, sqlite3.Error):  # a broken history store must not break the session
            return []
        return found[-limit:] if limit else found

    @classmethod
    def resume(cls, session_id: str | None = None, *, settings: Settings | None = None,
               sandbox: SandboxSession | str | None = None,
               model: ModelChoice | None = None) -> Session:
        """Continue a recorded conversation (the most recent one when ``session_id`` is None).

        A unique prefix of the id is enough. The model sees the earlier requests, code and
        results; the sandbox starts empty, because variables cannot outlive their process.
        """
        from agentcode.config import load_settings
        from agentcode.generation.conversation import describe_entry
        from agentcode.store import open_store

        settings = settings or load_settings()
        with open_store(settings=settings) as store:
            found = store.last_session_id() if session_id is None else store.find_session(
                session_id)
            if found is None:
                raise UsageError(
                    "no conversation to continue in the history" if session_id is None
                    else f"no session {session_id!r} in the history: see `agentcode history`"
                )
            entries = list(store.conversation(found))
        session = cls(sandbox, settings=settings, model=model, session_id=found)
        for entry in entries:
            if entry.kind == "gen" and entry.code:
                session.conversation.add_turn(entry.prompt or "", entry.code)
            elif entry.kind == "run" and entry.code:
                session.conversation.add_run(entry.code, describe_entry(entry))
        return session

    @property
    def history_writer(self) -> HistoryWriter:
        """This session's writer to the history store (one connection, opened on first use)."""
        if self._writer is None:
            from agentcode.store.recording import HistoryWriter  # sqlite3: only after the run

            # In the background: a run does not wait for SQLite (flushed on close and on reads).
            self._writer = HistoryWriter(self.settings, session_id=self.id, background=True)
        return self._writer

    def _record_execution(self, code: str, execution: Execution, *,
                          timed_out: bool = False) -> None:
        """Save the run in the history, tagged with this session (agentcode.store)."""
        if self.records_history:
            self.history_writer.execution(code, execution, timed_out=timed_out)

    def write_files(self, files: Files) -> None:
        from agentcode.inputs import read_files

        contents = read_files(files, self.settings.max_input_bytes)
        self.sandbox.write_files(contents)
        for name, data in contents.items():
            self._inputs[name] = _digest(data)
            self._input_data[name] = data

    def download(self, out_dir: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Copy the files the code created or changed (not unchanged inputs) into ``out_dir``.

        Links already in ``out_dir`` are never followed, existing files are kept unless
        ``overwrite``, nothing goes into a ``.git`` dir, and the copy has a byte, file and time
        budget (settings.limits.copy_out_*): see `copy_out` for what was skipped and why.
        """
        return self.copy_out(out_dir, overwrite=overwrite).saved

    def copy_out(self, out_dir: str | Path | OutDir, *, overwrite: bool = False) -> CopyOut:
        """Like `download`, also saying which files were skipped (``name: reason``)."""
        from agentcode.sandbox.copyout import Budget, OutDir, copy_out

        def unchanged(name: str, data: bytes) -> bool:
            return self._inputs.get(name) == _digest(data)

        budget = Budget.from_limits(self.settings.limits)
        if isinstance(out_dir, OutDir):
            return copy_out(self.sandbox, out_dir, unchanged=unchanged, budget=budget)
        with OutDir(out_dir, overwrite=overwrite) as out:
            return copy_out(self.sandbox, out, unchanged=unchanged, budget=budget)

    def kill(self) -> None:
        """Stop the code this session is running, from another thread (a server stopping).

        The sandbox is killed: the running call returns, the variables and files are lost.
        A backend that cannot be killed from another thread is closed instead.
        """
        sandbox = self._sandbox
        if sandbox is None or not self._owns_sandbox:
            return
        kill = getattr(sandbox, "kill", None)
        if callable(kill):
            kill()
        else:
            sandbox.close()

    def changed_files(self) -> list[str]:
        """Work-dir files the code created or changed (inputs it left alone are not listed).

        Only inputs are read back (to compare with what was put there): anything else is new.
        """
        names: list[str] = []
        for name in self.sandbox.list_files():
            known = self._inputs.get(name)
            if known is not None and known == _digest(self.sandbox.read_file(name)):
                continue
            names.append(name)
        return names

    def close(self) -> None:
        """Stop the sandbox (if this Session started it) and close the history connection."""
        if self._sandbox is not None and self._owns_sandbox:
            self._sandbox.close()
        self._sandbox = None
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _digest(data: bytes) -> str:
    """What a file held, to tell later whether the code changed it (hashlib loads OpenSSL, which
    `run` without files need not pay for)."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def check_env(env: Mapping[str, str]) -> dict[str, str]:
    """Variables for the code, with names a shell would accept."""
    import re

    for name in env:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)):
            raise UsageError(
                f"invalid environment variable name {name!r}: use letters, digits and _"
            )
    return {str(k): str(v) for k, v in env.items()}


def __getattr__(name: str) -> Any:
    if name == "known_input_options":
        from agentcode.api.generation import known_input_options

        return known_input_options
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
