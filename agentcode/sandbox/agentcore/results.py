"""Turn AgentCore Code Interpreter results into agentcode's types.

An ``InvokeCodeInterpreter`` call answers with an event stream; each ``result`` event carries
``content`` (MCP-style blocks: text, image, resource, resource_link), ``structuredContent``
(stdout, stderr, exitCode, executionTime) and ``isError``. Error events (``throttlingException``
and friends) are not handled here: `agentcore_errors` turns them into exceptions first.
Pure functions, no boto3: testable without a client.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentcode.types import Execution, ExecutionError, Output

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# The last line of a Python traceback: "ZeroDivisionError: division by zero", "KeyboardInterrupt".
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")
_TIMEOUT_WORDS = re.compile(r"\b(timed out|timeout)\b", re.IGNORECASE)


@dataclass(slots=True)
class ToolResult:
    """All ``result`` events of one call, merged (the service may split output over events)."""

    content: list[dict[str, Any]] = field(default_factory=list)
    stdout: str | None = None
    stderr: str | None = None
    exit_code: int | None = None
    execution_time: float | None = None
    is_error: bool = False

    def add(self, result: Mapping[str, Any]) -> None:
        self.content.extend(result.get("content") or [])
        structured = result.get("structuredContent") or {}
        if structured.get("stdout") is not None:
            self.stdout = (self.stdout or "") + str(structured["stdout"])
        if structured.get("stderr") is not None:
            self.stderr = (self.stderr or "") + str(structured["stderr"])
        if structured.get("exitCode") is not None:
            self.exit_code = int(structured["exitCode"])
        if structured.get("executionTime") is not None:
            self.execution_time = float(structured["executionTime"])
        self.is_error = self.is_error or bool(result.get("isError"))

    def texts(self) -> list[str]:
        return [str(b["text"]) for b in self.content if b.get("type") == "text" and b.get("text")]

    def message(self) -> str:
        """What the service said in words: stderr, else the text blocks."""
        return (self.stderr or "").strip() or "\n".join(self.texts()).strip()

    def summary(self, limit: int = 300) -> str:
        """`message` on one line, shortened: for error messages."""
        text = " ".join(self.message().split())
        return text if len(text) <= limit else text[: limit - 3] + "..."


def cap_text(text: str, limit: int) -> tuple[str, int]:
    """Keep at most ``limit`` bytes of UTF-8; return the kept text and the bytes dropped."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text, 0
    return data[:limit].decode("utf-8", errors="ignore"), len(data) - limit


def parse_error(stderr: str) -> ExecutionError:
    """Name, value and traceback of the exception a Python traceback in ``stderr`` describes."""
    clean = _ANSI.sub("", stderr).rstrip()
    start = clean.rfind("Traceback (most recent call last):")
    traceback = clean[start:] if start >= 0 else clean
    lines = [line for line in clean.splitlines() if line.strip()]
    if lines:
        match = _EXCEPTION_LINE.match(lines[-1].strip())
        if match:
            name = match.group(1).rsplit(".", 1)[-1]
            return ExecutionError(
                name=name, value=(match.group(2) or "").strip(), traceback=traceback
            )
        return ExecutionError(name="Error", value=lines[-1].strip(), traceback=traceback)
    return ExecutionError(name="Error", value="the code failed without a message", traceback="")


def looks_like_timeout(result: ToolResult) -> bool:
    """The service (not the user's code) stopped the run for taking too long.

    A Python ``TimeoutError`` raised by the code comes with a traceback and stays a code error.
    """
    message = result.message()
    return result.is_error and "Traceback" not in message and bool(_TIMEOUT_WORDS.search(message))


def _png_of(data: Any) -> str | None:
    if isinstance(data, bytes | bytearray):
        return base64.b64encode(bytes(data)).decode("ascii")
    if isinstance(data, str) and data:
        return data  # already base64 text
    return None


def _is_echo(text: str, stdout: str, stderr: str) -> bool:
    """A text block that repeats what stdout/stderr already hold is not a separate output."""
    echoes = {stdout, stderr, stdout + stderr, stdout + "\n" + stderr}
    return text.strip() in {e.strip() for e in echoes}


