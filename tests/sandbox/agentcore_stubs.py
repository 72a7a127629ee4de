"""A real ``bedrock-agentcore`` boto3 client under botocore's Stubber, with real event streams.

Stubber validates a response against the output shape, and the ``stream`` member of
InvokeCodeInterpreter must be a botocore ``EventStream`` object, not a dict, so Stubber alone
cannot produce it. We let Stubber answer with an empty ``stream`` structure (which validates),
then an ``after-call`` handler on the client swaps in a genuine ``botocore.eventstream.EventStream``
reading bytes we encode in the AWS event-stream wire format (prelude, headers, JSON payload,
CRCs). botocore decodes and parses those bytes exactly as it would the service's: result events
become dicts (blobs base64-decoded to bytes), exception events raise ``EventStreamError`` while
iterating. Each event dict is also validated against the service model before it is encoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.eventstream import EventStream
from botocore.parsers import EventStreamJSONParser
from botocore.stub import ANY, Stubber
from botocore.validate import validate_parameters

from agentcode.aws.retry import RetryPolicy
from agentcode.config import Settings
from agentcode.sandbox.agentcore.session import AgentCoreSession

REGION = "us-west-2"
INTERPRETER = "aws.codeinterpreter.v1"
SESSION = "sess01"
NO_WAIT = RetryPolicy(attempts=3, initial_delay=0, max_delay=0, jitter=0)  # retries, no sleeping


def _header(name: str, value: str) -> bytes:
    key, val = name.encode(), value.encode()
    return bytes([len(key)]) + key + b"\x07" + struct.pack(">H", len(val)) + val


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: the framing AWS services use on the wire."""
    encoded_headers = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded_headers))
    head = prelude + struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    body = head + encoded_headers + payload
    return body + struct.pack(">I", binascii.crc32(body) & 0xFFFFFFFF)


def _json_default(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")  # how rest-json carries blobs
    raise TypeError(type(value).__name__)


def result_event(result: dict[str, Any]) -> bytes:
    payload = json.dumps(result, default=_json_default).encode()
    headers = {
        ":message-type": "event",
        ":event-type": "result",
        ":content-type": "application/json",
    }
    return encode_message(headers, payload)


def exception_event(member: str, message: str) -> bytes:
    headers = {
        ":message-type": "exception",
        ":exception-type": member,
        ":content-type": "application/json",
    }
    return encode_message(headers, json.dumps({"message": message}).encode())


def code_result(
    stdout: str = "", stderr: str = "", exit_code: int = 0, *, is_error: bool = False, **extra: Any
) -> dict[str, Any]:
    """The shape the service sends for executeCode: text content plus structuredContent."""
    content = extra.pop("content", [{"type": "text", "text": stdout or stderr}])
    return {
        "content": content,
        "structuredContent": {
            "stdout": stdout,
            "stderr": stderr,
            "exitCode": exit_code,
            "executionTime": 0.012,
        },
        "isError": is_error,
        **extra,
    }


class RawStream:
    """The HTTP body under an EventStream: yields the bytes in small chunks, then maybe fails."""

    def __init__(self, data: bytes, fail_with: BaseException | None = None) -> None:
        self._data = data
        self._fail_with = fail_with
        self.closed = False

    def stream(self) -> Iterator[bytes]:
        for i in range(0, len(self._data), 7):
            yield self._data[i : i + 7]
        if self._fail_with is not None:
            raise self._fail_with

    def close(self) -> None:
        self.closed = True


class AgentCoreStub:
    """Queue answers for start / invoke / stop on a Stubber-wrapped client."""

    def __init__(self, interpreter: str = INTERPRETER) -> None:
        self.interpreter = interpreter
        session = boto3.Session(
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="not-a-secret",
            region_name=REGION,
        )
        self.client = session.client("bedrock-agentcore", region_name=REGION)
        self.stubber = Stubber(self.client)
        self.streams: deque[RawStream] = deque()
        self.opened: list[RawStream] = []
        model = self.client.meta.service_model.operation_model("InvokeCodeInterpreter")
        self._stream_shape = model.output_shape.members["stream"]
        self.client.meta.events.register(
            "after-call.bedrock-agentcore.InvokeCodeInterpreter", self._attach_stream
        )
        self.stubber.activate()

    def _attach_stream(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if "stream" in parsed:
            raw = self.streams.popleft()
            self.opened.append(raw)
            parsed["stream"] = EventStream(
                raw, self._stream_shape, EventStreamJSONParser(), model.name
            )

    def start(self, session_id: str = SESSION, *, timeout: int = 900) -> None:
        self.stubber.add_response(
            "start_code_interpreter_session",
            {
                "codeInterpreterIdentifier": self.interpreter,
                "sessionId": session_id,
                "createdAt": datetime(2025, 1, 1, tzinfo=UTC),
            },
            {
                "codeInterpreterIdentifier": self.interpreter,
                "name": ANY,
                "sessionTimeoutSeconds": timeout,
                "clientToken": ANY,
            },
        )

    def stop(self, session_id: str = SESSION) -> None:
        self.stubber.add_response(
            "stop_code_interpreter_session",
            {
                "codeInterpreterIdentifier": self.interpreter,
                "sessionId": session_id,
                "lastUpdatedAt": datetime(2025, 1, 1, tzinfo=UTC),
            },
            # The SDK's stop sends no client token (stopping twice is harmless anyway).
            {"codeInterpreterIdentifier": self.interpreter, "sessionId": session_id},
        )

    def invoke(
        self,
        name: str,
        arguments: dict[str, Any],
        results: list[dict[str, Any]] | None = None,
        *,
        errors: list[tuple[str, str]] | None = None,
        fail_with: BaseException | None = None,
        session_id: str = SESSION,
    ) -> None:
        """Answer one invoke with ``results`` events, then ``errors`` exception events."""
        data = b""
        for result in results or []:
            validate_parameters({"result": result}, self._stream_shape)  # model-true events
            data += result_event(result)
        for member, message in errors or []:
            data += exception_event(member, message)
        self.stubber.add_response(
            "invoke_code_interpreter",
            {"sessionId": session_id, "stream": {}},
            {
                "codeInterpreterIdentifier": self.interpreter,
                "sessionId": session_id,
                "name": name,
                "arguments": arguments,
            },
        )
        self.streams.append(RawStream(data, fail_with))

    def execute(self, code: str, results: list[dict[str, Any]], **kwargs: Any) -> None:
        arguments = {"code": code, "language": "python", "clearContext": False}
        self.invoke("executeCode", arguments, results, **kwargs)

    def client_error(self, method: str, code: str, message: str = "", status: int = 400) -> None:
        self.stubber.add_client_error(
            method, service_error_code=code, service_message=message, http_status_code=status
        )


def open_session(stub: AgentCoreStub, **settings: Any) -> AgentCoreSession:
    """A session on the stubbed client, retrying without waiting."""
    values: dict[str, Any] = {"region": REGION, "interpreter_id": stub.interpreter}
    values.update(settings)
    return AgentCoreSession(
        Settings(**values), client=stub.client, retry=NO_WAIT
    )
