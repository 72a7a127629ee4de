"""What the store does to text before it is written: cap its size, redact secrets.

Only the fields of an entry are ever stored (never the environment). On top of that, text that
happens to contain a secret -- a script that prints ``os.environ``, a prompt with a pasted key --
is redacted, because the history file outlives the terminal and is easy to share. What counts as a
secret is `agentcode.secrets`: token shapes (AWS, Bedrock API keys, GitHub, OpenAI, Slack, private
key blocks, ...), values assigned to secret-sounding names, and whatever the secret variables of
this process's environment hold.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentcode import secrets

OUTPUT_CAP_BYTES = 64 * 1024  # per stream (stdout, stderr)
CODE_CAP_BYTES = 1024 * 1024
PROMPT_CAP_BYTES = 64 * 1024

REDACTED = secrets.REDACTED


def redact(text: str, known: Sequence[str] | None = None) -> str:
    """Replace every secret `agentcode.secrets` recognises with ``[REDACTED]``.

    ``known`` is `agentcode.secrets.secret_values()`, read once for all the fields of an entry
    (reading the environment costs more than the patterns do); None reads it here.
    """
    return secrets.redact(text, known=secrets.secret_values() if known is None else known)


def cap(text: str, limit: int) -> tuple[str, int]:
    """Keep at most ``limit`` UTF-8 bytes of ``text``; return it and how many bytes were dropped.

    Undecodable bytes smuggled through ``surrogateescape`` become U+FFFD:
    SQLite only stores valid UTF-8.
    """
    data = _utf8(text)
    if len(data) <= limit:
        return data.decode("utf-8"), 0
    # Cut on a character boundary: a partial multi-byte sequence at the end is dropped too.
    kept = data[:limit].decode("utf-8", errors="ignore")
    return kept, len(data) - len(kept.encode("utf-8"))


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    try:  # bytes smuggled through surrogateescape: back to bytes, invalid ones to U+FFFD
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace").encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def clean(
    text: str | None, limit: int, known: Sequence[str] | None = None
) -> tuple[str | None, int]:
    """Redact, then cap (redaction first, so a cut never leaves half a secret behind)."""
    if text is None:
        return None, 0
    return cap(redact(text, known), limit)
