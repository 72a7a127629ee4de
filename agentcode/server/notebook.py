"""A session as the page shows it: its turns (requests and runs), and the same as a notebook.

The server keeps each open session's turns in memory (bounded: `Turns`), so a page that
reloads finds its last code and results again, and ``GET /v1/sessions/{id}/notebook`` gives the
session as a Jupyter notebook (nbformat 4) with every run's outputs: stdout and stderr, the
error, the last expression's value and what ``display()`` showed or the code saved.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

MAX_TURNS = 200
MAX_BYTES = 4 * 1024 * 1024  # of all turns of one session, images included (x max sessions)


class Turns:
    """The latest turns of one session, oldest first; old ones go past either bound."""

    def __init__(self) -> None:
        self._turns: deque[tuple[int, dict[str, Any]]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()  # added on the session's thread, read on the loop's

    def add(self, turn: dict[str, Any]) -> None:
        size = len(json.dumps(turn))
        with self._lock:
            self._turns.append((size, turn))
            self._bytes += size
            while len(self._turns) > MAX_TURNS or (self._bytes > MAX_BYTES
                                                   and len(self._turns) > 1):
                dropped, _ = self._turns.popleft()
                self._bytes -= dropped

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [turn for _, turn in self._turns]


def generate_turn(prompt: str, generation: dict[str, Any]) -> dict[str, Any]:
    return {**generation, "kind": "generate", "prompt": prompt}


def execute_turn(code: str, execution: dict[str, Any]) -> dict[str, Any]:
    return {**execution, "kind": "execute", "code": code}


def label(generation: dict[str, Any], *, ran: bool, files: bool, stdin: bool) -> str:
    """What was checked, in words: never a bare "verified". ``files``, ``stdin``: whether the
    candidate ran with uploaded files in its work dir, with a given stdin."""
    runs = [r for r in generation.get("rounds") or [] if r.get("stage") != "preflight"]
    # "not run" also when it was to run but did not (it reads input the request did not give)
    if not ran or not runs or generation.get("checked") == "not run":
        return "not run"
    count = f"{len(runs)} round{'s' if len(runs) != 1 else ''}"
    on = ("on the uploaded data and stdin" if files and stdin else "on the uploaded data" if files
          else "on the given stdin" if stdin else "(no input)")
    if generation.get("verified"):
        return f"ran cleanly {on}, {count}"
    return f"did not run cleanly {on} after {count}"


def to_notebook(turns: list[dict[str, Any]], *, title: str) -> dict[str, Any]:
    """nbformat 4: each request a markdown cell, each run a code cell with its outputs."""
    cells: list[dict[str, Any]] = [_markdown(f"# {title}")]
    for turn in turns:
        if turn["kind"] == "generate":
            cells.append(_markdown(f"**Request:** {turn['prompt']}\n\n*{turn['model_id']}: "
                                   f"{turn['label']}*"))
        else:
            cells.append(_code(turn["code"], _outputs(turn), len(cells)))
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}}}


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": _lines(text)}


def _code(code: str, outputs: list[dict[str, Any]], count: int) -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "execution_count": count,
            "source": _lines(code), "outputs": outputs}


_MIME = {"text": "text/plain", "html": "text/html", "markdown": "text/markdown",
         "png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml"}


def _outputs(turn: dict[str, Any]) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = []
    error = turn.get("error")
    streams = {"stdout": turn.get("stdout") or "", "stderr": turn.get("stderr") or ""}
    if error and error.get("traceback"):  # the error output shows it: not twice
        streams["stderr"] = streams["stderr"].removesuffix(error["traceback"])
    for stream, text in streams.items():
        if text:
            outputs.append({"output_type": "stream", "name": stream, "text": _lines(text)})
    for output in turn.get("outputs") or []:
        data = {mime: output[key] for key, mime in _MIME.items() if output.get(key) is not None}
        if not data:
            continue
        data.setdefault("text/plain", output.get("name") or "")
        if output.get("main"):
            outputs.append({"output_type": "execute_result", "execution_count": None,
                            "data": data, "metadata": {}})
        else:
            outputs.append({"output_type": "display_data", "data": data, "metadata": {}})
    if error:
        outputs.append({"output_type": "error", "ename": error["name"], "evalue": error["value"],
                        "traceback": _lines(error.get("traceback") or "")})
    return outputs
