"""Who may use the server, how much they may send, and what one session can see of another."""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_runner import run_cli
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from server.conftest import (
    TOKEN,
    StartServer,
    alive,
    descendants,
    helper_processes,
    spare_jail_processes,
    wait_until,
)


def test_health_needs_no_token_and_says_nothing_private(start_server: StartServer) -> None:
    running = start_server()
    with running.client(token=None) as http:
        reply = http.get("/health")
    assert reply.status_code == 200
    assert set(reply.json()) == {"status", "version"}


@pytest.mark.parametrize("token", [None, "wrong", TOKEN + "x", TOKEN[:-1]])
def test_missing_or_wrong_token_is_401(start_server: StartServer, token: str | None) -> None:
    running = start_server()
    with running.client(token=token) as http:
        for method, path in [("POST", "/v1/sessions"), ("GET", "/v1/history"),
                             ("GET", "/v1/models"), ("GET", "/openapi.json"),
                             ("GET", "/static/app.js"), ("GET", "/docs")]:
            reply = http.request(method, path)
            assert reply.status_code == 401, path
            assert reply.json()["exit_code"] == 2
        page = http.get("/")
    assert page.status_code == 401
    assert "?token=" in page.text
    assert len(running.pool) == 0


def test_page_trades_the_url_token_for_a_strict_cookie(start_server: StartServer) -> None:
    running = start_server()
    with running.client(token=None) as http:
        wrong = http.get("/", params={"token": "nope"})
        opened = http.get("/", params={"token": TOKEN})
        cookie = opened.headers["set-cookie"]
        page = http.get("/")  # the client keeps the cookie
        api = http.post("/v1/sessions")
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert opened.status_code == 303 and opened.headers["location"] == "/"
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert page.status_code == 200 and "<title>agentcode</title>" in page.text
    assert "script-src" in page.headers["content-security-policy"] or \
        "default-src 'self'" in page.headers["content-security-policy"]
    assert api.status_code == 201


def test_cross_origin_requests_are_refused(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        foreign = http.post("/v1/sessions", headers={"Origin": "http://evil.example"})
        own = http.post("/v1/sessions", headers={"Origin": running.base_url})
    assert foreign.status_code == 403
    assert own.status_code == 201
    session = own.json()["id"]
    ws_url = running.base_url.replace("http", "ws") + f"/v1/sessions/{session}/stream"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, origin="http://evil.example", additional_headers=auth)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as no_token:
        connect(ws_url, origin=running.base_url)  # type: ignore[arg-type]
    assert no_token.value.response.status_code == 403
    with connect(ws_url, origin=running.base_url, additional_headers=auth) as ws:  # type: ignore[arg-type]
        ws.send('{"type": "execute", "code": "print(1)"}')
        events: list[dict] = []
        while not events or events[-1]["type"] not in ("result", "error"):
            import json

            events.append(json.loads(ws.recv(timeout=30)))
    assert events[-1]["type"] == "result" and events[-1]["stdout"] == "1\n"


