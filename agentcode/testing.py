"""Test doubles for code that uses agentcode: fake models (and sandboxes) that need no network.

The models are real strands `Model` subclasses, so they work anywhere a model does:
``agentcode.generate("...", model=FakeModel("```python\\nprint(1)\\n```"))``.

- `FakeModel`: replies from a script; a script item that is an exception is raised instead,
  a `Partial` streams some text and then raises (a model failing mid-answer), and a `ToolCall`
  asks the agent to call a tool (strands agent loops).
- `FailingModel`: always raises the given error.
- `FunctionModel`: computes each reply from the messages and system prompt.
- `throttled()`, `client_error()`, `no_credentials()`: the errors Bedrock raises, for scripts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strands.models.model import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent

from agentcode.models.sampling import Draws

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Partial:
    """A script item: stream ``text``, then raise ``error``."""

    text: str
    error: BaseException


@dataclass(frozen=True, slots=True)
class FakeCall:
    """What a fake model was asked."""

    messages: Messages
    system_prompt: str | None
    config: dict[str, Any] = field(default_factory=dict)  # the model's config during the call

    @property
    def prompt(self) -> str:
        """The text of the last user message."""
        for message in reversed(self.messages):
            if message["role"] == "user":
                return "".join(block.get("text", "") for block in message["content"])
        return ""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A script item: ask the agent to call tool ``name`` with ``input`` (an agent-loop test).

    The next script item answers the turn that carries the tool's result (see `FakeCall.messages`).
    """

    name: str
    input: dict[str, Any] = field(default_factory=dict)
    tool_use_id: str = ""


ScriptItem = str | BaseException | Partial | ToolCall


class _ScriptedModel(Model):
    """Common plumbing: config, call log, streaming a reply as strands events."""

    def __init__(self, *, model_id: str, chunk_size: int = 16, delay: float = 0.0,
                 parallel: int = 1) -> None:
        self.config: dict[str, Any] = {"model_id": model_id}
        self.chunk_size = max(1, chunk_size)
        self.delay = delay
        self.calls: list[FakeCall] = []
        # >1: like the embedded model, `draw_many` answers several draws in one call.
        self.parallel = parallel
        self.batches: list[int] = []  # n of each draw_many call

    async def draw_many(
        self, messages: Messages, system_prompt: str | None, *, n: int, sampling: Any
    ) -> Draws:
        """``n`` script items in one call (each is a `FakeCall` too, its config holding the
        draw's temperature and seed); an exception item fails the whole call, as a failed
        HTTP request would."""
        self.batches.append(n)
        texts = []
        for _ in range(n):
            call = FakeCall([dict(m) for m in messages], system_prompt,  # type: ignore[misc]
                            dict(self.get_config(), temperature=sampling.temperature,
                                 seed=sampling.seed, batch=n))
            self.calls.append(call)
            item = self._next_item(call)
            if isinstance(item, BaseException):
                raise item
            texts.append(item.text if isinstance(item, Partial) else str(item))
        return Draws(texts=texts, input_tokens=10, output_tokens=sum(len(t.split()) for t in texts))

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    async def structured_output(  # type: ignore[override]
        self, output_model: type[T], prompt: Messages, system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        raise NotImplementedError("fake models do not produce structured output")
        yield {}  # pragma: no cover - makes this an async generator

    def _next_item(self, call: FakeCall) -> ScriptItem:
        raise NotImplementedError

    async def stream(  # type: ignore[override]
        self,
        messages: Messages,
        tool_specs: Any = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        call = FakeCall(
            [dict(m) for m in messages], system_prompt, self.get_config()  # type: ignore[misc]
        )
        self.calls.append(call)
        item = self._next_item(call)
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, ToolCall):
            for event in _tool_call_events(item, len(self.calls)):
                yield event
            return
        text, error = (item.text, item.error) if isinstance(item, Partial) else (item, None)
        yield {"messageStart": {"role": "assistant"}}
        yield {"contentBlockStart": {"start": {}}}
        for start in range(0, len(text), self.chunk_size):
            if self.delay:
                await asyncio.sleep(self.delay)
            yield {"contentBlockDelta": {"delta": {"text": text[start : start + self.chunk_size]}}}
        if error is not None:
            raise error
        yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "end_turn"}}
        words = len(text.split())
        yield {
            "metadata": {
                "usage": {"inputTokens": 10, "outputTokens": words, "totalTokens": 10 + words},
                "metrics": {"latencyMs": 0},
            }
        }


def _tool_call_events(call: ToolCall, number: int) -> list[StreamEvent]:
    start = {"toolUse": {"toolUseId": call.tool_use_id or f"fake-tool-use-{number}",
                         "name": call.name}}
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"start": start}},  # type: ignore[typeddict-item]
        {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(call.input)}}}},
        {"contentBlockStop": {}},
        {"messageStop": {"stopReason": "tool_use"}},
        {"metadata": {"usage": {"inputTokens": 10, "outputTokens": 1, "totalTokens": 11},
                      "metrics": {"latencyMs": 0}}},
    ]


