"""The cloud sandbox (``--sandbox agentcore``): AWS AgentCore Code Interpreter, one microVM each.

We go through the ``bedrock-agentcore`` SDK's `CodeInterpreter` client, built on agentcode's boto3
session (`agentcode.aws`: profile, region, credentials), so its endpoint handling and its helpers
(`upload_files`, `install_packages`, `invoke`, `stop`) are ours. What it could not do, and how we
fill in:

- its clients are fixed at construction (read timeout 300 s, botocore's own retries on): the
  data-plane client is rebuilt on the same endpoint with one attempt per call (tenacity, under
  `agentcode.aws.retry`, is the one retry policy) and a read timeout sized to ``--timeout``;
- ``start()`` sends no client token, so a retried start could open two sessions: we start through
  its data-plane client with one token for all attempts and hand the session to the SDK object;
- ``download_file(s)`` skip the stream's error events and ``isError`` (a throttled read looks like
  a missing file) and decode every blob they can as text: reads go through ``invoke("readFiles")``
  and our own stream handling (`agentcode.sandbox.agentcore.results`);
- results stream back as events the SDK leaves to the caller: we drain them, map them to an
  `Execution` and enforce the deadline while they arrive.

The remote session starts on first use and is stopped on every way out: ``close()``, ``__exit__``,
an interrupt, a timeout, and ``atexit`` for sessions nobody closed.
"""

from __future__ import annotations

import atexit
import base64
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from agentcode.aws.retry import AGENTCORE_RETRY, RetryPolicy
from agentcode.errors import (
    ConfigError,
    ExecutionTimeoutError,
    SandboxError,
    UsageError,
)
from agentcode.sandbox.agentcore.errors import (
    INVOKE,
    START,
    STOP,
    Context,
    error_code,
    stream_error,
    translate,
    with_retries,
)
from agentcode.sandbox.agentcore.results import (
    ToolResult,
    file_content,
    listed_entries,
    looks_like_timeout,
    to_execution,
)
from agentcode.sandbox.base import check_relative
from agentcode.types import Execution

if TYPE_CHECKING:
    from agentcode.config import Settings

log = logging.getLogger(__name__)

DEFAULT_INTERPRETER = "aws.codeinterpreter.v1"
MAX_SESSION_TIMEOUT = 28_800  # 8 hours: the service's limit
_CONNECT_TIMEOUT = 10.0
_READ_GRACE = 15.0  # on top of the execution timeout: network and service overhead
_MAX_LISTED_DIRS = 1000


class _DeadlineExceeded(Exception):
    """The code ran past its timeout (raised inside the call, turned into ExecutionTimeoutError)."""


def validate_session_timeout(value: object) -> int:
    try:
        seconds = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        seconds = 0
    if not 1 <= seconds <= MAX_SESSION_TIMEOUT:
        raise ConfigError(
            f"invalid session timeout {value!r}: use 1 to {MAX_SESSION_TIMEOUT} seconds "
            "(--session-timeout; AgentCore's default is 900)"
        )
    return seconds


def _stdin_snippet(data: bytes) -> str:
    # One expression statement, so it binds no names in the user's namespace.
    encoded = base64.b64encode(data).decode("ascii")
    return (
        "__import__('sys').stdin = __import__('io').TextIOWrapper("
        f"__import__('io').BytesIO(__import__('base64').b64decode('{encoded}')))"
    )


def _interpreter_for(client: Any) -> Any:
    """The SDK object around a data-plane client made elsewhere (tests: one under Stubber)."""
    import boto3
    from bedrock_agentcore.tools.code_interpreter_client import CodeInterpreter

    region = client.meta.region_name
    interpreter = CodeInterpreter(
        region, session=boto3.Session(region_name=region), integration_source="agentcode"
    )
    interpreter.data_plane_client = client
    return interpreter


def _argv_env_snippet(argv: Sequence[str] | None, env: Mapping[str, str] | None) -> str:
    # One expression statement, like `_stdin_snippet`: sys.argv and os.environ, no names bound.
    parts = []
    if argv:
        parts.append(f"__import__('sys').__setattr__('argv', {list(argv)!r})")
    if env:
        parts.append(f"__import__('os').environ.update({dict(env)!r})")
    return f"({', '.join(parts)},)"


