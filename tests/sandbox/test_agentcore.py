"""AgentCoreSession against a Stubber-wrapped bedrock-agentcore client with real event streams."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path
from typing import Any

import pytest
from agentcore_stubs import SESSION, AgentCoreStub, code_result, open_session

from agentcode.config import Limits, Settings
from agentcode.errors import SandboxError
from agentcode.sandbox.agentcore import session as agentcore_module
from agentcode.sandbox.agentcore.session import AgentCoreSession, _stdin_snippet
from agentcode.sandbox.base import SandboxSession

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def stub() -> AgentCoreStub:
    return AgentCoreStub()


def test_execute_maps_the_stream_and_stops_the_session(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("print('hi')", [code_result("hi\n")])
    stub.stop()
    with open_session(stub) as session:
        assert isinstance(session, SandboxSession)
        result = session.execute("print('hi')")
        assert session.id == SESSION
    assert result.ok
    assert result.stdout == "hi\n"
    assert result.outputs == []  # the text block only repeats stdout
    assert result.backend == "agentcore"
    assert result.session_id is None  # a Session's id, set above the sandbox layer
    assert result.duration_ms == pytest.approx(12.0)  # executionTime from the service
    assert all(raw.closed for raw in stub.opened)
    stub.stubber.assert_no_pending_responses()


def test_output_reaches_callbacks_once_the_service_returns_it(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("print('hi')", [code_result("hi\n")])
    stub.stop()
    chunks: list[str] = []
    with open_session(stub) as session:
        result = session.execute("print('hi')", on_stdout=chunks.append, on_stderr=chunks.append)
    assert chunks == ["hi\n"] == [result.stdout]


def test_session_starts_on_first_use_only(stub: AgentCoreStub) -> None:
    # No answers queued: any call to the service would fail the test.
    with open_session(stub) as session:
        assert session.id == ""
        assert session.list_files() == []
    stub.stubber.assert_no_pending_responses()


def test_custom_interpreter_and_session_timeout_are_sent() -> None:
    stub = AgentCoreStub(interpreter="my_interpreter-abc123")
    stub.start(timeout=3600)
    stub.execute("1", [code_result()])
    stub.stop()
    with open_session(stub, session_timeout=3600) as session:
        session.execute("1")
    stub.stubber.assert_no_pending_responses()


def test_state_persists_across_executes(stub: AgentCoreStub) -> None:
    # One session, clearContext False on each call (the stub checks the exact arguments).
    stub.start()
    stub.execute("x = 41", [code_result()])
    stub.execute("print(x + 1)", [code_result("42\n")])
    stub.stop()
    with open_session(stub) as session:
        session.execute("x = 41")
        second = session.execute("print(x + 1)")
    assert second.stdout == "42\n"
    assert second.session_id is None
    stub.stubber.assert_no_pending_responses()


def test_an_error_in_user_code_is_data(stub: AgentCoreStub) -> None:
    stderr = (
        "Traceback (most recent call last):\n"
        '  File "<string>", line 1, in <module>\n'
        "ZeroDivisionError: division by zero\n"
    )
    stub.start()
    stub.execute("1/0", [code_result("", stderr, 1, is_error=True)])
    stub.stop()
    with open_session(stub) as session:
        result = session.execute("1/0")
    assert not result.ok
    assert result.exit_code == 1
    assert result.error is not None
    assert (result.error.name, result.error.value) == ("ZeroDivisionError", "division by zero")
    assert result.error.traceback.startswith("Traceback (most recent call last):")
    assert result.stderr == stderr


def test_image_block_becomes_a_png_output(stub: AgentCoreStub) -> None:
    content = [
        {"type": "text", "text": "plotted\n"},
        {"type": "image", "data": PNG, "mimeType": "image/png"},
        {"type": "resource_link", "uri": "file:///plot.png", "name": "plot.png"},
    ]
    stub.start()
    stub.execute("plot()", [code_result("plotted\n", content=content)])
    stub.stop()
    with open_session(stub) as session:
        result = session.execute("plot()")
    pngs = [o.png for o in result.outputs if o.png]
    assert pngs == [base64.b64encode(PNG).decode("ascii")]
    assert result.artifacts == ["file:///plot.png"]


def test_output_is_capped_and_the_rest_counted(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("spam()", [code_result("x" * 100)])
    stub.stop()
    with open_session(stub, limits=Limits(output_bytes=10)) as session:
        result = session.execute("spam()")
    assert (result.stdout, result.stdout_dropped) == ("x" * 10, 90)


def test_write_list_and_read_files(stub: AgentCoreStub) -> None:
    ok = [{"content": [{"type": "text", "text": "ok"}], "isError": False}]
    root = {
        "content": [
            {
                "type": "resource_link",
                "uri": "file:///data.csv",
                "name": "data.csv",
                "description": "File",
                "mimeType": "text/csv",
                "size": 4,
            },
            {
                "type": "resource_link",
                "uri": "file:///out",
                "name": "out",
                "description": "Directory",
            },
            {
                "type": "resource_link",
                "uri": "file:///.ipython",
                "name": ".ipython",
                "description": "Directory",
            },
        ],
        "isError": False,
    }
    out = {
        "content": [
            {
                "type": "resource_link",
                "uri": "file:///out/plot.png",
                "name": "plot.png",
                "description": "File",
                "mimeType": "image/png",
            },
        ],
        "isError": False,
    }
    read_text = {
        "content": [
            {
                "type": "resource",
                "resource": {
                    "type": "text",
                    "uri": "file:///data.csv",
                    "mimeType": "text/csv",
                    "text": "a,b\n",
                },
            }
        ]
    }
    read_blob = {
        "content": [
            {
                "type": "resource",
                "resource": {
                    "type": "blob",
                    "uri": "file:///out/plot.png",
                    "mimeType": "image/png",
                    "blob": PNG,
                },
            }
        ]
    }
    stub.start()
    stub.invoke(
        "writeFiles",
        {
            "content": [
                {"path": "data.csv", "text": "a,b\n"},
                {"path": "raw/b.bin", "blob": b"\xff\x00"},
            ]
        },
        ok,
    )
    stub.invoke("listFiles", {"directoryPath": ""}, [root])
    stub.invoke("listFiles", {"directoryPath": "out"}, [out])
    stub.invoke("readFiles", {"paths": ["data.csv"]}, [read_text])
    stub.invoke("readFiles", {"paths": ["out/plot.png"]}, [read_blob])
    stub.stop()
    with open_session(stub) as session:
        session.write_files({"data.csv": b"a,b\n", "raw/b.bin": b"\xff\x00"})
        assert session.list_files() == ["data.csv", "out/plot.png"]  # .ipython not entered
        assert session.read_file("data.csv") == b"a,b\n"
        assert session.read_file("out/plot.png") == PNG
    stub.stubber.assert_no_pending_responses()


def test_reading_a_missing_file_says_so(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("1", [code_result()])
    missing = {"content": [{"type": "text", "text": "No such file: nope.txt"}], "isError": True}
    stub.invoke("readFiles", {"paths": ["nope.txt"]}, [missing])
    stub.stop()
    with open_session(stub) as session:
        session.execute("1")
        with pytest.raises(SandboxError, match="No such file: nope.txt"):
            session.read_file("nope.txt")


def test_stdin_is_fed_before_the_code(stub: AgentCoreStub) -> None:
    snippet = _stdin_snippet(b"line one\n")
    stub.start()
    stub.execute(snippet, [code_result()])
    stub.execute("print(input())", [code_result("line one\n")])
    stub.stop()
    with open_session(stub) as session:
        assert session.execute("print(input())", stdin=b"line one\n").stdout == "line one\n"
    # The snippet really replaces stdin, and binds no names in the user's namespace.
    namespace: dict[str, Any] = {}
    saved = sys.stdin
    try:
        exec(snippet, namespace)
        assert sys.stdin.read() == "line one\n"
    finally:
        sys.stdin = saved
    assert set(namespace) == {"__builtins__"}


# -- the session is stopped on every way out ---------------------------------------------------


def test_stopped_when_the_with_body_raises(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("1", [code_result()])
    stub.stop()
    with pytest.raises(RuntimeError), open_session(stub) as session:
        session.execute("1")
        raise RuntimeError("caller failed")
    stub.stubber.assert_no_pending_responses()


def test_stopped_on_keyboard_interrupt_during_execute(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("while True: pass", [], fail_with=KeyboardInterrupt())
    stub.stop()
    session = open_session(stub)  # no `with`: the session must stop by itself
    with pytest.raises(KeyboardInterrupt):
        session.execute("while True: pass")
    stub.stubber.assert_no_pending_responses()
    with pytest.raises(SandboxError, match="closed"):
        session.execute("1")


def test_stopped_at_exit_when_nobody_closed_it(
    stub: AgentCoreStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered: list[Any] = []

    class FakeAtexit:
        def register(self, func: Any) -> None:
            registered.append(func)

        def unregister(self, func: Any) -> None:
            registered[:] = [f for f in registered if f != func]

    monkeypatch.setattr(agentcore_module, "atexit", FakeAtexit())
    stub.start()
    stub.execute("1", [code_result()])
    stub.stop()
    session = open_session(stub)
    session.execute("1")
    assert len(registered) == 1
    registered[0]()  # what the interpreter does on exit
    stub.stubber.assert_no_pending_responses()
    assert registered == []
    session.close()  # idempotent: no second stop call (none is queued)


def test_read_file_refuses_paths_outside_the_work_dir(stub: AgentCoreStub) -> None:
    from agentcode.errors import UsageError

    with open_session(stub) as session, pytest.raises(UsageError):
        session.read_file("../etc/passwd")


def test_snippet_encodes_binary_stdin() -> None:
    saved = sys.stdin
    try:
        exec(_stdin_snippet("é\n".encode()), {})
        assert isinstance(sys.stdin, io.TextIOWrapper)
        assert sys.stdin.readline() == "é\n"
    finally:
        sys.stdin = saved


def test_the_client_we_build_waits_for_the_timeout_and_leaves_retries_to_tenacity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    session = AgentCoreSession(Settings(region="eu-central-1", timeout=60))
    meta = session._client.meta
    assert meta.region_name == "eu-central-1"
    assert meta.config.read_timeout == 75  # the execution timeout plus a grace period
    assert meta.config.retries["total_max_attempts"] == 1
    first = session._client
    session._fit_read_timeout(60)  # same timeout: same client
    assert session._client is first
    session._fit_read_timeout(600)  # another per-call timeout: a client that waits that long
    assert session._client.meta.config.read_timeout == 615
    session.close()
