"""argv and env through `execute` and `Session`, and how a timeout reads in each."""

from __future__ import annotations

import sys

import pytest

from agentcode import Session, execute
from agentcode.config import Limits, Settings
from agentcode.errors import ExecutionTimeoutError, UsageError
from agentcode.sandbox.agentcore.session import _argv_env_snippet
from agentcode.testing import FakeSandbox

SHOW = "import sys, os\nprint(sys.argv, os.environ.get('MODE'), os.environ.get('HOME_SECRET'))"


@pytest.fixture
def settings() -> Settings:
    return Settings(timeout=20, history=False,
                    limits=Limits(tmp_mb=16, shm_mb=8, workdir_mb=32, kill_grace_seconds=1))


def test_execute_passes_argv_and_env_and_nothing_of_ours(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME_SECRET", "must not leak")
    result = execute(SHOW, argv=["report.py", "--top", "3"], env={"MODE": "fast"},
                     settings=settings)
    assert result.stdout == "['report.py', '--top', '3'] fast None\n"
    assert execute(SHOW, settings=settings).stdout == "['-'] None None\n"


def test_session_env_stays_set_and_argv_is_per_run(settings: Settings) -> None:
    with Session(settings=settings) as session:
        session.execute("pass", argv=["first.py", "1"], env={"MODE": "kept"})
        assert session.execute(SHOW).stdout == "['-'] kept None\n"


def test_bad_variable_names_are_refused(settings: Settings) -> None:
    fake = FakeSandbox()
    with pytest.raises(UsageError, match="invalid environment variable name"):
        execute("pass", sandbox=fake, env={"A=B": "x"}, settings=settings)
    assert fake.codes == []


def test_a_sandbox_gets_argv_and_env_only_when_given(settings: Settings) -> None:
    fake = FakeSandbox()
    execute("pass", sandbox=fake, settings=settings)
    execute("pass", sandbox=fake, argv=["-"], env={}, settings=settings)  # the defaults
    execute("pass", sandbox=fake, argv=["x.py"], env={"K": "v"}, settings=settings)
    assert fake.argvs == [None, None, ["x.py"]] and fake.envs == [None, None, {"K": "v"}]


def test_the_agentcore_setup_snippet_sets_argv_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["before"])
    monkeypatch.delenv("AGENTCODE_TEST_MODE", raising=False)
    namespace: dict[str, object] = {}
    exec(_argv_env_snippet(["a.py", "it's"], {"AGENTCODE_TEST_MODE": "x\ny"}), namespace)
    import os

    assert sys.argv == ["a.py", "it's"] and os.environ["AGENTCODE_TEST_MODE"] == "x\ny"
    monkeypatch.delenv("AGENTCODE_TEST_MODE")
    assert set(namespace) == {"__builtins__"}  # no names left in the user's namespace


def test_timeouts_read_differently_in_a_session_and_a_one_shot_run(settings: Settings) -> None:
    code = "import time\ntime.sleep(30)"
    with pytest.raises(ExecutionTimeoutError) as one_shot:
        execute(code, timeout=0.5, settings=settings)
    assert str(one_shot.value) == ("the code ran past the 0.5 s timeout and was stopped "
                                   "(raise it with --timeout or AGENTCODE_TIMEOUT)")
    assert one_shot.value.execution is not None
    assert one_shot.value.execution.exit_code == 124
    with Session(settings=settings) as session:
        session.execute("x = 1")
        with pytest.raises(ExecutionTimeoutError, match="the session keeps its variables"):
            session.execute(code, timeout=0.5)
        assert session.execute("x").text == "1"