def _raw_request(base_url: str, request: str) -> bytes:
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(base_url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as raw:
        raw.sendall(request.encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = raw.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply


def test_without_a_token_only_a_loopback_host_is_served(start_server: StartServer) -> None:
    """DNS rebinding: a page on attacker.example, its name re-bound to 127.0.0.1, sends its own
    Host and Origin; a server without a token must not answer it."""
    running = start_server(token="")
    port = running.base_url.rsplit(":", 1)[1]
    rebound = {"Host": f"attacker.example:{port}", "Origin": f"http://attacker.example:{port}"}
    with running.client(token=None) as http:
        for method, path in [("POST", "/v1/sessions"), ("GET", "/v1/history"), ("GET", "/")]:
            reply = http.request(method, path, headers=rebound)
            assert reply.status_code == 403, path
        assert len(running.pool) == 0
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
            assert http.post("/v1/sessions", headers={"Host": host}).status_code == 201
        assert http.get("/health", headers=rebound).status_code == 200  # says nothing private
    session = next(iter(running.pool._open))
    upgrade = (f"GET /v1/sessions/{session}/stream HTTP/1.1\r\nHost: attacker.example:{port}\r\n"
               f"Origin: http://attacker.example:{port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n")
    assert _raw_request(running.base_url, upgrade).startswith(b"HTTP/1.1 403")
    with start_server().client() as named:  # with a token, any name it is reached by will do
        assert named.post("/v1/sessions", headers={"Host": "my-box.lan"}).status_code == 201


def test_loopback_host_names() -> None:
    from agentcode.server.auth import loopback_host

    for host in ("localhost", "LOCALHOST:80", "127.0.0.1", "127.1.2.3:8000", "[::1]", "[::1]:9"):
        assert loopback_host(host), host
    for host in ("", "attacker.example", "attacker.example:80", "127.0.0.1.nip.io",
                 "localhost.attacker.example", "[::1]x", "127.0.0.1:x", "10.0.0.1", "[::2]"):
        assert not loopback_host(host), host


def test_oversized_bodies_are_413(start_server: StartServer) -> None:
    running = start_server(request_bytes=2000, upload_bytes=5000)
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        code = http.post(f"/v1/sessions/{session}/execute",
                         json={"code": "x = '" + "a" * 3000 + "'"})
        upload = http.put(f"/v1/sessions/{session}/files/big.bin", content=b"0" * 6000)

        def chunks():  # no Content-Length: the server counts what arrives
            for _ in range(10):
                yield b"0" * 1000

        chunked = http.put(f"/v1/sessions/{session}/files/chunked.bin", content=chunks())
        fits = http.put(f"/v1/sessions/{session}/files/ok.bin", content=b"0" * 4000)
        listed = http.get(f"/v1/sessions/{session}/files").json()["files"]
    for reply in (code, upload, chunked):
        assert reply.status_code == 413
        assert "too large" in reply.json()["detail"]
    assert fits.status_code == 200
    assert listed == ["ok.bin"]


@pytest.mark.parametrize("name", ["..%2F..%2Fetc%2Fpasswd", "a/..%2F..%2Fescape", "%2Fetc%2Fx",
                                  "%2E%2E", "a/%2e%2e/%2e%2e/b"])
def test_file_names_cannot_leave_the_work_dir(start_server: StartServer, name: str) -> None:
    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        put = http.put(f"/v1/sessions/{session}/files/{name}", content=b"x")
        get = http.get(f"/v1/sessions/{session}/files/{name}")
        listed = http.get(f"/v1/sessions/{session}/files").json()["files"]
    assert put.status_code in (400, 404)
    assert get.status_code in (400, 404)
    assert listed == []


def test_a_nul_in_a_file_name_is_a_400(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        put = http.put(f"/v1/sessions/{session}/files/a%00b.txt", content=b"x")
        get = http.get(f"/v1/sessions/{session}/files/a%00b.txt")
        listed = http.get(f"/v1/sessions/{session}/files")
    assert (put.status_code, get.status_code, listed.status_code) == (400, 400, 200)
    assert "NUL" in put.json()["detail"] and put.json()["exit_code"] == 2


def test_a_timeout_past_the_maximum_is_refused_not_a_500(start_server: StartServer) -> None:
    """`{"timeout": 2e6}` held a session for weeks; 1e12 was a 500; Infinity on the WebSocket
    dropped the connection without a close frame."""
    import json

    from agentcode.server.schemas import MAX_TIMEOUT

    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        url = f"/v1/sessions/{session}/execute"
        for timeout in ("2e6", "1e12", "Infinity", "NaN", str(MAX_TIMEOUT + 1), "-1"):
            reply = http.post(url, content=f'{{"code": "1", "timeout": {timeout}}}',
                              headers={"Content-Type": "application/json"})
            assert reply.status_code == 422, timeout
        assert http.post(url, json={"code": "1", "timeout": MAX_TIMEOUT}).status_code == 200
    ws_url = running.base_url.replace("http", "ws") + f"/v1/sessions/{session}/stream"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:  # type: ignore[arg-type]
        for timeout in ("Infinity", "1e12"):
            ws.send(f'{{"type": "execute", "code": "1", "timeout": {timeout}}}')
            error = json.loads(ws.recv(timeout=10))
            assert error["type"] == "error" and "timeout" in error["message"], error
        ws.send('{"type": "execute", "code": "print(2)", "timeout": 5}')  # still connected
        events = [json.loads(ws.recv(timeout=30))]
        while events[-1]["type"] not in ("result", "error"):
            events.append(json.loads(ws.recv(timeout=30)))
    assert events[-1]["type"] == "result" and events[-1]["stdout"] == "2\n"


def test_a_client_cannot_probe_host_paths_through_a_local_model(
        start_server: StartServer, tmp_path: Path) -> None:
    """`model: "local:PATH"` answered whether a host path exists and is readable."""
    readable = tmp_path / "notes.txt"
    readable.write_text("private")
    probes = ["local:/etc/shadow", f"local:{readable}", "local:/no/such/file.gguf",
              "local:~/.ssh/id_rsa", "bedrock,local:/etc/passwd", "LOCAL:./x.gguf"]
    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        answers = set()
        for probe in probes:
            created = http.post("/v1/sessions", json={"model": probe})
            changed = http.put(f"/v1/sessions/{session}/model", json={"model": probe})
            for reply in (created, changed):
                assert reply.status_code == 400, (probe, reply.text)
                detail = reply.json()["detail"]
                answers.add(detail.replace(repr(probe.split(",")[-1]), "MODEL"))
        assert len(running.pool) == 1
    assert answers == {"model MODEL: the server takes the names of its local models "
                       "(GET /v1/models lists them), not paths"}


def test_a_link_planted_by_the_code_is_not_followed(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        session = http.post("/v1/sessions").json()["id"]
        http.post(f"/v1/sessions/{session}/execute",
                  json={"code": "import os\nos.symlink('/etc/hostname', 'link')"})
        reply = http.get(f"/v1/sessions/{session}/files/link")
    assert reply.status_code == 404
    assert "link" in reply.json()["detail"]


def test_sessions_never_see_each_other(start_server: StartServer) -> None:
    running = start_server()
    with running.client() as http:
        first = http.post("/v1/sessions").json()["id"]
        second = http.post("/v1/sessions").json()["id"]
        http.put(f"/v1/sessions/{first}/files/secret.txt", content=b"mine")
        http.post(f"/v1/sessions/{first}/execute", json={"code": "secret = 42"})
        variable = http.post(f"/v1/sessions/{second}/execute", json={"code": "secret"}).json()
        files = http.get(f"/v1/sessions/{second}/files").json()["files"]
        read = http.get(f"/v1/sessions/{second}/files/secret.txt")
        on_disk = http.post(f"/v1/sessions/{second}/execute", json={
            "code": "import os\nsorted(os.listdir('.'))"}).json()
        near = first[:-1] + ("1" if first[-1] == "0" else "0")
        guessed = http.post(f"/v1/sessions/{near}/execute", json={"code": "secret"})
    assert first != second and len(first) == 32
    assert variable["error"]["name"] == "NameError"
    assert files == [] and read.status_code == 404
    assert on_disk["outputs"][0]["text"] == "[]"
    assert guessed.status_code == 404


def test_session_limit_and_idle_sessions_are_closed_with_their_jails(
    start_server: StartServer,
) -> None:
    import os

    running = start_server(max_sessions=2, idle_seconds=1.0)
    with running.client() as http:
        ids = [http.post("/v1/sessions").json()["id"] for _ in range(2)]
        refused = http.post("/v1/sessions")
        for session in ids:
            http.post(f"/v1/sessions/{session}/execute", json={"code": "1"})
        kept = spare_jail_processes()  # first: it waits for the spare being started
        jails = descendants(os.getpid()) - kept - helper_processes()
        assert jails, "each session runs in a jail process"
        assert refused.status_code == 503 and "2 sessions" in refused.json()["detail"]
        assert wait_until(lambda: len(running.pool) == 0, timeout=15)
        gone = http.post(f"/v1/sessions/{ids[0]}/execute", json={"code": "1"})
        again = http.post("/v1/sessions")
    assert gone.status_code == 404
    assert again.status_code == 201
    assert wait_until(lambda: not any(alive(pid) for pid in jails))


def test_refuses_every_interface_without_a_token() -> None:
    result = run_cli(["serve", "--host", "0.0.0.0", "--token", "", "--no-warm"])
    assert result.exit_code == 2
    assert "without a token" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_port_in_use_is_one_clear_line(start_server: StartServer) -> None:
    running = start_server()
    port = running.base_url.rsplit(":", 1)[1]
    result = run_cli(["serve", "--port", port, "--no-warm"])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_token_comparison_is_constant_time() -> None:
    import hmac
    from unittest import mock

    from agentcode.server.auth import token_matches

    with mock.patch.object(hmac, "compare_digest", wraps=hmac.compare_digest) as compare:
        assert token_matches("abc", "abc")
        assert not token_matches("abd", "abc")
    assert compare.call_count == 2
    assert not token_matches(None, "abc") and not token_matches("", "abc")


PARSERS = ["h11", pytest.param("httptools", marks=pytest.mark.skipif(
    not importlib.util.find_spec("httptools"),
    reason="httptools comes with the serve extra; a server without it parses with h11, which "
           "the other parameter tests"))]


@contextlib.contextmanager
def guarded_server(parser: str, **options: Any) -> Iterator[int]:
    """A server whose connections are guarded as `agentcode serve`'s, with ``parser``: its port."""
    import socket
    import threading

    import uvicorn

    from agentcode.config import load_settings
    from agentcode.server.app import ServerConfig, create_app
    from agentcode.server.connections import guarded_protocol
    from agentcode.server.run import uvicorn_config

    config = ServerConfig(settings=load_settings(), token=TOKEN, grace_seconds=1, **options)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    settings = uvicorn_config(create_app(config), config)
    settings.http = guarded_protocol(config.header_seconds, config.max_connections, parser)
    server = uvicorn.Server(settings)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: server.started, 20)
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(30)


def test_auto_picks_httptools_where_it_is_installed() -> None:
    from agentcode.server.connections import guarded_protocol

    bases = {base.__name__ for base in guarded_protocol(1.0, 10).__mro__}
    installed = importlib.util.find_spec("httptools") is not None
    assert ("HttpToolsProtocol" in bases) is installed
    assert ("H11Protocol" in bases) is not installed


@pytest.mark.parametrize("parser", PARSERS)
def test_a_request_head_past_16_kib_is_refused(agentcode_home: Path, parser: str) -> None:
    import socket

    def answer(raw: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(raw)
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and not raw.startswith(b"PUT"):
                    break
            return received

    head = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\nConnection: close\r\n\r\n"
    with guarded_server(parser, header_seconds=60.0) as port:  # the deadline is not the reason
        assert answer(head.format("a" * 15_000).encode()).startswith(b"HTTP/1.1 200")
        # Sent in pieces, as a slow client would: the whole head counts, not one read. Closed
        # at once (a 400, or a reset while still sending), not after the socket's timeout.
        with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
            refused = b""
            try:
                for _ in range(40):
                    conn.sendall(b"a" * 1000)
                    time.sleep(0.005)
                refused = conn.recv(65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
        assert refused == b"" or refused.startswith(b"HTTP/1.1 400"), refused
        # A large body is not a large head.
        body = b"x" * 300_000
        stored = answer(f"PUT /v1/sessions/none/files/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n"
                        "Connection: close\r\n\r\n".encode() + body)
        assert stored.startswith(b"HTTP/1.1 404"), stored[:200]  # no such session: read whole


@pytest.mark.parametrize("parser", PARSERS)
def test_half_sent_requests_are_cut_off_and_capped(agentcode_home: Path, parser: str) -> None:
    """Slowloris: half-sent requests, unauthenticated, held every connection the server had."""
    import socket
    import time

    with guarded_server(parser, header_seconds=1.0, max_connections=20) as port:

        def closed_by_server(raw: socket.socket) -> bool:
            try:
                return raw.recv(1) == b""
            except ConnectionResetError:
                return True
            except TimeoutError:
                return False

        slow = []
        for _ in range(40):
            raw = socket.create_connection(("127.0.0.1", port), timeout=0.2)
            raw.sendall(b"GET /v1/history HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(raw)
        time.sleep(0.3)
        refused = sum(closed_by_server(raw) for raw in slow)
        assert refused >= 15  # over the cap of 20: closed at once
        started = time.monotonic()
        dribbling = slow[-1] if not closed_by_server(slow[-1]) else slow[0]
        while time.monotonic() - started < 3:  # one byte now and then does not extend it
            try:
                dribbling.sendall(b"a")
            except OSError:
                break
            time.sleep(0.2)
        assert time.monotonic() - started < 2.5
        assert all(closed_by_server(raw) for raw in slow)  # the deadline freed every slot
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10,
                          headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            assert http.get("/v1/history").status_code == 200
            time.sleep(1.3)  # a kept-alive connection that answered in time keeps working
            assert http.get("/health").status_code == 200
        for raw in slow:
            raw.close()


def test_the_open_file_limit_is_raised_for_the_connection_cap() -> None:
    import resource

    from agentcode.server.connections import open_file_budget

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        cap = open_file_budget(1000, 32)
        now = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert cap <= now - 128 - 16 * 32 or now == resource.RLIM_INFINITY
        assert cap == 1000 or now == hard  # lowered only where the hard limit forbids more
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_page_loads_do_not_leak_sessions(start_server: StartServer) -> None:
    """Each page load made a session that stayed for the idle timeout (15 min): the fourth
    reload of a `--max-sessions 4` server was refused. A page's session (made by a browser,
    which sends Origin) now goes soon after its WebSocket closes; an API client's stays."""
    import time

    running = start_server(max_sessions=3, page_linger_seconds=0.4)
    origin = {"Origin": running.base_url}
    ws_base = running.base_url.replace("http", "ws")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with running.client() as http:
        script = http.post("/v1/sessions").json()["id"]  # an API client's: no Origin
        for load in range(4):  # four page loads, each with its socket, then closed
            created = http.post("/v1/sessions", headers=origin)
            assert created.status_code == 201, created.text
            page = created.json()["id"]
            with connect(f"{ws_base}/v1/sessions/{page}/stream", origin=running.base_url,  # type: ignore[arg-type]
                         additional_headers=auth) as ws:
                time.sleep(0.6)  # held by its socket: kept past the linger
                assert page in running.pool._open
                if load == 0:  # with a jail running: it goes with the session
                    ws.send('{"type": "execute", "code": "print(1)"}')
                    while json_type(ws.recv(timeout=30)) not in ("result", "error"):
                        pass
            assert wait_until(lambda page=page: page not in running.pool._open, 5)
        assert script in running.pool._open and len(running.pool) == 1
        reloaded = http.post("/v1/sessions", headers=origin).json()["id"]
        with connect(f"{ws_base}/v1/sessions/{reloaded}/stream", origin=running.base_url,  # type: ignore[arg-type]
                     additional_headers=auth):
            pass
        with connect(f"{ws_base}/v1/sessions/{reloaded}/stream", origin=running.base_url,  # type: ignore[arg-type]
                     additional_headers=auth):  # a reload reattaches within the linger
            time.sleep(0.6)
            assert reloaded in running.pool._open


def json_type(text: str | bytes) -> str:
    import json

    return str(json.loads(text).get("type"))
