"""Amazon Bedrock models through strands-agents' `BedrockModel`.

Region and credentials come from the standard boto3 chain: ``--region`` / ``--profile`` (settings
``region`` / ``profile``), then ``AWS_REGION``, ``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID`` ..., the
shared config and credentials files, SSO, and so on. With no region anywhere we use strands'
default, us-west-2, where the default chain's inference profiles are served.

botocore's own retries are switched off (one attempt per call): `agentcode.models.router` owns
retry and fallback, so a throttled call is not retried 3 x 4 times behind its back.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import boto3
    from strands.models.bedrock import BedrockModel

    from agentcode.config import Settings

DEFAULT_CHAIN: tuple[str, ...] = (
    "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "us.amazon.nova-premier-v1:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
)
DEFAULT_REGION = "us-west-2"
MAX_TOKENS = 4096
READ_TIMEOUT_SECONDS = 120
CONNECT_TIMEOUT_SECONDS = 10
BEARER_TOKEN_ENV = "AWS_BEARER_TOKEN_BEDROCK"


def bedrock_session(settings: Settings) -> boto3.Session:
    """A boto3 session for the configured profile, always with a region (ProfileNotFound)."""
    import boto3

    session = boto3.Session(profile_name=settings.profile, region_name=settings.region)
    if session.region_name is None:
        region = os.environ.get("AWS_REGION") or DEFAULT_REGION
        session = boto3.Session(profile_name=settings.profile, region_name=region)
    return session


def create_bedrock_model(
    model_id: str, settings: Settings, *, session: boto3.Session | None = None
) -> BedrockModel:
    """A strands `BedrockModel` for ``model_id``, without botocore-level retries.

    ``session`` lets callers share one boto3 session across the chain (and tests inject one whose
    client they stub with botocore's ``Stubber`` through ``model.client``).
    """
    from botocore.config import Config
    from strands.models.bedrock import BedrockModel

    session = session or bedrock_session(settings)
    client_config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        read_timeout=READ_TIMEOUT_SECONDS,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )
    return BedrockModel(
        boto_session=session,
        boto_client_config=client_config,
        model_id=model_id,
        max_tokens=MAX_TOKENS,
        temperature=0.2,
    )


@dataclass(slots=True)
class BedrockStatus:
    """What `agentcode models` reports about Bedrock, found without any network call."""

    region: str
    region_source: str
    credentials: str | None  # how they would be found ("env", "shared-credentials-file", ...)
    note: str = ""

    @property
    def ready(self) -> bool:
        return self.credentials is not None


# Providers that run a command or call an endpoint (container, EC2 instance metadata) to load
# credentials: `agentcode models` must stay offline and fast, so they are reported, not run.
_NETWORK_PROVIDERS = ("custom-process", "container-role", "iam-role")


def bedrock_status(settings: Settings) -> BedrockStatus:
    """Region and credential source for Bedrock, from local configuration only."""
    import botocore.session
    from botocore.exceptions import BotoCoreError

    session = botocore.session.Session(profile=settings.profile)
    try:
        configured_region = session.get_config_variable("region")
    except BotoCoreError as exc:  # e.g. ProfileNotFound
        return BedrockStatus(settings.region or DEFAULT_REGION, "flag", None, str(exc))
    if settings.region:
        region, source = settings.region, "--region / config"
    elif configured_region:
        region, source = configured_region, "AWS config or environment"
    else:
        region, source = DEFAULT_REGION, "default"

    if os.environ.get(BEARER_TOKEN_ENV):
        return BedrockStatus(region, source, f"Bedrock API key ({BEARER_TOKEN_ENV})")
    try:
        resolver = session.get_component("credential_provider")
        for name in _NETWORK_PROVIDERS:
            with contextlib.suppress(Exception):  # absent in some botocore versions
                resolver.remove(name)
        credentials = resolver.load_credentials()
    except Exception as exc:  # noqa: BLE001 - a broken profile is a status, not a crash
        return BedrockStatus(region, source, None, f"{type(exc).__name__}: {exc}")
    if credentials is not None:
        return BedrockStatus(region, source, str(getattr(credentials, "method", "found")))
    return BedrockStatus(region, source, *_unchecked_source(session))


def _unchecked_source(session: object) -> tuple[str | None, str]:
    """Credential sources we deliberately do not run: say they may apply."""
    try:
        profile_config = session.get_scoped_config()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        profile_config = {}
    if profile_config.get("credential_process"):
        return "credential_process (not run)", ""
    if os.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or os.environ.get(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    ):
        return "container credentials (not checked)", ""
    return None, "EC2 instance metadata not checked"