def _outputs_and_artifacts(
    blocks: Iterable[Mapping[str, Any]], stdout: str, stderr: str
) -> tuple[list[Output], list[str]]:
    outputs: list[Output] = []
    artifacts: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            text = str(block.get("text") or "")
            if text.strip() and not _is_echo(text, stdout, stderr):
                outputs.append(Output(text=text))
        elif kind == "image":
            png = _png_of(block.get("data"))
            if png and str(block.get("mimeType") or "image/png") == "image/png":
                outputs.append(Output(png=png))
            elif png:
                outputs.append(Output(text=f"[image {block.get('mimeType')} not shown]"))
        elif kind == "resource":
            resource = block.get("resource") or {}
            mime = str(resource.get("mimeType") or "")
            if mime == "image/png" and resource.get("blob") is not None:
                outputs.append(Output(png=_png_of(resource["blob"])))
            elif mime == "text/html" and resource.get("text") is not None:
                outputs.append(Output(html=str(resource["text"])))
            if resource.get("uri"):
                artifacts.append(str(resource["uri"]))
        elif kind == "resource_link":
            link = block.get("uri") or block.get("name")
            if link:
                artifacts.append(str(link))
    return outputs, artifacts


def _system_exit_status(value: str) -> int:
    value = value.strip()
    if value in ("", "None"):
        return 0
    try:
        return int(value)
    except ValueError:
        return 1  # SystemExit("message"): Python prints the message and exits 1


def to_execution(
    result: ToolResult, *, output_cap: int, duration_ms: float
) -> Execution:
    """The `Execution` a result describes. A failing program is data: ``error`` + exit code."""
    if result.stdout is None and result.stderr is None:
        # No structuredContent: the text blocks are the output.
        joined = "\n".join(result.texts())
        stdout, stderr = ("", joined) if result.is_error else (joined, "")
        blocks = [b for b in result.content if b.get("type") != "text"]
    else:
        stdout, stderr = result.stdout or "", result.stderr or ""
        blocks = result.content
    outputs, artifacts = _outputs_and_artifacts(blocks, stdout, stderr)
    exit_code = result.exit_code if result.exit_code is not None else (1 if result.is_error else 0)
    error = None
    if result.is_error:
        error = parse_error(stderr or stdout)
        exit_code = exit_code or 1
        if error.name == "SystemExit":  # like `python script.py`: an exit status, not an error
            exit_code, error = _system_exit_status(error.value), None
    kept_out, dropped_out = cap_text(stdout, output_cap)
    kept_err, dropped_err = cap_text(stderr, output_cap)
    if result.execution_time is not None:
        duration_ms = result.execution_time * 1000.0
    return Execution(
        stdout=kept_out,
        stderr=kept_err,
        stdout_dropped=dropped_out,
        stderr_dropped=dropped_err,
        outputs=outputs,
        error=error,
        exit_code=exit_code,
        duration_ms=duration_ms,
        backend="agentcore",
        artifacts=artifacts,
    )


@dataclass(slots=True, frozen=True)
class ListedEntry:
    path: str  # relative to the work dir
    is_dir: bool


def _relative(uri_or_path: str) -> str:
    return uri_or_path.removeprefix("file://").lstrip("/")


def listed_entries(directory: str, result: ToolResult) -> list[ListedEntry]:
    """Entries of a ``listFiles`` answer: resource_link blocks, ``description`` File/Directory."""
    entries: list[ListedEntry] = []
    for block in result.content:
        if block.get("type") not in ("resource_link", "resource"):
            continue
        resource = block.get("resource") or {}
        name = block.get("name")
        if name:
            path = f"{directory.rstrip('/')}/{name}" if directory else str(name)
        else:
            path = _relative(str(block.get("uri") or resource.get("uri") or ""))
        path = path.strip("/")
        if not path:
            continue
        is_dir = str(block.get("description") or "").strip().lower() == "directory"
        entries.append(ListedEntry(path=path, is_dir=is_dir))
    return entries


def file_content(path: str, result: ToolResult) -> bytes | None:
    """The bytes of ``path`` in a ``readFiles`` answer (text or blob resource), if present."""
    candidates = []
    for block in result.content:
        if block.get("type") != "resource":
            continue
        resource = block.get("resource") or {}
        candidates.append(resource)
        listed = _relative(str(resource.get("uri") or ""))
        if listed == path or listed.endswith("/" + path):
            candidates = [resource]
            break
    if len(candidates) != 1:
        return None
    resource = candidates[0]
    if resource.get("blob") is not None:
        blob = resource["blob"]
        return bytes(blob) if isinstance(blob, bytes | bytearray) else base64.b64decode(blob)
    if resource.get("text") is not None:
        return str(resource["text"]).encode("utf-8")
    return None
