"""The worker's messages, checked before anything trusts them.

The worker shares its process with the user's code, so a result line is untrusted input: it
may be malformed, nested thousands deep, carry numbers out of range or the wrong types, or
answer another request. Each of those is one `SandboxError` (exit 4) with one clear line.
"""

from __future__ import annotations

import json
import math
from typing import Any

from agentcode.errors import SandboxError

_STATUSES = {"ok", "error", "interrupted"}
_OUTPUT_KEYS = ("text", "html", "png", "jpeg", "svg", "markdown", "name")
_ERROR_KEYS = ("name", "value", "traceback")


def _bad(what: str) -> SandboxError:
    return SandboxError(f"the sandbox worker sent a malformed result ({what}); "
                        "the session was stopped")


def _load(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        raise _bad("not JSON") from None


def parse_ready(line: bytes) -> bool:
    message = _load(line)
    return isinstance(message, dict) and message.get("type") == "ready"


def _optional_str(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _bad(f"{what} is not text")
    return value


# Bounds of the failing frame's variables on the host side too: the worker shares its process
# with the user's code, which could send anything.
MAX_LOCALS = 20
MAX_LOCAL_CHARS = 200


def _frame_locals(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _bad("frame_locals is not an object of text")
    return {k[:MAX_LOCAL_CHARS]: v[:MAX_LOCAL_CHARS]
            for k, v in list(value.items())[:MAX_LOCALS]}


def parse_result(line: bytes, request_id: str) -> dict[str, Any]:
    """The result of request ``request_id``, with every field of the expected type."""
    message = _load(line)
    if not isinstance(message, dict) or message.get("type") != "result":
        raise _bad("not a result")
    if not isinstance(message.get("id"), str) or message["id"] != request_id:
        raise _bad("it answers another request")
    status = message.get("status")
    if status not in _STATUSES:
        raise _bad("unknown status")
    exit_code = message.get("exit_code")
    if not isinstance(exit_code, int) or isinstance(exit_code, bool) or not 0 <= exit_code <= 255:
        raise _bad("exit code out of range")
    error = message.get("error")
    if error is not None:
        if not isinstance(error, dict):
            raise _bad("error is not an object")
        error = {**{key: _optional_str(error.get(key), f"error {key}") or ""
                    for key in _ERROR_KEYS},
                 "frame_locals": _frame_locals(error.get("frame_locals"))}
    outputs = message.get("outputs")
    if outputs is None:
        outputs = []
    if not isinstance(outputs, list):
        raise _bad("outputs is not a list")
    checked = []
    for output in outputs:
        if not isinstance(output, dict):
            raise _bad("an output is not an object")
        item: dict[str, Any] = {key: _optional_str(output.get(key), f"output {key}")
                                for key in _OUTPUT_KEYS}
        item["main"] = bool(output.get("main") is True)
        checked.append(item)
    duration = message.get("duration_ms", 0.0)
    if not isinstance(duration, int | float) or isinstance(duration, bool) or not (
            math.isfinite(duration) and duration >= 0):
        raise _bad("duration out of range")
    return {"type": "result", "id": request_id, "status": status, "exit_code": exit_code,
            "error": error, "outputs": checked, "duration_ms": float(duration)}