class AgentCoreSession:
    """One AgentCore Code Interpreter session: variables and files persist between executions.

    ``interpreter`` is the SDK's `CodeInterpreter`; without it one is built from the settings
    (profile, region). ``client`` replaces its data-plane client (tests pass one wrapped by
    botocore's Stubber).
    """

    backend = "agentcore"

    def __init__(
        self,
        settings: Settings,
        *,
        client: Any | None = None,
        interpreter: Any | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.id = ""  # the AgentCore session id, once started
        self._settings = settings
        self._session_timeout = validate_session_timeout(settings.session_timeout)
        interpreter_id = (settings.interpreter_id or "").strip()
        if not interpreter_id:
            raise ConfigError(f"empty interpreter id: use --interpreter-id {DEFAULT_INTERPRETER}")
        self._interpreter_id = interpreter_id
        self._retry = retry or AGENTCORE_RETRY
        self._closed = False
        self._read_timeout = 0.0
        self._boto_session: Any = None
        region = ""
        if interpreter is None and client is None:
            interpreter, region = self._make_interpreter(settings.timeout)
        elif interpreter is None:
            region = str(client.meta.region_name)  # type: ignore[union-attr]
            interpreter = _interpreter_for(client)
        if client is not None:
            interpreter.data_plane_client = client
        self._interpreter = interpreter
        self._ctx = Context(
            region=region or str(interpreter.region),
            interpreter_id=interpreter_id,
            session_timeout=self._session_timeout,
            profile=settings.profile,
        )

    @property
    def _client(self) -> Any:
        """The data-plane client every call goes through."""
        return self._interpreter.data_plane_client

    @property
    def _session_id(self) -> str | None:
        return self._interpreter.session_id  # type: ignore[no-any-return]

    # -- client ---------------------------------------------------------------------------------

    def _make_interpreter(self, timeout: float) -> tuple[Any, str]:
        from bedrock_agentcore.tools.code_interpreter_client import CodeInterpreter
        from botocore.exceptions import BotoCoreError

        from agentcode.aws.region import resolve_region
        from agentcode.aws.session import boto_session

        settings = self._settings
        region = resolve_region(settings)
        ctx = Context(
            region=str(region),
            interpreter_id=self._interpreter_id,
            session_timeout=self._session_timeout,
            profile=settings.profile,
        )
        try:
            self._boto_session = boto_session(settings, region)
            interpreter = CodeInterpreter(
                region.name, session=self._boto_session, integration_source="agentcode"
            )
            interpreter.data_plane_client = self._data_plane_client(
                interpreter.data_plane_client, timeout
            )
        except BotoCoreError as exc:
            raise translate(exc, START, ctx) from exc
        return interpreter, str(region)

    def _data_plane_client(self, sdk_client: Any, timeout: float) -> Any:
        """The SDK's data-plane client again, same endpoint: one attempt, our read timeout."""
        from agentcode.aws.session import client_config

        self._read_timeout = timeout + _READ_GRACE
        return self._boto_session.client(
            "bedrock-agentcore",
            region_name=sdk_client.meta.region_name,
            endpoint_url=sdk_client.meta.endpoint_url,
            config=client_config(read_timeout=self._read_timeout, connect_timeout=_CONNECT_TIMEOUT),
        )

    def _fit_read_timeout(self, timeout: float) -> None:
        """A per-call timeout other than the client's needs a client that waits that long."""
        if self._boto_session is not None and timeout + _READ_GRACE != self._read_timeout:
            self._interpreter.data_plane_client = self._data_plane_client(self._client, timeout)

    # -- session lifecycle ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("this AgentCore session is closed: open a new one")

    def _ensure_started(self) -> str:
        self._check_open()
        if self._session_id:
            return self._session_id
        token = str(uuid.uuid4())  # one token for all retries: a retried start makes one session
        name = f"agentcode-{uuid.uuid4().hex[:12]}"

        def start() -> Any:
            return self._client.start_code_interpreter_session(
                codeInterpreterIdentifier=self._interpreter_id,
                name=name,
                sessionTimeoutSeconds=self._session_timeout,
                clientToken=token,
            )

        try:
            response, _ = with_retries(start, self._retry, idempotent=True)
        except Exception as exc:
            raise translate(exc, START, self._ctx) from exc
        # From here the SDK object holds the session: invoke, upload_files and stop use it.
        self._interpreter.identifier = str(
            response.get("codeInterpreterIdentifier") or self._interpreter_id
        )
        self._interpreter.session_id = str(response["sessionId"])
        self.id = self._interpreter.session_id
        atexit.register(self._stop_at_exit)
        if self._settings.packages:  # the config's [sandbox] packages, as the local env has
            self.install_packages(list(self._settings.packages))
        return self.id

    def _forget_session(self) -> None:
        self._interpreter.session_id = None
        self._interpreter.identifier = None
        atexit.unregister(self._stop_at_exit)

    def _stop_session(self) -> None:
        """Stop the remote session if one runs. Never raises: a failure is logged, not fatal."""
        session_id = self._session_id
        if not session_id:
            return
        try:
            with_retries(self._interpreter.stop, self._retry, idempotent=True)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return  # already ended (timed out): nothing to stop
            log.warning(
                "could not stop AgentCore session %s: %s (it ends by itself after %ss)",
                session_id,
                translate(exc, STOP, self._ctx),
                self._session_timeout,
            )
        finally:
            self._forget_session()  # stopped, or left to end by itself: never used again

    def _stop_at_exit(self) -> None:
        self._stop_session()

    def close(self) -> None:
        self._closed = True
        self._stop_session()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _stop_on_interrupt(self) -> Iterator[None]:
        # The remote code keeps running after ^C; stopping the session is the only way to end it.
        try:
            yield
        except KeyboardInterrupt:
            self.close()
            raise

    # -- calls ----------------------------------------------------------------------------------

    def _invoke(
        self, name: str, arguments: dict[str, Any], *, deadline: float | None = None
    ) -> ToolResult:
        """One InvokeCodeInterpreter call through the SDK, its stream drained into a ToolResult."""
        self._ensure_started()
        return self._drain(lambda: self._interpreter.invoke(name, arguments), deadline=deadline)

    def _drain(self, send: Callable[[], Any], *, deadline: float | None = None) -> ToolResult:
        """Send one call (retried while nothing came back) and drain its event stream."""
        from urllib3.exceptions import ReadTimeoutError

        seen_result = False

        def attempt() -> ToolResult:
            nonlocal seen_result
            stream = send()["stream"]
            result = ToolResult()
            try:
                for event in stream:
                    failure = stream_error(event)
                    if failure is not None:
                        raise failure
                    if "result" in event:
                        seen_result = True
                        result.add(event["result"])
                    if deadline is not None and time.monotonic() > deadline:
                        raise _DeadlineExceeded
            finally:
                close: Callable[[], None] | None = getattr(stream, "close", None)
                if callable(close):
                    close()
            return result

        try:
            # Once output arrived the code has run: never re-send it (it would run twice).
            result, _ = with_retries(
                attempt, self._retry, idempotent=False, may_retry=lambda: not seen_result
            )
        except _DeadlineExceeded:
            raise
        except (ReadTimeoutError, TimeoutError) as exc:
            if deadline is not None:
                raise _DeadlineExceeded from exc
            raise translate(exc, INVOKE, self._ctx) from exc
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                self._forget_session()  # gone on the service side: the next call starts anew
            raise translate(exc, INVOKE, self._ctx) from exc
        return result

    def execute(
        self, code: str, *, timeout: float | None = None, stdin: bytes | None = None,
        argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
        on_stdout: Callable[[str], None] | None = None,
        on_stderr: Callable[[str], None] | None = None,
        output_errors: str = "replace",
    ) -> Execution:
        """Run ``code``; AgentCore returns output at the end, so callbacks get it then (as
        text: ``output_errors`` changes nothing, the service already decoded it)."""
        setup = _argv_env_snippet(argv, env) if argv or env else None
        execution = self._execute(code, timeout=timeout, stdin=stdin, setup=setup)
        if on_stdout is not None and execution.stdout:
            on_stdout(execution.stdout)
        if on_stderr is not None and execution.stderr:
            on_stderr(execution.stderr)
        return execution

    def _execute(self, code: str, *, timeout: float | None, stdin: bytes | None,
                 setup: str | None = None) -> Execution:
        limit = self._settings.timeout if timeout is None else timeout
        if limit <= 0:
            raise UsageError("timeout must be a positive number of seconds")
        with self._stop_on_interrupt():
            self._fit_read_timeout(limit)
            self._ensure_started()
            started = time.monotonic()
            deadline = started + limit
            try:
                if setup is not None:
                    self._run_python(setup, deadline)
                if stdin is not None:
                    self._run_python(_stdin_snippet(stdin), deadline)
                result = self._run_python(code, deadline)
            except _DeadlineExceeded:
                self._stop_session()
                raise ExecutionTimeoutError(
                    f"the code ran past {limit:g}s on AgentCore; the session was stopped and its "
                    "variables and files are lost (raise --timeout if it needs longer)",
                    state_lost=True,
                ) from None
            execution = to_execution(
                result,
                output_cap=self._settings.limits.output_bytes,
                duration_ms=(time.monotonic() - started) * 1000.0,
            )
            if looks_like_timeout(result):
                raise ExecutionTimeoutError(
                    f"AgentCore stopped the code for running too long ({result.summary()}): "
                    "split the work or raise --timeout",
                    execution=execution,
                )
            return execution

    def _run_python(self, code: str, deadline: float) -> ToolResult:
        # clearContext False on every call: variables persist across executions.
        arguments = {"code": code, "language": "python", "clearContext": False}
        return self._invoke("executeCode", arguments, deadline=deadline)

    def write_files(self, files: Mapping[str, bytes]) -> None:
        uploads: list[dict[str, Any]] = []
        for name, data in files.items():
            path = check_relative(name)
            try:  # text when it is text (the SDK sends str as text, bytes as a blob)
                uploads.append({"path": path, "content": data.decode("utf-8")})
            except UnicodeDecodeError:
                uploads.append({"path": path, "content": data})
        if not uploads:
            return
        with self._stop_on_interrupt():
            self._ensure_started()
            result = self._drain(lambda: self._interpreter.upload_files(uploads))
        if result.is_error:
            names = ", ".join(u["path"] for u in uploads)
            raise SandboxError(f"AgentCore could not write {names}: {result.summary()}")

    def install_packages(self, packages: list[str]) -> Execution:
        """pip-install ``packages`` into this session (the SDK checks and quotes each name)."""
        from bedrock_agentcore.tools.code_interpreter_client import VALID_PACKAGE_NAME

        refused = [name for name in packages if not VALID_PACKAGE_NAME.match(name)]
        if refused or not packages:
            raise UsageError(
                f"not a package specifier: {', '.join(map(repr, refused))} (use names like "
                "pandas or 'numpy>=2')" if refused else "no packages to install"
            )
        with self._stop_on_interrupt():
            self._ensure_started()
            started = time.monotonic()
            result = self._drain(lambda: self._interpreter.install_packages(packages))
        execution = to_execution(
            result,
            output_cap=self._settings.limits.output_bytes,
            duration_ms=(time.monotonic() - started) * 1000.0,
        )
        if not execution.ok:
            said = (execution.stderr or execution.stdout).strip().splitlines()
            raise SandboxError(
                f"pip could not install {' '.join(packages)} on AgentCore: "
                f"{said[-1] if said else result.summary()}"
            )
        return execution

    def list_files(self) -> list[str]:
        self._check_open()
        if not self._session_id:
            return []  # nothing has run: no session, no files (and no session started for this)
        files: set[str] = set()
        pending = [""]
        visited: set[str] = set()
        with self._stop_on_interrupt():
            while pending:
                directory = pending.pop()
                result = self._invoke("listFiles", {"directoryPath": directory})
                if result.is_error:
                    raise SandboxError(
                        f"AgentCore could not list {directory or 'the work dir'}: "
                        f"{result.summary()}"
                    )
                for entry in listed_entries(directory, result):
                    if not entry.is_dir:
                        files.add(entry.path)
                        continue
                    # Hidden directories hold the interpreter's own state, not results.
                    hidden = entry.path.rsplit("/", 1)[-1].startswith(".")
                    if not hidden and entry.path not in visited and len(visited) < _MAX_LISTED_DIRS:
                        visited.add(entry.path)
                        pending.append(entry.path)
        return sorted(files)

    def read_file(self, path: str) -> bytes:
        relative = check_relative(path)
        self._check_open()
        if not self._session_id:
            raise SandboxError(f"no file {relative!r} in the AgentCore session: nothing ran yet")
        with self._stop_on_interrupt():
            result = self._invoke("readFiles", {"paths": [relative]})
        data = None if result.is_error else file_content(relative, result)
        if data is None:
            said = result.summary() or "not found"
            raise SandboxError(f"cannot read {relative!r} from the AgentCore session: {said}")
        return data
