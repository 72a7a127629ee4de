"""What agentcode treats as a secret: variable names and token shapes, in one place.

Used by the history store's scrubber (`agentcode.store.scrub`), by `agentcode doctor` (which
checks that none of these names reach the sandbox) and by anything else that must keep secrets out
of what it writes or passes on. The sandboxes start from an empty environment, so this list is not
what keeps secrets from user code; it is what keeps them out of text that outlives the terminal.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

REDACTED = "[REDACTED]"

# Environment variables that hold credentials (names compared case-insensitively).
SECRET_ENV_NAMES: frozenset[str] = frozenset({
    # AWS: keys, session tokens, the Bedrock API key (read by models/bedrock.py)
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    # model providers
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY",
    "AZURE_OPENAI_API_KEY", "COHERE_API_KEY", "GROQ_API_KEY", "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    # code hosts and chat
    "GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "SLACK_TOKEN", "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN", "SLACK_WEBHOOK_URL",
    # package registries
    "NPM_TOKEN", "PYPI_TOKEN", "TWINE_PASSWORD",
})

# Any other variable whose name ends like this is treated as a secret too (MY_SERVICE_API_KEY).
_SECRET_NAME_ENDING = re.compile(
    r"(?i)(?:secret|secret_?key|secret_?access_?key|access_?key|api_?key|private_?key|token|"
    r"password|passwd|credentials?)$"
)


@dataclass(frozen=True, slots=True)
class TokenPattern:
    """A token shape. ``hints`` are literals one of which any match contains: a plain substring
    test skips the regex for text that cannot match (most program output), keeping the scrub of
    a history entry in microseconds."""

    label: str
    hints: tuple[str, ...]
    pattern: re.Pattern[str]


# Token shapes, recognised wherever they appear (an env dump, a pasted prompt, a traceback).
TOKEN_PATTERNS: tuple[TokenPattern, ...] = (
    TokenPattern("AWS access key id", ("AKIA", "ASIA", "ABIA", "ACCA"),
                 re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    TokenPattern("Bedrock API key", ("ABSK", "bedrock-api-key-"),
                 re.compile(r"\b(?:ABSK|bedrock-api-key-)[A-Za-z0-9+/=_-]{16,}")),
    TokenPattern("GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
                 re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    TokenPattern("OpenAI / Anthropic key", ("sk-",),
                 re.compile(r"\bsk-(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{20,}")),
    TokenPattern("Slack token", ("xox",), re.compile(r"\bxox[abeoprs]-[A-Za-z0-9-]{10,}")),
    TokenPattern("Slack webhook", ("hooks.slack.com",),
                 re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+")),
    TokenPattern("Google API key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    TokenPattern("Hugging Face token", ("hf_",), re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    TokenPattern("JSON web token", ("eyJ",), re.compile(
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")),
    # A private key block; one cut off before its END line is redacted to the end of the text.
    TokenPattern("private key", ("PRIVATE KEY-----",), re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE "
        r"KEY-----|.*\Z)",
        re.DOTALL,
    )),
)

_ANY_HINT = re.compile("|".join(re.escape(hint) for token in TOKEN_PATTERNS
                                for hint in token.hints))

# ``name = value`` / ``"name": "value"`` / ``name=value`` where the name says it is a secret: the
# credentials file, env dumps, SDK keyword arguments, JSON. The value is redacted, the name kept.
# The regex finds assignments (linear: a word, then `=` or `:` right after, or nothing); whether
# the name is a secret's is decided on the match, so no name is scanned for keywords twice.
_NAME_HINTS = ("secret", "key", "token", "passw")  # lower-case: one is in every secret's name
_ASSIGNMENT = re.compile(
    r"""(?x)
    (?<![A-Za-z0-9_]) ([A-Za-z0-9_]{1,64}) (['"]? \s* [:=] \s* ['"]?)
    # A literal value, up to a delimiter: `api_key=os.environ["KEY"]` or `token=load()` is code
    # that names a secret, not one, and stays readable in the history.
    ([^\s'",;:}()\[\]]{6,}) (?= $ | [\s'",;}\])] )
    """
)
_SECRET_NAME = re.compile(
    r"(?i)(?:secret|secret_?key|secret_?access_?key|api_?key|private_?key|token|password|"
    r"passwd|sessiontoken|bearer_token_bedrock)$"
)


def _redact_assignment(match: re.Match[str]) -> str:
    name, between, _value = match.groups()
    return name + between + REDACTED if _SECRET_NAME.search(name) else match.group(0)


_MIN_VALUE_LENGTH = 8  # shorter values of secret variables are not searched for verbatim


@functools.lru_cache(maxsize=1024)
def is_secret_name(name: str) -> bool:
    """Whether an environment variable of this name holds a credential."""
    upper = name.upper()
    return upper in SECRET_ENV_NAMES or bool(_SECRET_NAME_ENDING.search(upper))


def secret_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """The names of the secret variables set in ``environ`` (default: this process's)."""
    env = os.environ if environ is None else environ
    return sorted(name for name, value in env.items() if value and is_secret_name(name))


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the secret variables set in ``environ``, longest first."""
    global _cached_values
    key = _environ_key() if environ is None else None
    cached = _cached_values
    if key is not None and cached is not None and cached[0] == key:
        return list(cached[1])
    env = os.environ if environ is None else environ
    values = {env[name] for name in secret_names(env) if len(env[name]) >= _MIN_VALUE_LENGTH}
    found = sorted(values, key=len, reverse=True)
    if key is not None:
        _cached_values = (key, tuple(found))
    return found


# Reading os.environ decodes every variable (~50 us), once per history entry: the answer is kept
# for as long as the raw environment is equal, compared whole, so a variable set or changed later
# is seen by the next call.
_cached_values: tuple[tuple[tuple[object, object], ...], tuple[str, ...]] | None = None


def _environ_key() -> tuple[tuple[object, object], ...] | None:
    data = getattr(os.environ, "_data", None)  # the raw mapping os.environ decodes on access
    return tuple(data.items()) if isinstance(data, dict) else None


def redact(text: str, *, known: Iterable[str] = ()) -> str:
    """``text`` with tokens, named secret values and the ``known`` values replaced by [REDACTED].

    ``known`` is for secrets of no recognisable shape: pass `secret_values()` to redact whatever
    this process's secret variables hold, wherever it was pasted.
    """
    if not text:
        return text
    for value in known:
        if value:
            text = text.replace(value, REDACTED)
    if _ANY_HINT.search(text):  # one scan for all the hints: most text has none
        for token in TOKEN_PATTERNS:
            if any(hint in text for hint in token.hints):
                text = token.pattern.sub(REDACTED, text)
    lowered = text.lower()
    if any(hint in lowered for hint in _NAME_HINTS):
        text = _ASSIGNMENT.sub(_redact_assignment, text)
    return text
