"""`LocalLlamaModel`: strands' `LlamaCppModel` pointed at an in-process llama.cpp server.

Differences from the parent, and why:
- the server (and, for named models, the weight assembly) starts lazily on the first request,
  off the event loop, so constructing a model costs nothing;
- replies are read as a real stream (the parent reads the whole body before yielding its first
  chunk), so time to first token is what llama.cpp delivers;
- every request uses its own short-lived httpx client: strands runs each agent call on a fresh
  event loop, and pooled connections from a closed loop break the next call;
- failures come out as a small documented set (see `stream`).

Imported lazily by `agentcode.models.local.load_local_model`: it pulls in strands and httpx.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from strands.models.llamacpp import LlamaCppModel
from strands.types.content import Messages
from strands.types.exceptions import ContextWindowOverflowException, ModelThrottledException
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice, ToolSpec

from agentcode.errors import ModelError
from agentcode.models.local_server import LlamaServer, shared_server
from agentcode.models.sampling import Draws, Sampling
from agentcode.models.warm import WarmServer, warm_server

_CONTEXT_TERMS = ("context", "kv cache", "slot")


class LocalLlamaModel(LlamaCppModel):
    """The embedded model. ``model_id`` (also ``config["model_id"]``) is e.g. "local:NAME"."""

    def __init__(
        self,
        *,
        model_id: str,
        resolve_path: Callable[[], Path],
        n_ctx: int,
        n_threads: int,
        params: dict[str, Any],
        read_timeout: float,
        n_parallel: int = 1,
        keep_alive: float = 0.0,
    ) -> None:
        super().__init__(base_url="http://127.0.0.1:0", model_id=model_id, params=params)
        self._resolve_path = resolve_path
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._n_parallel = max(1, n_parallel)
        self._timeout = httpx.Timeout(read_timeout, connect=5.0)
        self._keep_alive = keep_alive  # > 0: the model runs in a warm background process
        self._server: LlamaServer | WarmServer | None = None
        self._start_lock = threading.Lock()

    def _lost(self, server: LlamaServer | WarmServer, exc: Exception) -> bool:
        """Whether ``exc`` means the warm process went away (idle exit, stop, crash): the
        request is then sent once more, to a fresh one."""
        if not isinstance(server, WarmServer) or not isinstance(exc, httpx.ConnectError):
            return False
        with self._start_lock:
            if self._server is server:
                self._server = None
        return True

    @property
    def model_id(self) -> str:
        return str(self.config["model_id"])

    @property
    def load_seconds(self) -> float | None:
        """Seconds the server took to load the weights (None until started)."""
        return self._server.load_seconds if self._server else None

    @property
    def model_path(self) -> Path | None:
        return self._server.model_path if self._server else None

    def start(self) -> LlamaServer | WarmServer:
        """Assemble/verify the weights and start the server if needed. Thread-safe, idempotent.

        With a keep-alive the server is the warm background process (started if none runs);
        otherwise it runs in this process. Raises `agentcode.errors.ModelUnavailableError` when
        the weights or runtime are unusable.
        """
        with self._start_lock:
            if isinstance(self._server, WarmServer):
                self._server.touch()
            if self._server is None or not self._server.running:
                path = self._resolve_path()
                if self._keep_alive > 0:
                    self._server = warm_server(path, n_ctx=self._n_ctx, n_threads=self._n_threads,
                                               n_parallel=self._n_parallel,
                                               keep_alive=self._keep_alive)
                else:
                    self._server = shared_server(path, n_ctx=self._n_ctx,
                                                 n_threads=self._n_threads,
                                                 n_parallel=self._n_parallel)
                self.base_url = self._server.base_url
                self.client.base_url = httpx.URL(self.base_url)
                self.client.headers["Authorization"] = f"Bearer {self._server.api_key}"
            return self._server

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: ToolChoice | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream a reply. Failures, for the router to classify:

        - `ModelThrottledException` (strands): the server is busy (HTTP 503/429): retry later;
        - `ContextWindowOverflowException` (strands): the prompt does not fit (HTTP 400);
        - `agentcode.errors.ModelUnavailableError`: weights or runtime unusable: do not retry;
        - `agentcode.errors.ModelError`: this request failed (other HTTP status, timeout, lost
          connection, malformed reply); the httpx error is chained as ``__cause__``.

        A reply cut at ``max_tokens`` ends with stopReason "max_tokens", which a strands `Agent`
        turns into `MaxTokensReachedException`.
        """
        server = await asyncio.to_thread(self.start)
        if tool_specs:
            # The small Qwen models do not do tool calls; keep the parent's complete handling.
            async for event in super().stream(
                messages, tool_specs, system_prompt, tool_choice=tool_choice, **kwargs
            ):
                yield event
            return
        request = self._format_request(messages, None, system_prompt)
        request.pop("tools", None)
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                async with (
                    self._client(server) as client,
                    client.stream("POST", "/v1/chat/completions", json=request) as response,
                ):
                    if response.status_code >= 400:
                        await response.aread()
                        raise self._status_error(response)
                    async for event in self._events(response, started):
                        yield event
                return
            except httpx.HTTPError as exc:
                # Nothing was sent back yet when the connection itself failed.
                if attempt == 2 or not self._lost(server, exc):
                    raise self._http_error(exc) from exc
            server = await asyncio.to_thread(self.start)

    def _client(self, server: LlamaServer | WarmServer) -> httpx.AsyncClient:
        """A client for one request (see the module docstring: no pooling across loops)."""
        return httpx.AsyncClient(base_url=server.base_url, timeout=self._timeout,
                                 headers={"Authorization": f"Bearer {server.api_key}"})

    def _http_error(self, exc: httpx.HTTPError) -> ModelError:
        if isinstance(exc, httpx.TimeoutException):
            return ModelError(f"the local model {self.model_id} did not answer within "
                              f"{self._timeout.read:g} s")
        return ModelError(f"the local model {self.model_id} failed: {exc}")

    async def _events(
        self, response: httpx.Response, started: float
    ) -> AsyncGenerator[StreamEvent, None]:
        yield self._format_chunk({"chunk_type": "message_start"})
        yield self._format_chunk({"chunk_type": "content_start", "data_type": "text"})
        usage: dict[str, Any] | None = None
        finish_reason: str | None = None
        understood = False  # any well-formed event at all?
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            payload = line[6:].strip()
            if payload == "[DONE]":
                understood = True
                break
            try:
                event = json.loads(payload)
            except json.JSONDecodeError:
                continue  # one damaged line is not worth failing the whole reply
            if not isinstance(event, dict):
                continue
            understood = True
            if event.get("usage"):
                usage = event["usage"]
            choices = event.get("choices") or []
            if not choices:
                continue
            delta = choices[0].get("delta") or {}
            if delta.get("content"):
                yield self._format_chunk(
                    {"chunk_type": "content_delta", "data_type": "text", "data": delta["content"]}
                )
            finish_reason = choices[0].get("finish_reason") or finish_reason
        if not understood:
            raise ModelError(
                f"the local model {self.model_id} sent a malformed reply (no readable events)"
            )
        yield self._format_chunk({"chunk_type": "content_stop"})
        yield self._format_chunk({"chunk_type": "message_stop", "data": finish_reason or "stop"})
        if usage:
            details = usage.get("prompt_tokens_details") or {}
            yield self._format_chunk(
                {
                    "chunk_type": "metadata",
                    "data": SimpleNamespace(
                        prompt_tokens=usage.get("prompt_tokens", 0),
                        completion_tokens=usage.get("completion_tokens", 0),
                        total_tokens=usage.get("total_tokens", 0),
                        cached_tokens=details.get("cached_tokens", 0),
                    ),
                    "latency_ms": int((time.perf_counter() - started) * 1000),
                }
            )

    @property
    def parallel(self) -> int:
        """How many replies one `draw_many` call decodes together (the server's slots)."""
        return self._n_parallel

    async def draw_many(
        self,
        messages: Messages,
        system_prompt: str | None,
        *,
        n: int,
        sampling: Sampling,
    ) -> Draws:
        """``n`` replies to one conversation, decoded together (llama.cpp's ``n_cmpl``).

        The prompt is evaluated once (or found in a slot's cache) and shared by the ``n``
        sequences, which are decoded as one batch in the server's slots; each reply is sampled
        at ``sampling``'s temperature, the seed telling the draws of one call apart. Failures are
        those of `stream`; a reply cut at ``max_tokens`` is returned as it is (the caller's
        extractor judges it).
        """
        server = await asyncio.to_thread(self.start)
        request = self._format_request(messages, None, system_prompt)
        for key in ("tools", "stream_options"):
            request.pop(key, None)
        request.update(stream=False, temperature=sampling.temperature)
        texts: list[str] = []
        input_tokens = output_tokens = 0
        # llama.cpp refuses n_cmpl above its slots: more draws than slots take several calls.
        while len(texts) < max(1, n):
            request["n_cmpl"] = min(self._n_parallel, max(1, n) - len(texts))
            if sampling.seed is not None:
                request["seed"] = sampling.seed + len(texts)
            body = await self._post(server, request)
            try:
                choices = sorted(body["choices"], key=lambda choice: int(choice.get("index", 0)))
                texts += [str((c.get("message") or {}).get("content") or "") for c in choices]
                usage = body.get("usage") or {}
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                raise ModelError(
                    f"the local model {self.model_id} sent a malformed reply ({exc})"
                ) from None
            if not choices:
                raise ModelError(f"the local model {self.model_id} sent a reply with no choices")
            input_tokens += int(usage.get("prompt_tokens") or 0)
            output_tokens += int(usage.get("completion_tokens") or 0)
        return Draws(texts=texts[:n], input_tokens=input_tokens, output_tokens=output_tokens)

    async def _post(self, server: LlamaServer | WarmServer, request: dict[str, Any]) -> Any:
        """One non-streamed chat completion: the parsed JSON body, or the errors of `stream`."""
        try:
            async with self._client(server) as client:
                response = await client.post("/v1/chat/completions", json=request)
        except httpx.HTTPError as exc:
            if not self._lost(server, exc):
                raise self._http_error(exc) from exc
            server = await asyncio.to_thread(self.start)
            try:
                async with self._client(server) as client:
                    response = await client.post("/v1/chat/completions", json=request)
            except httpx.HTTPError as again:
                raise self._http_error(again) from again
        if response.status_code >= 400:
            raise self._status_error(response)
        try:
            return response.json()
        except ValueError as exc:
            raise ModelError(
                f"the local model {self.model_id} sent a malformed reply ({exc})"
            ) from None

    def _status_error(self, response: httpx.Response) -> Exception:
        try:
            body = response.json()
            message = str(body.get("error", {}).get("message", body))
        except (ValueError, AttributeError):
            message = response.text
        message = message.strip()[:300] or response.reason_phrase
        status = response.status_code
        if status in (429, 503):
            return ModelThrottledException(f"llama.cpp server is busy (HTTP {status}): {message}")
        if status == 400 and any(term in message.lower() for term in _CONTEXT_TERMS):
            return ContextWindowOverflowException(f"context window exceeded: {message}")
        return ModelError(
            f"the local model {self.model_id} failed: llama.cpp answered HTTP {status}: {message}"
        )
