"""The /v1 REST API on a real server (uvicorn on loopback, real jails, a scripted model)."""

from __future__ import annotations

from agentcode.testing import FailingModel, FakeModel, client_error
from agentcode.types import Execution, Generation
from server.conftest import StartServer

FIRST = "```python\nx = 21\nprint('set x')\n```"
SECOND = "```python\nprint(x * 2)\n```"


def test_execute_returns_what_run_json_prints(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        created = http.post("/v1/sessions", json={})
        assert created.status_code == 201
        session = created.json()["id"]
        reply = http.post(f"/v1/sessions/{session}/execute",
                          json={"code": "import sys\nprint(sys.stdin.read().upper())\n6 * 7",
                                "stdin": "abc"})
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == set(Execution().to_dict())
    execution = Execution.from_dict(body)
    assert execution.stdout == "ABC\n"
    assert execution.text == "42"
    assert execution.backend == "local"
    assert execution.session_id == session


def test_session_keeps_variables_and_code_errors_are_data(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        assert http.post(f"/v1/sessions/{session}/execute", json={"code": "n = 5"}).is_success
        ok = http.post(f"/v1/sessions/{session}/execute", json={"code": "n + 1"}).json()
        raised = http.post(f"/v1/sessions/{session}/execute",
                           json={"code": "raise ValueError('bad n')"})
    assert ok["outputs"][0]["text"] == "6"
    assert raised.status_code == 200  # the code failed, not the server
    assert raised.json()["error"]["name"] == "ValueError"
    assert raised.json()["exit_code"] == 1


def test_generate_is_the_sessions_conversation(start_server: StartServer) -> None:
    model = FakeModel([FIRST, SECOND], model_id="scripted-model")
    running = start_server(model)
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        first = http.post(f"/v1/sessions/{session}/generate", json={"prompt": "set x to 21"})
        http.post(f"/v1/sessions/{session}/execute", json={"code": first.json()["code"]})
        second = http.post(f"/v1/sessions/{session}/generate", json={"prompt": "double it"})
        history = http.get(f"/v1/sessions/{session}/history").json()
    assert first.status_code == 200
    body = second.json()
    assert set(body) == set(Generation(code="", model_id="").to_dict())
    assert body["code"] == "print(x * 2)\n"
    assert body["model_id"] == "scripted"  # the name the chain knows it by
    assert body["prompt"] == "double it"
    # The second request saw the first turn and what running its code printed.
    asked = " ".join(str(m["content"]) for m in model.calls[1].messages)
    assert "set x to 21" in asked and "set x" in asked
    assert [e["kind"] for e in history] == ["gen", "run", "gen"]
    assert all(e["session_id"] == session for e in history)


def test_timeout_is_504_with_the_partial_execution(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        reply = http.post(f"/v1/sessions/{session}/execute", json={
            "code": "import time\nprint('started', flush=True)\ntime.sleep(30)",
            "timeout": 2})  # room for a loaded machine to print first
    assert reply.status_code == 504
    body = reply.json()
    assert body["exit_code"] == 124
    assert "timeout" in body["detail"]
    assert body["execution"]["stdout"] == "started\n"


def test_model_failure_is_an_error_body_with_the_cli_exit_code(
    start_server: StartServer,
) -> None:
    running = start_server(FailingModel(client_error("AccessDeniedException", "no", 403)))
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        reply = http.post(f"/v1/sessions/{session}/generate", json={"prompt": "anything"})
    assert reply.status_code in (502, 503)
    assert reply.json()["exit_code"] == 3
    assert "AccessDenied" in reply.json()["detail"] or "no" in reply.json()["detail"]


def test_bad_requests_are_refused_with_a_reason(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        unknown_model = http.post("/v1/sessions", json={"model": "nosuchmodel"})
        unsafe = http.post("/v1/sessions", json={"sandbox": "unsafe"})
        session = http.post("/v1/sessions").json()["id"]
        empty = http.post(f"/v1/sessions/{session}/execute", json={"code": ""})
    assert unknown_model.status_code == 400
    assert "unknown model" in unknown_model.json()["detail"]
    assert unsafe.status_code == 400  # no isolation is never offered unless the server says so
    assert "not offered" in unsafe.json()["detail"]
    assert empty.status_code == 422


def test_files_upload_list_download_and_use(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        put = http.put(f"/v1/sessions/{session}/files/data/sales.csv",
                       content=b"region,amount\nnorth,3\nsouth,4\n")
        run = http.post(f"/v1/sessions/{session}/execute", json={"code": (
            "import csv\nrows = list(csv.DictReader(open('data/sales.csv')))\n"
            "open('total.txt', 'w').write(str(sum(int(r['amount']) for r in rows)))\n"
            "print(len(rows))")})
        listed = http.get(f"/v1/sessions/{session}/files").json()
        total = http.get(f"/v1/sessions/{session}/files/total.txt")
        missing = http.get(f"/v1/sessions/{session}/files/nothing.txt")
    assert put.json() == {"files": ["data/sales.csv"]}
    assert run.json()["stdout"] == "2\n"
    assert sorted(listed["files"]) == ["data/sales.csv", "total.txt"]
    assert total.status_code == 200 and total.content == b"7"
    assert "total.txt" in total.headers["content-disposition"]
    assert missing.status_code == 404
    assert "no file 'nothing.txt'" in missing.json()["detail"]


def test_history_search_and_models(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        http.post(f"/v1/sessions/{session}/execute", json={"code": "print('zebra crossing')"})
        http.post(f"/v1/sessions/{session}/execute", json={"code": "print('lion')"})
        found = http.get("/v1/history", params={"q": "zebra"}).json()
        recent = http.get("/v1/history", params={"limit": 1}).json()
        models = http.get("/v1/models").json()
    assert [e["stdout"] for e in found] == ["zebra crossing\n"]
    assert [e["stdout"] for e in recent] == ["lion\n"]
    assert models["configured"] == ["local"]
    assert "bedrock" in models["names"] and "local" in models["names"]


def test_delete_closes_the_session(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        http.post(f"/v1/sessions/{session}/execute", json={"code": "1"})
        assert http.delete(f"/v1/sessions/{session}").status_code == 204
        after = http.post(f"/v1/sessions/{session}/execute", json={"code": "1"})
        again = http.delete(f"/v1/sessions/{session}")
    assert after.status_code == 404
    assert "POST /v1/sessions" in after.json()["detail"]
    assert again.status_code == 404
    assert len(running.pool) == 0


def test_openapi_and_docs_are_served_locally(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        schema = http.get("/openapi.json").json()
        docs = http.get("/docs")
        bundle = http.get("/static/swagger/swagger-ui-bundle.js")
    assert "/v1/sessions/{session_id}/execute" in schema["paths"]
    assert docs.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert bundle.status_code == 200 and len(bundle.content) > 100_000


def test_verified_generation_repairs_in_the_session(start_server: StartServer) -> None:
    broken = "```python\nprint(undefined_name)\n```"
    fixed = "```python\nprint('repaired')\n```"
    model = FakeModel([broken, fixed])
    running = start_server(model)
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        reply = http.post(f"/v1/sessions/{session}/generate",
                          json={"prompt": "say repaired", "verify": True, "max_repairs": 2})
    body = reply.json()
    assert reply.status_code == 200
    assert body["verified"] is True and body["code"] == "print('repaired')\n"
    assert [r["passed"] for r in body["rounds"]] == [False, True]
    # Caught by the static pre-flight before it ran (it would have been a NameError).
    assert body["rounds"][0]["stage"] == "names"
    assert "undefined_name" in body["rounds"][0]["error"]


def test_the_listening_socket_says_tcp_so_asyncio_sets_nodelay() -> None:
    import socket

    from agentcode.server.run import _bind

    listener = _bind("127.0.0.1", 0)
    try:
        # With proto 0 asyncio skips TCP_NODELAY: each keep-alive reply waited ~40 ms.
        assert listener.proto == socket.IPPROTO_TCP
        assert listener.getsockname()[1] > 0
    finally:
        listener.close()


def test_a_session_keeps_its_turns_changes_model_and_exports_a_notebook(
    start_server: StartServer,
) -> None:
    from agentcode.models.registry import register, unregister

    register("other", lambda spec, _settings: FakeModel(SECOND, model_id="other-model"))
    try:
        running = start_server(FakeModel(FIRST))
        with running.client() as http:
            session = http.post("/v1/sessions").json()["id"]
            http.post(f"/v1/sessions/{session}/generate", json={"prompt": "set x"})
            http.post(f"/v1/sessions/{session}/execute", json={"code": "x = 21\nprint('set x')"})
            changed = http.put(f"/v1/sessions/{session}/model", json={"model": "other"})
            second = http.post(f"/v1/sessions/{session}/generate", json={"prompt": "double it"})
            ran = http.post(f"/v1/sessions/{session}/execute", json={
                "code": "display(x)\nraise ValueError('late')"})
            info = http.get(f"/v1/sessions/{session}").json()
            book = http.get(f"/v1/sessions/{session}/notebook")
    finally:
        unregister("other")
    assert changed.json()["models"] == ["other"]
    assert second.json()["model_id"] == "other" and ran.json()["error"]["name"] == "ValueError"
    assert [t["kind"] for t in info["turns"]] == ["generate", "execute", "generate", "execute"]
    assert info["turns"][0]["label"] == "not run" and info["turns"][1]["stdout"] == "set x\n"
    assert book.headers["content-disposition"].endswith(".ipynb")
    cells = book.json()["cells"]
    assert [c["cell_type"] for c in cells] == ["markdown"] * 2 + ["code", "markdown", "code"]
    assert cells[2]["source"] == ["x = 21\n", "print('set x')"]
    assert cells[2]["outputs"] == [{"output_type": "stream", "name": "stdout",
                                    "text": ["set x\n"]}]
    shown, error = cells[4]["outputs"]
    assert shown["output_type"] == "display_data" and shown["data"]["text/plain"] == "21"
    assert error["output_type"] == "error" and error["ename"] == "ValueError"


def test_execute_answers_alike_before_and_through_the_router(start_server: StartServer) -> None:
    # application/json is answered before FastAPI's routing (agentcode.server.fast); another
    # JSON type FastAPI reads goes through the route: the same work, the same answers.
    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        bodies = {}
        for how, headers in (("fast", {"Content-Type": "application/json; charset=utf-8"}),
                             ("routed", {"Content-Type": "application/vnd.api+json"})):
            reply = http.post(f"/v1/sessions/{session}/execute", headers=headers,
                              content=b'{"code": "n = 2 if \\"n\\" not in dir() else n * 3\\nn"}')
            assert reply.status_code == 200, (how, reply.text)
            bodies[how] = reply.json()
            bodies[how].pop("duration_ms")
        unknown = {how: http.post("/v1/sessions/nosuchsession/execute", headers=headers,
                                  content=b'{"code": "1"}')
                   for how, headers in (("fast", {"Content-Type": "application/json"}),
                                        ("routed", {"Content-Type": "application/vnd.api+json"}))}
        entries = http.get(f"/v1/sessions/{session}/history").json()
    # The session's state carried from one path to the other: 2, then 2 * 3.
    assert [b["outputs"][0]["text"] for b in bodies.values()] == ["2", "6"]
    for body in bodies.values():
        body.pop("outputs")
    assert bodies["fast"] == bodies["routed"]
    assert bodies["fast"]["files"] == [] and bodies["fast"]["session_id"] == session
    assert [u.status_code for u in unknown.values()] == [404, 404]
    assert unknown["fast"].json() == unknown["routed"].json()
    assert unknown["fast"].json()["exit_code"] == 2
    assert len(entries) == 2


def test_only_well_formed_execute_calls_are_answered_before_the_router() -> None:
    from agentcode.server.fast import _execute_path

    def scope(method: str, path: str, kind: bytes | None) -> dict[str, object]:
        headers = [(b"content-type", kind)] if kind is not None else []
        return {"type": "http", "method": method, "path": path, "headers": headers}

    assert _execute_path(scope("POST", "/v1/sessions/abc/execute", b"application/json")) == "abc"
    assert _execute_path(scope("POST", "/v1/sessions/abc/execute",
                               b"Application/JSON; charset=utf-8")) == "abc"
    for refused in (scope("GET", "/v1/sessions/abc/execute", b"application/json"),
                    scope("POST", "/v1/sessions/abc/execute", None),
                    scope("POST", "/v1/sessions/abc/execute", b"application/vnd.api+json"),
                    scope("POST", "/v1/sessions/a/b/execute", b"application/json"),
                    scope("POST", "/v1/sessions//execute", b"application/json"),
                    scope("POST", "/v1/sessions/abc/generate", b"application/json"),
                    {"type": "websocket", "path": "/v1/sessions/abc/execute", "headers": []}):
        assert _execute_path(refused) is None, refused
