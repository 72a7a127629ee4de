"""AgentCore failures: retries, error events, timeouts and the messages users get."""

from __future__ import annotations

import logging
from pathlib import Path

import boto3
import pytest
from agentcore_stubs import REGION, AgentCoreStub, code_result, open_session
from botocore.config import Config
from botocore.exceptions import NoCredentialsError
from urllib3.exceptions import ReadTimeoutError

from agentcode.aws.retry import RetryPolicy
from agentcode.config import Settings
from agentcode.errors import (
    EXIT_SANDBOX,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    AgentcodeError,
    ConfigError,
    ExecutionTimeoutError,
    SandboxError,
    SandboxUnavailableError,
)
from agentcode.sandbox import open_sandbox
from agentcode.sandbox.agentcore.errors import is_transient
from agentcode.sandbox.agentcore.session import AgentCoreSession


@pytest.fixture
def stub() -> AgentCoreStub:
    return AgentCoreStub()


def _one_line(err: AgentcodeError) -> str:
    text = str(err)
    assert "\n" not in text and text
    return text


@pytest.mark.parametrize(
    ("member", "error_class", "fragment"),
    [
        (
            "accessDeniedException",
            SandboxUnavailableError,
            "bedrock-agentcore:InvokeCodeInterpreter",
        ),
        ("validationException", SandboxError, "AgentCore rejected InvokeCodeInterpreter"),
        ("resourceNotFoundException", SandboxError, "session has ended"),
        ("serviceQuotaExceededException", SandboxUnavailableError, "Service Quotas"),
        ("conflictException", SandboxError, "ConflictException"),
    ],
)
def test_error_event_in_the_stream_raises_and_the_session_still_stops(
    stub: AgentCoreStub, member: str, error_class: type[AgentcodeError], fragment: str
) -> None:
    stub.start()
    stub.execute("1", [], errors=[(member, "told by the service")])
    if member != "resourceNotFoundException":  # a session the service lost needs no stop
        stub.stop()
    with pytest.raises(error_class) as caught, open_session(stub) as session:
        session.execute("1")
    assert caught.value.exit_code == EXIT_SANDBOX
    assert fragment in _one_line(caught.value)
    assert "told by the service" in str(caught.value)
    stub.stubber.assert_no_pending_responses()


