"""A scripted OpenAI-compatible endpoint's streamed reply, for respx: `sse`."""

from __future__ import annotations

import json

import httpx


def sse(text: str, *, model: str = "m", piece: int = 0) -> httpx.Response:
    """A streamed chat completion of ``text`` (in pieces of ``piece`` characters; 0: one chunk),
    then the stop and [DONE]."""
    pieces = [text[i:i + piece] for i in range(0, len(text), piece)] if piece else [text]
    events = [{"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
               "choices": [{"index": 0, "delta": {"role": "assistant", "content": part},
                            "finish_reason": None}]} for part in pieces]
    events.append({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    body = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
