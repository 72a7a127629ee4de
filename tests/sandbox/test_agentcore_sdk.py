"""AgentCore through the bedrock-agentcore SDK's CodeInterpreter: what we use of it, what we add."""

from __future__ import annotations

from pathlib import Path

import pytest
from agentcore_stubs import AgentCoreStub, code_result, open_session
from bedrock_agentcore.tools.code_interpreter_client import CodeInterpreter

from agentcode.aws.retry import AGENTCORE_RETRY
from agentcode.config import Settings
from agentcode.errors import EXIT_USAGE, SandboxError, UsageError
from agentcode.sandbox.agentcore.session import AgentCoreSession


@pytest.fixture
def stub() -> AgentCoreStub:
    return AgentCoreStub()


def test_the_session_is_the_sdks_code_interpreter(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("1", [code_result("1")])
    stub.stop()
    with open_session(stub) as session:
        interpreter = session._interpreter
        assert isinstance(interpreter, CodeInterpreter)
        assert interpreter.data_plane_client is stub.client
        session.execute("1")
        # The SDK object holds the running session: its invoke/upload/stop use it.
        assert (interpreter.identifier, interpreter.session_id) == (stub.interpreter, "sess01")
    assert interpreter.session_id is None
    stub.stubber.assert_no_pending_responses()


def test_install_packages_goes_through_the_sdk(stub: AgentCoreStub) -> None:
    stub.start()
    stub.invoke("executeCommand", {"command": "pip install numpy 'pandas>=2'"},
                [code_result("Successfully installed numpy pandas")])
    stub.invoke("executeCommand", {"command": "pip install nosuchpackage"},
                [code_result(stderr="ERROR: No matching distribution found for nosuchpackage",
                             exit_code=1, is_error=True)])
    stub.stop()
    with open_session(stub) as session:
        done = session.install_packages(["numpy", "pandas>=2"])
        assert "Successfully installed" in done.stdout
        with pytest.raises(SandboxError, match="No matching distribution found"):
            session.install_packages(["nosuchpackage"])
        with pytest.raises(UsageError) as refused:  # checked by the SDK before any call
            session.install_packages(["numpy; rm -rf /"])
        assert refused.value.exit_code == EXIT_USAGE
    stub.stubber.assert_no_pending_responses()


def test_configured_packages_are_installed_when_the_session_starts(stub: AgentCoreStub) -> None:
    stub.start()
    stub.invoke("executeCommand", {"command": "pip install duckdb 'polars>=1'"},
                [code_result("Successfully installed duckdb polars")])
    stub.execute("import duckdb", [code_result("")])
    stub.execute("1", [code_result("1")])
    stub.stop()
    with open_session(stub, packages=["duckdb", "polars>=1"]) as session:
        assert session.execute("import duckdb").ok
        assert session.execute("1").ok  # installed once, at the start only
    stub.stubber.assert_no_pending_responses()


def test_the_client_we_build_is_the_sdks_endpoint_with_our_timeout_and_no_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    sdk = CodeInterpreter("eu-central-1")
    session = AgentCoreSession(Settings(region="eu-central-1", timeout=60))
    client = session._client
    assert client.meta.endpoint_url == sdk.data_plane_client.meta.endpoint_url
    assert client.meta.config.retries["total_max_attempts"] == 1
    assert sdk.data_plane_client.meta.config.read_timeout == 300  # what we replace
    assert client.meta.config.read_timeout == 75
    assert session._retry is AGENTCORE_RETRY
    session.close()
