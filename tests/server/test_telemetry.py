"""What `agentcode serve` leaves out of every request: FastAPI's telemetry."""

from __future__ import annotations

import httpx
import pytest

from server.conftest import StartServer


def test_no_span_leaves_the_server_with_a_session_id_in_it(
        start_server: StartServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tracer provider set up in the process (as FASTAPI_OTEL_AUTO_CONFIGURE would) gets
    spans from a FastAPI app by default, with the request's path: here, a session's id."""
    # opentelemetry-sdk comes with strands-agents, a dependency: no skip if it is missing.
    from fastapi import FastAPI
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from starlette.testclient import TestClient

    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)

    plain = FastAPI()

    @plain.get("/v1/sessions/{session_id}")
    def one(session_id: str) -> dict[str, str]:
        return {"id": session_id}

    with TestClient(plain) as client:  # the check can fail: a default app does export
        client.get("/v1/sessions/0123456789abcdef")
    assert exported.get_finished_spans()
    exported.clear()

    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        assert http.post(f"/v1/sessions/{session}/execute",
                         json={"code": "print(1)"}).json()["stdout"] == "1\n"
        assert http.get(f"/v1/sessions/{session}").status_code == 200
        assert httpx.get(f"{running.base_url}/health").status_code == 200
    assert exported.get_finished_spans() == ()
