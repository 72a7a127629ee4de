"""One list of secrets: token shapes, secret-sounding names, and this process's secret variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcode import secrets
from agentcode.models.bedrock import BEARER_TOKEN_ENV
from agentcode.store import open_store
from agentcode.types import Execution

SECRET_TEXTS = [
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAY34FZKBOKMUTVV7A",
    "ABSKQmVkcm9ja0FQSUtleS1hYmNkLWF0LTEyMzQ1Njc4OTA6c2VjcmV0",
    "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbA==",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
    "sk-proj-abc123DEF456ghi789JKL012mno",
    "sk-ant-api03-AbC123dEf456GhI789jKl012",
    "xoxb-1234567890-abcdefghij",
    "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
    "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "hf_abcdefghijklmnopqrstuvwxyz0123456789",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXkAAAA\n-----END OPENSSH PRIVATE KEY-----",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA (cut off by a cap)",
]


@pytest.mark.parametrize("secret", SECRET_TEXTS)
def test_token_shapes_are_redacted_wherever_they_appear(secret: str) -> None:
    text = f"before {secret}\nafter"
    redacted = secrets.redact(text)
    assert secret not in redacted
    assert redacted.startswith("before [REDACTED]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key = [REDACTED]"),
        ("{'AWS_SESSION_TOKEN': 'IQoJb3JpZ2luX2Vj'}", "{'AWS_SESSION_TOKEN': '[REDACTED]'}"),
        ("AWS_BEARER_TOKEN_BEDROCK=anything-at-all", "AWS_BEARER_TOKEN_BEDROCK=[REDACTED]"),
        ('{"SecretAccessKey": "abc/def+ghi"}', '{"SecretAccessKey": "[REDACTED]"}'),
        ("password: hunter2!", "password: [REDACTED]"),
        ("MY_SERVICE_API_KEY=0123456789", "MY_SERVICE_API_KEY=[REDACTED]"),
    ],
)
def test_values_of_secret_names_are_redacted(text: str, expected: str) -> None:
    assert secrets.redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens = 4096",
        '{"inputTokens": 10, "outputTokens": 4}',
        'client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])',
        "token = get_token()",
        "tokenizer = AutoTokenizer.from_pretrained('gpt2')",
        "pip install scikit-learn; see sk-learn-is-a-great-library",
        "the key to success",
    ],
)
def test_ordinary_text_and_code_that_names_secrets_are_kept(text: str) -> None:
    assert secrets.redact(text) == text


def test_secret_names_cover_the_providers_agentcode_talks_to() -> None:
    for name in (BEARER_TOKEN_ENV, "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "OPENAI_API_KEY",
                 "GITHUB_TOKEN", "SLACK_BOT_TOKEN", "my_custom_api_key", "DB_PASSWORD"):
        assert secrets.is_secret_name(name), name
    for name in ("PATH", "HOME", "AWS_REGION", "AWS_PROFILE", "LANG", "MAX_TOKENS"):
        assert not secrets.is_secret_name(name), name


def test_secret_values_of_the_environment() -> None:
    env = {"GITHUB_TOKEN": "plain-words-token", "SHORT_TOKEN": "abc", "PATH": "/usr/bin",
           "EMPTY_SECRET": ""}
    assert secrets.secret_names(env) == ["GITHUB_TOKEN", "SHORT_TOKEN"]
    assert secrets.secret_values(env) == ["plain-words-token"]  # too short to search for: skipped
    assert secrets.redact("got plain-words-token!", known=secrets.secret_values(env)) == (
        "got [REDACTED]!"
    )


def test_secret_values_follow_the_process_environment_as_it_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MY_SERVICE_API_KEY", raising=False)
    before = secrets.secret_values()
    assert "first-value-of-the-key" not in before
    monkeypatch.setenv("MY_SERVICE_API_KEY", "first-value-of-the-key")
    assert "first-value-of-the-key" in secrets.secret_values()
    secrets.secret_values().clear()  # a caller's copy: the next call still knows the value
    assert "first-value-of-the-key" in secrets.secret_values()
    monkeypatch.setenv("MY_SERVICE_API_KEY", "second-value-of-the-key")  # same names, new value
    assert "second-value-of-the-key" in secrets.secret_values()
    assert "first-value-of-the-key" not in secrets.secret_values()
    monkeypatch.delenv("MY_SERVICE_API_KEY")
    assert secrets.secret_values() == before


def test_the_history_never_keeps_what_a_secret_variable_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shapeless = "correct horse battery staple"  # no token shape: only the env value gives it away
    monkeypatch.setenv("SLACK_TOKEN", shapeless)
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "ABSKQmVkcm9ja0FQSUtleS1hYmNk")
    path = tmp_path / "h.db"
    with open_store(path) as store:
        store.record_execution(
            "print(token)",
            Execution(stdout=f"{shapeless}\n", stderr="ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            prompt=f"post to slack with {shapeless} and ABSKQmVkcm9ja0FQSUtleS1hYmNk",
        )
        [entry] = store.list()
        assert entry.stdout == "[REDACTED]\n"
        assert entry.stderr == "[REDACTED]"
        assert entry.prompt == "post to slack with [REDACTED] and [REDACTED]"
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("h.db"))
    assert shapeless.encode() not in raw
    assert b"ghp_abcdefghij" not in raw
