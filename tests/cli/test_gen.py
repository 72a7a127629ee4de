"""`agentcode gen`: bare code when piped, --json, stdin as prompt or data context, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from cli_runner import CliResult, run_cli

from agentcode.models import registry
from agentcode.testing import FailingModel, FakeModel, client_error, no_credentials, throttled

CODE = "import sys\nprint(sys.stdin.read().count('\\n'))\n"
REPLY = f"Here is the program:\n```python\n{CODE}```\nIt counts lines."


def gen(*args: str, stdin: str | bytes | None = None,
        env: dict[str, str] | None = None) -> CliResult:
    return run_cli(["gen", *args], stdin=stdin, env=env)




def test_piped_output_is_only_the_bare_code(models: Callable[..., None]) -> None:
    models(a=FakeModel(REPLY))
    result = gen("count lines", "-m", "t:a")
    assert result.exit_code == 0
    assert result.stdout == CODE
    assert result.stderr == "agentcode: not run\n"  # only what was checked, said last


def test_json_output_is_the_generation(models: Callable[..., None]) -> None:
    models(a=FakeModel(REPLY))
    result = gen("count lines", "-m", "t:a", "--json")
    data = json.loads(result.stdout)
    assert data["code"] == CODE
    assert data["model_id"] == "t:a"
    assert data["prompt"] == "count lines"
    assert data["attempts"] == [{"model": "t:a", "error": None,
                                 "duration_ms": data["attempts"][0]["duration_ms"], "retries": 0}]
    assert set(data) >= {"language", "usage", "verified", "rounds", "duration_ms"}


def test_dash_reads_the_prompt_from_stdin(models: Callable[..., None]) -> None:
    model = FakeModel(REPLY)
    models(a=model)
    result = gen("-", "-m", "t:a", stdin="count the lines\n")
    assert result.exit_code == 0
    assert model.calls[0].prompt == "count the lines"


def test_piped_stdin_with_a_prompt_is_sampled_as_data_context(models: Callable[..., None]) -> None:
    model = FakeModel(REPLY)
    models(a=model)
    data = "".join(f"10.0.0.{i % 7} GET /page/{i}\n" for i in range(2000))
    result = gen("top 5 IPs", "-m", "t:a", stdin=data)
    assert result.exit_code == 0
    prompt = model.calls[0].prompt
    assert prompt.startswith("top 5 IPs\n\nInput data: ")
    assert f"{len(data):,} bytes, 2,000 lines" in prompt
    assert "GET /page/49\n" in prompt and "/page/50\n" not in prompt
    assert len(prompt) < 5000


def test_piped_stdin_too_large_to_keep_is_described_and_not_run_on(
    models: Callable[..., None],
) -> None:
    # Past the input limit only a sample is kept: the model sees it and the size read so far,
    # and the code runs neither on the sample (it is not the input) nor with empty stdin.
    model = FakeModel("```python\nprint(100)\n```\n")  # would pass a run with empty stdin
    models(a=model)
    data = "".join(f"row {i}\n" for i in range(100))
    result = gen("print how many rows there are", "-m", "t:a", stdin=data,
                 env={"AGENTCODE_MAX_INPUT_BYTES": "200"})
    assert result.exit_code == 0, result.stderr
    assert "the beginning is shown" in model.calls[0].prompt and "row 0\n" in model.calls[0].prompt
    assert len(model.calls) == 1 and result.stderr.endswith("agentcode: not run\n")


@pytest.mark.parametrize(("args", "stdin"), [(("",), None), (("   ",), None), (("-",), "\n")])
def test_empty_prompt_is_exit_2(args: tuple[str, ...], stdin: str | None) -> None:
    result = gen(*args, "-m", "local", stdin=stdin)
    assert result.exit_code == 2
    assert "empty prompt" in result.stderr
    assert result.stdout == ""


def test_unknown_model_is_exit_2() -> None:
    result = gen("x", "-m", "gpt-17")
    assert result.exit_code == 2
    assert "unknown model 'gpt-17'" in result.stderr


def test_a_near_miss_model_or_sandbox_name_gets_a_suggestion() -> None:
    result = gen("x", "-m", "bedrok")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(
        "agentcode: error: unknown model 'bedrok' (did you mean 'bedrock'?): choose one of local")
    assert "(did you mean 'bedrock:my-id'?)" in gen("x", "-m", "bedrok:my-id").stderr
    assert "did you mean" not in gen("x", "-m", "gpt-17").stderr  # nothing close: the list
    sandbox = run_cli(["run", "--sandbox", "agentcor", "-"], stdin="print(1)\n")
    assert (sandbox.exit_code, sandbox.stderr) == (2, (
        "agentcode: error: unknown sandbox 'agentcor' (did you mean 'agentcore'?): choose one "
        "of local, agentcore, unsafe\n"))


def test_no_model_could_answer_is_exit_3_with_reasons(models: Callable[..., None]) -> None:
    models(a=FailingModel(client_error("AccessDeniedException", "nope", 403)),
           b=FakeModel(["no code", "still no code"]))
    result = gen("x", "-m", "t:a,t:b")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "no model could answer" in result.stderr
    assert "t:a: access denied" in result.stderr
    assert "t:b: no usable Python" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_credentials_is_exit_3_with_how_to_configure(
    models: Callable[..., None], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN",
                 "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = gen("x", "-m", "bedrock", "--region", "us-east-1")
    assert result.exit_code == 3
    assert "no AWS credentials found" in result.stderr
    assert "aws configure" in result.stderr
    assert result.stderr.count("skipped") == 2


def test_fallback_warns_on_stderr_and_keeps_stdout_clean(models: Callable[..., None]) -> None:
    models(a=FailingModel(client_error("ResourceNotFoundException", "gone", 404)),
           b=FakeModel(REPLY))
    result = gen("x", "-m", "t:a", "-m", "t:b")
    assert result.exit_code == 0
    assert result.stdout == CODE
    assert "t:a: model not found" in result.stderr
    assert "answered by t:b" in result.stderr


def test_model_from_environment_and_system_option(
    models: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = FakeModel(REPLY)
    models(a=FailingModel(throttled()), b=model)
    monkeypatch.setenv("AGENTCODE_MODEL_ATTEMPTS", "1")
    result = gen("x", "--system", "Use argparse.", env={"AGENTCODE_MODEL": "t:a,t:b"})
    assert result.exit_code == 0
    assert (model.calls[0].system_prompt or "").endswith("Use argparse.")


def test_config_file_chain_is_used(models: Callable[..., None], agentcode_home: object) -> None:
    from pathlib import Path

    models(a=FakeModel(REPLY))
    Path(str(agentcode_home), "config.toml").write_text('model = ["t:a"]\n', encoding="utf-8")
    assert gen("x").stdout == CODE


def test_no_credentials_skips_that_provider_only(models: Callable[..., None]) -> None:
    other = FakeModel(REPLY)
    registry.register("u", lambda _spec, _settings: other)
    same_provider = FakeModel(REPLY)
    models(a=FailingModel(no_credentials()), b=same_provider)
    result = gen("x", "-m", "t:a,t:b,u:c")
    assert result.exit_code == 0 and result.stdout == CODE
    assert same_provider.calls == [] and len(other.calls) == 1
    assert "t:b: skipped: no AWS credentials found" in result.stderr


def test_a_model_that_answers_without_code_is_exit_1_not_3(models: Callable[..., None]) -> None:
    models(a=FakeModel(["no code", "still no code"]))
    result = gen("x", "-m", "t:a")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no usable code" in result.stderr and "t:a: no usable Python" in result.stderr
    assert "Traceback" not in result.stderr
