"""A client of a running `agentcode serve`, whose model is already loaded.

    >>> with ServerClient("http://127.0.0.1:8765/?token=...") as server:
    ...     generation = server.generate("print the first 10 primes")

`agentcode gen --server URL` (or ``AGENTCODE_SERVER=URL``) uses it, so repeated ``gen`` calls
skip the model load. The token comes from the URL's ``?token=`` (as ``agentcode serve`` prints
it) or ``AGENTCODE_TOKEN``. Failures are the same exceptions, with the same exit codes, as when
the model runs in this process; a server that cannot be reached is `ModelUnavailableError`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from agentcode.errors import (
    EXIT_NO_MODEL,
    EXIT_SANDBOX,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    AgentcodeError,
    ExecutionTimeoutError,
    ModelError,
    ModelUnavailableError,
    SandboxError,
    UsageError,
)
from agentcode.types import Execution, Generation

DEFAULT_TIMEOUT = httpx.Timeout(10.0, read=600.0)  # a verified generation can take minutes


def split_url(url: str) -> tuple[str, str | None]:
    """``http://host:port/?token=T`` -> (``http://host:port``, ``T``)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"invalid server URL {url!r}: expected http://HOST:PORT "
                         "(as agentcode serve prints it)")
    tokens = parse_qs(parts.query).get("token")
    token = tokens[0] if tokens else None
    return urlunsplit((parts.scheme, parts.netloc, "", "", "")), token


class ServerClient:
    def __init__(self, url: str, *, token: str | None = None,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self.base_url, url_token = split_url(url)
        token = token or url_token or os.environ.get("AGENTCODE_TOKEN") or ""
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=self._auth, timeout=timeout,
                                  trust_env=False)

    def generate(self, prompt: str, *, model: str | None = None, system: str | None = None,
                 context: str | None = None, verify: bool | None = None,
                 max_repairs: int | None = None,
                 on_token: Callable[[str], None] | None = None,
                 on_restart: Callable[[str], None] | None = None) -> Generation:
        """One generation in a fresh server session (closed afterwards).

        With ``on_token`` the reply streams over the session's WebSocket (``on_restart`` as in
        `agentcode.generate`); that needs the ``websockets`` package of the serve extra.
        ``verify`` None: the server applies the library's rule (a request that asks for output
        is run once with empty stdin); ``max_repairs`` None: the server's default for the run.
        """
        session_id = self.open_session(model=model)
        body: dict[str, Any] = {"prompt": prompt, "system": system, "context": context,
                                "verify": verify}
        if max_repairs is not None:
            body["max_repairs"] = max_repairs
        try:
            if on_token is None:
                data = self._call("POST", f"/v1/sessions/{session_id}/generate", json=body)
            else:
                data = self._stream(session_id, {"type": "generate", **body}, on_token,
                                    on_restart)
        finally:
            self.close_session(session_id)
        return Generation.from_dict(data)

    def _stream(self, session_id: str, message: dict[str, Any], on_token: Callable[[str], None],
                on_restart: Callable[[str], None] | None) -> Any:
        """Send one request on the stream; feed its events to the callbacks; return the result."""
        import json

        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        url = self.base_url.replace("http", "ws", 1) + f"/v1/sessions/{session_id}/stream"
        try:
            with connect(url, additional_headers=self._auth,
                         open_timeout=30, max_size=None) as ws:
                ws.send(json.dumps(message))
                while True:
                    event = json.loads(ws.recv())
                    kind = event.pop("type", None)
                    if kind == "token":
                        on_token(event["text"])
                    elif kind == "restart" and on_restart is not None:
                        on_restart(event["text"])
                    elif kind == "result":
                        event.pop("kind", None)
                        return event
                    elif kind == "error":
                        event["detail"] = event.pop("message", "")
                        raise _error(0, event, self.base_url)
        except (OSError, WebSocketException) as exc:
            raise ModelUnavailableError(
                f"lost the live connection to the agentcode server at {self.base_url} ({exc})"
            ) from None

    def execute(self, session_id: str, code: str, *, stdin: str | None = None,
                timeout: float | None = None) -> Execution:
        body = {"code": code, "stdin": stdin, "timeout": timeout}
        return Execution.from_dict(
            self._call("POST", f"/v1/sessions/{session_id}/execute", json=body))

    def open_session(self, *, model: str | None = None, sandbox: str | None = None) -> str:
        body = {"model": model, "sandbox": sandbox}
        return str(self._call("POST", "/v1/sessions", json=body)["id"])

    def close_session(self, session_id: str) -> None:
        with contextlib.suppress(AgentcodeError):  # already gone (closed as idle)
            self._call("DELETE", f"/v1/sessions/{session_id}")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ModelUnavailableError(
                f"cannot reach the agentcode server at {self.base_url} ({exc}): start it with "
                "`agentcode serve`, or unset AGENTCODE_SERVER to load the model here"
            ) from None
        if response.status_code == 204:
            return None
        try:
            data = response.json()
        except ValueError:
            data = {"detail": response.text.strip() or response.reason_phrase}
        if response.is_success:
            return data
        raise _error(response.status_code, data, self.base_url)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _error(status: int, data: Any, base_url: str) -> AgentcodeError:
    """The exception the server's error body stands for (its exit code is kept)."""
    body = data if isinstance(data, dict) else {}
    detail = body.get("detail")
    message = detail if isinstance(detail, str) else f"HTTP {status}: {detail or data}"
    if status == 401:
        return UsageError(f"the server at {base_url} refused the token: pass the URL it printed "
                          "(with ?token=) or set AGENTCODE_TOKEN")
    code = body.get("exit_code")
    if code == EXIT_TIMEOUT:
        partial = body.get("execution")
        return ExecutionTimeoutError(
            message, execution=Execution.from_dict(partial) if partial else None)
    if code == EXIT_SANDBOX:
        return SandboxError(message)
    if code == EXIT_NO_MODEL:
        return ModelUnavailableError(message) if status == 503 else ModelError(message)
    if code == EXIT_USAGE or 400 <= status < 500:
        return UsageError(f"the server refused the request: {message}")
    return AgentcodeError(f"the server failed: {message}")