def test_throttling_in_the_stream_then_success(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("print(1)", [], errors=[("throttlingException", "slow down")])
    stub.execute("print(1)", [code_result("1\n")])
    stub.stop()
    with open_session(stub) as session:
        assert session.execute("print(1)").stdout == "1\n"
    stub.stubber.assert_no_pending_responses()


def test_throttled_start_and_internal_error_are_retried(stub: AgentCoreStub) -> None:
    stub.client_error("start_code_interpreter_session", "ThrottlingException", status=429)
    stub.client_error("start_code_interpreter_session", "InternalServerException", status=500)
    stub.start()
    stub.execute("1", [], errors=[("internalServerException", "oops")])
    stub.execute("1", [code_result()])
    stub.stop()
    with open_session(stub) as session:
        assert session.execute("1").ok
    stub.stubber.assert_no_pending_responses()


def test_throttling_gives_up_after_the_bounded_attempts(stub: AgentCoreStub) -> None:
    stub.start()
    for _ in range(3):  # open_session allows 3 attempts
        stub.execute("1", [], errors=[("throttlingException", "slow down")])
    stub.stop()
    with (
        pytest.raises(SandboxError, match="throttling InvokeCodeInterpreter after 3 attempts"),
        open_session(stub) as session,
    ):
        session.execute("1")
    stub.stubber.assert_no_pending_responses()


def test_code_that_already_produced_output_is_never_resent(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("launch()", [code_result("half\n")], errors=[("internalServerException", "x")])
    stub.stop()
    with (
        pytest.raises(SandboxError, match="failed on InvokeCodeInterpreter \\(Internal"),
        open_session(stub) as session,
    ):
        session.execute("launch()")
    stub.stubber.assert_no_pending_responses()


def test_access_denied_at_start_names_the_permission(stub: AgentCoreStub) -> None:
    stub.client_error("start_code_interpreter_session", "AccessDeniedException", "no", 403)
    with pytest.raises(SandboxUnavailableError) as caught, open_session(stub) as session:
        session.execute("1")
    text = _one_line(caught.value)
    assert "bedrock-agentcore:StartCodeInterpreterSession" in text
    assert "docs/agentcore.md" in text
    stub.stubber.assert_no_pending_responses()  # no session, so no stop


def test_unknown_interpreter_says_which_flags_to_check(stub: AgentCoreStub) -> None:
    stub.client_error("start_code_interpreter_session", "ResourceNotFoundException", "", 404)
    with (
        pytest.raises(SandboxUnavailableError, match="--interpreter-id .* and --region"),
        open_session(stub) as session,
    ):
        session.execute("1")


def test_a_failing_stop_is_reported_not_raised(
    stub: AgentCoreStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub.start()
    stub.execute("1", [code_result()])
    stub.client_error("stop_code_interpreter_session", "AccessDeniedException", "denied", 403)
    with caplog.at_level(logging.WARNING), open_session(stub) as session:
        session.execute("1")
    assert "bedrock-agentcore:StopCodeInterpreterSession" in caplog.text
    assert "900s" in caplog.text


def test_a_session_that_already_ended_stops_quietly(
    stub: AgentCoreStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub.start()
    stub.execute("1", [code_result()])
    stub.client_error("stop_code_interpreter_session", "ResourceNotFoundException", "gone", 404)
    with caplog.at_level(logging.WARNING), open_session(stub) as session:
        session.execute("1")
    assert caplog.text == ""


def test_read_timeout_is_an_execution_timeout_and_stops_the_session(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("sleep()", [], fail_with=ReadTimeoutError(None, "", "read timed out"))
    stub.stop()
    with open_session(stub) as session:
        with pytest.raises(ExecutionTimeoutError) as caught:
            session.execute("sleep()", timeout=5)
        assert session.list_files() == []  # the session is gone; nothing restarted for this
    assert caught.value.exit_code == EXIT_TIMEOUT
    assert caught.value.state_lost
    assert "5s" in _one_line(caught.value)
    stub.stubber.assert_no_pending_responses()


def test_events_after_the_deadline_are_a_timeout(stub: AgentCoreStub) -> None:
    stub.start()
    stub.execute("work()", [code_result("partial\n")])
    stub.stop()
    with pytest.raises(ExecutionTimeoutError), open_session(stub) as session:
        session.execute("work()", timeout=1e-9)
    stub.stubber.assert_no_pending_responses()


def test_timeout_reported_by_the_service(stub: AgentCoreStub) -> None:
    said = {
        "content": [{"type": "text", "text": "Execution timed out after 300 seconds"}],
        "isError": True,
    }
    stub.start()
    stub.execute("loop()", [said])
    stub.stop()
    with pytest.raises(ExecutionTimeoutError) as caught, open_session(stub) as session:
        session.execute("loop()")
    assert not caught.value.state_lost
    assert caught.value.execution is not None
    assert "timed out after 300 seconds" in str(caught.value)


def test_a_python_timeouterror_stays_a_code_error(stub: AgentCoreStub) -> None:
    stderr = "Traceback (most recent call last):\n  File ...\nTimeoutError: timed out\n"
    stub.start()
    stub.execute("connect()", [code_result("", stderr, 1, is_error=True)])
    stub.stop()
    with open_session(stub) as session:
        result = session.execute("connect()")
    assert result.error is not None and result.error.name == "TimeoutError"


@pytest.mark.parametrize("value", [0, -1, 28_801, "soon"])
def test_session_timeout_is_validated(stub: AgentCoreStub, value: object) -> None:
    with pytest.raises(ConfigError, match="1 to 28800 seconds") as caught:
        open_session(stub, session_timeout=value)
    assert caught.value.exit_code == EXIT_USAGE


def test_longest_session_timeout_is_accepted(stub: AgentCoreStub) -> None:
    stub.start(timeout=28_800)
    stub.execute("1", [code_result()])
    stub.stop()
    with open_session(stub, session_timeout=28_800) as session:
        session.execute("1")
    stub.stubber.assert_no_pending_responses()


# -- credentials, region, connection: the real client, no stub ------------------------------


@pytest.fixture
def no_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials anywhere, and no instance metadata to wait for."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CREDENTIAL_PROCESS",
    ):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws")
def test_no_credentials_is_exit_4_with_one_line() -> None:
    with (
        pytest.raises(SandboxUnavailableError) as caught,
        open_sandbox("agentcore", Settings(sandbox="agentcore", region=REGION)) as session,
    ):
        session.execute("print(1)")
    assert caught.value.exit_code == EXIT_SANDBOX
    text = _one_line(caught.value)
    assert "no usable AWS credentials" in text and "--profile" in text
    assert not is_transient(NoCredentialsError(), idempotent=True)  # never retried


@pytest.mark.usefixtures("no_aws")
def test_no_region_anywhere_is_the_documented_default_as_for_bedrock() -> None:
    from agentcode.aws.region import DEFAULT_REGION

    with open_sandbox("agentcore", Settings(sandbox="agentcore")) as session:
        assert session._client.meta.region_name == DEFAULT_REGION  # type: ignore[attr-defined]


@pytest.mark.usefixtures("no_aws")
def test_unknown_profile_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="profile 'nobody' not found"):
        open_sandbox("agentcore", Settings(sandbox="agentcore", region=REGION, profile="nobody"))


def test_unreachable_endpoint_is_retried_then_names_the_region() -> None:
    # A closed loopback port: a real connection fault, raised by botocore's HTTP layer.
    client = boto3.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name=REGION
    ).client(
        "bedrock-agentcore",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    session = AgentCoreSession(
        Settings(region=REGION),
        client=client,
        retry=RetryPolicy(attempts=2, initial_delay=0, max_delay=0, jitter=0),
    )
    with pytest.raises(SandboxUnavailableError) as caught, session:
        session.execute("1")
    text = _one_line(caught.value)
    assert "after 2 attempts" in text
    assert f"AgentCore in {REGION} after" in text and "region where AgentCore is available" in text


@pytest.mark.usefixtures("no_aws")
def test_run_command_without_credentials_is_exit_4_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = tmp_path / "job.py"
    script.write_text("print(1)\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "agentcode", "run", "--sandbox", "agentcore", "--region", REGION,
         str(script)],
        capture_output=True, text=True, env=dict(os.environ), timeout=120,
    )
    assert result.returncode == EXIT_SANDBOX, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agentcode: error:")
    assert "credentials" in lines[0] and "Traceback" not in result.stderr
