"""A stand-in for xllamacpp's `Server`, for the warm-model tests (on PYTHONPATH, first).

It serves what `agentcode.models.local_server` uses of llama.cpp's server: /health, an
authenticated /v1/chat/completions (streamed or not) and `handle_metrics`. The reply prints
the first ``word-...`` of the request's last message, slowly enough (FAKE_LLAMA_CHUNK_SECONDS
per chunk) that two requests overlap. FAKE_LLAMA_LOAD_SECONDS delays the "load".
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any


class CommonParams:
    def __init__(self) -> None:
        self.model = SimpleNamespace(path="")
        self.cpuparams = SimpleNamespace(n_threads=1)
        self.cpuparams_batch = SimpleNamespace(n_threads=1)
        self.api_keys: list[str] = []


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


class Server:
    def __init__(self, params: CommonParams) -> None:
        time.sleep(float(os.environ.get("FAKE_LLAMA_LOAD_SECONDS", "0")))
        if not os.path.exists(params.model.path):
            raise RuntimeError("failed to load model")
        keys = list(params.api_keys)
        pause = float(os.environ.get("FAKE_LLAMA_CHUNK_SECONDS", "0.05"))
        counters = {"requests_processing": 0, "n_decode_total": 0}
        lock = threading.Lock()
        self._counters, self._lock = counters, lock

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/health":
                    self._send(200, b'{"status": "ok"}')
                else:
                    self._send(404, b"{}")

            def do_POST(self) -> None:
                if self.headers.get("Authorization") not in [f"Bearer {k}" for k in keys]:
                    self._send(401, b'{"error": {"message": "Invalid API Key"}}')
                    return
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                last = _text(request["messages"][-1])
                word = (re.findall(r"word-[a-z0-9]+", last) or ["word-none"])[0]
                pieces = ["```python\n", f"print('{word}')\n", "```"]
                with lock:
                    counters["requests_processing"] += 1
                try:
                    if not request.get("stream"):
                        time.sleep(pause * len(pieces))
                        reply = {"choices": [{"index": 0, "message": {"content": "".join(pieces)},
                                              "finish_reason": "stop"}], "usage": {}}
                        self._send(200, json.dumps(reply).encode())
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for piece in pieces:
                        time.sleep(pause)
                        with lock:
                            counters["n_decode_total"] += 1
                        event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                finally:
                    with lock:
                        counters["requests_processing"] -= 1

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self.listening_address = f"http://127.0.0.1:{self._http.server_address[1]}"

    def handle_metrics(self) -> str:
        with self._lock:
            return "".join(f"llamacpp:{k} {v}\n" for k, v in self._counters.items())
