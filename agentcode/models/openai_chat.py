"""``openai:<model>``: any OpenAI-compatible chat endpoint, through strands' `OpenAIModel`.

OpenAI itself, or a server on this machine or the network: Ollama
(``OPENAI_BASE_URL=http://localhost:11434/v1``), vLLM, LM Studio, a llama.cpp server.

- Endpoint: ``openai_base_url`` (config key, ``AGENTCODE_OPENAI_BASE_URL``), else the standard
  ``OPENAI_BASE_URL``, else OpenAI's own (`DEFAULT_BASE_URL`).
- Key: ``openai_api_key`` (config key, ``AGENTCODE_OPENAI_API_KEY``), else ``OPENAI_API_KEY``.
  OpenAI's endpoint needs one; a server of your own usually does not (a placeholder is sent).
- Replies stream. The OpenAI client's own retries are off: `agentcode.models.router` retries
  429 and 5xx, and falls back on 401/403/404 and on a refused connection
  (`agentcode.models.failures`).

Needs the ``openai`` extra (`agentcode.config.install.install_hint` says how to add it); this
module imports neither strands nor openai until a model is made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentcode.config.install import install_hint
from agentcode.errors import ModelUnavailableError

if TYPE_CHECKING:
    from strands.models.openai import OpenAIModel

    from agentcode.config import Settings
    from agentcode.models.provider import ProviderStatus

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Without a key the client refuses to start; servers of one's own ignore what is sent.
PLACEHOLDER_KEY = "unused"
TEMPERATURE = 0.2
READ_TIMEOUT_SECONDS = 120.0
CONNECT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where ``openai:`` models are asked, with where each setting came from."""

    base_url: str
    base_url_source: str
    api_key: str | None
    api_key_source: str | None

    @property
    def is_openai(self) -> bool:
        return self.base_url.rstrip("/") == DEFAULT_BASE_URL

    @property
    def missing_key(self) -> bool:
        """OpenAI's own endpoint without a key: no call can succeed."""
        return self.is_openai and not self.api_key


def endpoint(settings: Settings) -> Endpoint:
    """The endpoint and key from settings, then the standard variables, then the default."""
    if settings.openai_base_url:
        url, url_source = settings.openai_base_url, "openai_base_url"
    elif os.environ.get("OPENAI_BASE_URL"):
        url, url_source = os.environ["OPENAI_BASE_URL"], "OPENAI_BASE_URL"
    else:
        url, url_source = DEFAULT_BASE_URL, "default"
    if settings.openai_api_key:
        key, key_source = settings.openai_api_key, "openai_api_key"
    elif os.environ.get("OPENAI_API_KEY"):
        key, key_source = os.environ["OPENAI_API_KEY"], "OPENAI_API_KEY"
    else:
        key, key_source = None, None
    return Endpoint(url, url_source, key, key_source)


def create_openai_model(model: str | None, settings: Settings) -> OpenAIModel:
    """The registry's factory for ``openai:<model>``."""
    if not model:
        raise ModelUnavailableError("openai: needs a model name, e.g. openai:gpt-4o-mini")
    where = endpoint(settings)
    if where.missing_key:
        raise ModelUnavailableError(
            "no OpenAI API key: set OPENAI_API_KEY, or OPENAI_BASE_URL for a server of your own"
        )
    try:
        import httpx
        from strands.models.openai import OpenAIModel
    except ImportError as exc:
        raise ModelUnavailableError(
            f"the openai provider is not installed ({exc}): {install_hint('openai')}"
        ) from None
    client_args = {
        "base_url": where.base_url,
        "api_key": where.api_key or PLACEHOLDER_KEY,
        "max_retries": 0,  # the router retries, with its own budget
        "timeout": httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
    }
    return OpenAIModel(client_args=client_args, model_id=model,
                       params={"temperature": TEMPERATURE})


def openai_provider_status(settings: Settings) -> ProviderStatus:
    """`agentcode models`: the endpoint and whether a key is set (offline: nothing is called)."""
    from importlib.util import find_spec

    from agentcode.models.provider import ModelStatus, ProviderStatus

    where = endpoint(settings)
    installed = find_spec("openai") is not None
    key = f"key from {where.api_key_source}" if where.api_key else "no API key"
    detail = f"{where.base_url} (from {where.base_url_source}); {key}"
    if not installed:
        detail += f"; not installed: {install_hint('openai')}"
    elif where.missing_key:
        detail += ": set OPENAI_API_KEY, or OPENAI_BASE_URL for a server of your own"
    available = installed and not where.missing_key
    info = {"base_url": where.base_url, "base_url_source": where.base_url_source,
            "api_key_source": where.api_key_source, "installed": installed}
    return ProviderStatus([ModelStatus("openai:<model>", available, detail)], info)
