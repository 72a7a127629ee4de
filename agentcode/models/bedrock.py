"""Amazon Bedrock models through strands-agents' `BedrockModel`.

Session, credentials and region come from `agentcode.aws` (the same as AgentCore's): ``--region``
/ ``--profile`` (settings ``region`` / ``profile``), then ``AWS_REGION``, ``AWS_DEFAULT_REGION``,
the profile, and the documented default, us-west-2, where the default chain's inference profiles
are served. A Bedrock API key (``AWS_BEARER_TOKEN_BEDROCK``) is used by botocore when set.

botocore's own retries are switched off (one attempt per call): `agentcode.models.router` owns
retry and fallback, so a throttled call is not retried 3 x 4 times behind its back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentcode.aws.region import DEFAULT_REGION

if TYPE_CHECKING:
    import boto3
    from strands.models.bedrock import BedrockModel

    from agentcode.config import Settings
    from agentcode.models.provider import ProviderStatus

__all__ = ["DEFAULT_CHAIN", "DEFAULT_REGION", "bedrock_provider_status", "bedrock_session",
           "bedrock_status", "create_bedrock_model", "create_bedrock_model_for"]

DEFAULT_CHAIN: tuple[str, ...] = (
    "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "us.amazon.nova-premier-v1:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
)
MAX_TOKENS = 4096
READ_TIMEOUT_SECONDS = 120
CONNECT_TIMEOUT_SECONDS = 10
BEARER_TOKEN_ENV = "AWS_BEARER_TOKEN_BEDROCK"


def bedrock_session(settings: Settings) -> boto3.Session:
    """A boto3 session for the configured profile, always with a region (ProfileNotFound)."""
    from agentcode.aws.session import boto_session

    return boto_session(settings)


def create_bedrock_model(
    model_id: str, settings: Settings, *, session: boto3.Session | None = None
) -> BedrockModel:
    """A strands `BedrockModel` for ``model_id``, without botocore-level retries.

    ``session`` lets callers share one boto3 session across the chain (and tests inject one whose
    client they stub with botocore's ``Stubber`` through ``model.client``).
    """
    from strands.models.bedrock import BedrockModel

    from agentcode.aws.session import client_config

    session = session or bedrock_session(settings)
    return BedrockModel(
        boto_session=session,
        boto_client_config=client_config(
            read_timeout=READ_TIMEOUT_SECONDS, connect_timeout=CONNECT_TIMEOUT_SECONDS
        ),
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


def bedrock_status(settings: Settings) -> BedrockStatus:
    """Region and credential source for Bedrock, from local configuration only."""
    from agentcode.aws.session import aws_status

    status = aws_status(settings)
    region, source = status.region.name, status.region.source
    if os.environ.get(BEARER_TOKEN_ENV):
        return BedrockStatus(region, source, f"Bedrock API key ({BEARER_TOKEN_ENV})")
    return BedrockStatus(region, source, status.credentials.source, status.credentials.note)


def create_bedrock_model_for(model_id: str | None, settings: Settings) -> BedrockModel:
    """The registry's factory for ``bedrock:<model id>`` (the bare name expands to the chain)."""
    return create_bedrock_model(model_id or DEFAULT_CHAIN[0], settings)


def bedrock_provider_status(settings: Settings) -> ProviderStatus:
    """`agentcode models`: the chain, then each of its models, with region and credentials."""
    from agentcode.models.provider import ModelStatus, ProviderStatus

    status = bedrock_status(settings)
    where = f"region {status.region} (from {status.region_source})"
    creds = (f"credentials: {status.credentials}" if status.credentials
             else "no credentials found" + (f" ({status.note})" if status.note else ""))
    rows = [ModelStatus("bedrock", status.ready,
                        "the chain " + " -> ".join(DEFAULT_CHAIN) + f"; {where}; {creds}")]
    rows += [ModelStatus(f"bedrock:{model_id}", status.ready, f"{where}; {creds}")
             for model_id in DEFAULT_CHAIN]
    info = {"region": status.region, "region_source": status.region_source,
            "credentials": status.credentials, "note": status.note}
    return ProviderStatus(rows, info)