class FakeModel(_ScriptedModel):
    """Replies from a script, in order; a single string is the reply to every call.

    A list is consumed one item per call and raises `AssertionError` once exhausted, so a test
    notices an unexpected extra call. ``calls`` records what the model was asked.
    """

    def __init__(
        self,
        replies: str | Sequence[ScriptItem],
        *,
        model_id: str = "fake",
        chunk_size: int = 16,
        delay: float = 0.0,
        parallel: int = 1,
    ) -> None:
        super().__init__(model_id=model_id, chunk_size=chunk_size, delay=delay,
                         parallel=parallel)
        self.repeat = isinstance(replies, str)
        self.script: list[ScriptItem] = [replies] if isinstance(replies, str) else list(replies)

    def _next_item(self, call: FakeCall) -> ScriptItem:
        if self.repeat:
            return self.script[0]
        index = len(self.calls) - 1
        if index >= len(self.script):
            raise AssertionError(f"FakeModel {self.config['model_id']!r} ran out of replies "
                                 f"(call {index + 1}, script of {len(self.script)})")
        return self.script[index]


class FailingModel(_ScriptedModel):
    """Raises ``error`` on every call, after streaming ``partial`` text if given."""

    def __init__(
        self, error: BaseException, *, model_id: str = "failing", partial: str = ""
    ) -> None:
        super().__init__(model_id=model_id)
        self.error = error
        self.partial = partial

    def _next_item(self, call: FakeCall) -> ScriptItem:
        return Partial(self.partial, self.error) if self.partial else self.error


class FunctionModel(_ScriptedModel):
    """Each reply is ``function(call)``: a string, an exception or a `Partial`."""

    def __init__(
        self, function: Callable[[FakeCall], ScriptItem], *, model_id: str = "function",
        parallel: int = 1,
    ) -> None:
        super().__init__(model_id=model_id, parallel=parallel)
        self.function = function

    def _next_item(self, call: FakeCall) -> ScriptItem:
        return self.function(call)


def throttled(message: str = "Too many requests, please wait before trying again.") -> Exception:
    """The error BedrockModel raises when Bedrock throttles."""
    from strands.types.exceptions import ModelThrottledException

    return ModelThrottledException(message)


def client_error(code: str, message: str = "", status: int = 400,
                 operation: str = "ConverseStream") -> Exception:
    """A botocore ``ClientError`` as Bedrock returns it (e.g. "AccessDeniedException", 403)."""
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": code, "Message": message or code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


def no_credentials() -> Exception:
    """What botocore raises when the credential chain finds nothing."""
    from botocore.exceptions import NoCredentialsError

    return NoCredentialsError()


# -- sandbox ---------------------------------------------------------------------------------



class FakeSandbox:
    """A `SandboxSession` that runs nothing: it replies from a script and records the calls.

    Each `execute` takes the next script item: an `Execution` is returned (its ``stdout`` /
    ``stderr`` also go to the callbacks), an exception is raised, a callable is called with
    the code. An empty script answers ``Execution()`` (ok, no output). Files live in a dict.
    """

    backend = "fake"

    def __init__(self, script: Sequence[Any] = ()) -> None:
        import uuid

        self.id = uuid.uuid4().hex
        self.script: list[Any] = list(script)
        self.codes: list[str] = []
        self.stdins: list[bytes | None] = []
        self.argvs: list[list[str] | None] = []
        self.envs: list[dict[str, str] | None] = []
        self.files: dict[str, bytes] = {}
        self.closed = False

    def execute(self, code: str, *, timeout: float | None = None, stdin: bytes | None = None,
                argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
                on_stdout: Callable[[str], None] | None = None,
                on_stderr: Callable[[str], None] | None = None,
                output_errors: str = "replace") -> Any:
        from agentcode.types import Execution

        self.codes.append(code)
        self.stdins.append(stdin)
        self.argvs.append(list(argv) if argv is not None else None)
        self.envs.append(dict(env) if env is not None else None)
        item = self.script.pop(0) if self.script else Execution()
        if isinstance(item, BaseException):
            raise item
        result = item(code) if callable(item) else item
        result.backend, result.session_id = self.backend, self.id
        if on_stdout is not None and result.stdout:
            on_stdout(result.stdout)
        if on_stderr is not None and result.stderr:
            on_stderr(result.stderr)
        return result

    def write_files(self, files: Any) -> None:
        from agentcode.sandbox.base import check_relative

        for name, data in files.items():
            self.files[check_relative(name)] = bytes(data)

    def list_files(self) -> list[str]:
        return sorted(self.files)

    def read_file(self, path: str) -> bytes:
        from agentcode.errors import SandboxError

        try:
            return self.files[path]
        except KeyError:
            raise SandboxError(f"no file {path!r} in the sandbox") from None

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
