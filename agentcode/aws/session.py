"""The boto3 session, client settings and an offline look at the credentials.

Credentials come from boto3's own chain (``--profile`` / ``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``
..., the shared files, SSO, a credential process, container or instance roles); the region from
`agentcode.aws.region`, so both services agree on it. botocore's own retries are switched off in
every client agentcode builds: `agentcode.aws.retry` is the one retry policy.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentcode.aws.region import Region, profile_name, resolve_region

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

    from agentcode.config import Settings

USER_AGENT = "agentcode"


def boto_session(settings: Settings, region: Region | None = None) -> boto3.Session:
    """A boto3 session for the configured profile and the resolved region.

    Raises botocore's ``ProfileNotFound`` for an unknown profile (the callers say it their way).
    """
    import boto3

    region = region or resolve_region(settings)
    return boto3.Session(profile_name=settings.profile or None, region_name=region.name)


def client_config(*, read_timeout: float, connect_timeout: float = 10.0) -> Config:
    """botocore client settings: one attempt per call (we retry), the given timeouts."""
    from botocore.config import Config

    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        read_timeout=read_timeout,
        connect_timeout=connect_timeout,
        user_agent_extra=USER_AGENT,
    )


@dataclass(frozen=True, slots=True)
class CredentialStatus:
    """How credentials would be found (``"env"``, ``"sso"``, ...), or None and why not."""

    source: str | None
    note: str = ""

    @property
    def found(self) -> bool:
        return self.source is not None


# Providers that run a command or call an endpoint (container, EC2 instance metadata): a status
# check must stay offline and fast, so they are reported, not run.
_NETWORK_PROVIDERS = ("custom-process", "container-role", "iam-role")


def credential_status(settings: Settings) -> CredentialStatus:
    """The AWS credential source for ``settings``, from local configuration only."""
    import botocore.session

    session = botocore.session.Session(profile=settings.profile or None)
    try:
        resolver = session.get_component("credential_provider")
        for name in _NETWORK_PROVIDERS:
            with contextlib.suppress(Exception):  # absent in some botocore versions
                resolver.remove(name)
        credentials = resolver.load_credentials()
    except Exception as exc:  # noqa: BLE001 - a broken profile is a status, not a crash
        return CredentialStatus(None, f"{type(exc).__name__}: {exc}")
    if credentials is not None:
        return CredentialStatus(str(getattr(credentials, "method", "found")))
    return _unchecked_source(session)


def _unchecked_source(session: Any) -> CredentialStatus:
    """Credential sources deliberately not run: say they may apply."""
    try:
        profile_config = session.get_scoped_config()
    except Exception:  # noqa: BLE001
        profile_config = {}
    if profile_config.get("credential_process"):
        return CredentialStatus("credential_process (not run)")
    if os.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or os.environ.get(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    ):
        return CredentialStatus("container credentials (not checked)")
    return CredentialStatus(None, "EC2 instance metadata not checked")


@dataclass(frozen=True, slots=True)
class AwsStatus:
    """What `agentcode models` and `agentcode doctor` say about AWS, found offline."""

    region: Region
    profile: str | None
    credentials: CredentialStatus


def aws_status(settings: Settings) -> AwsStatus:
    return AwsStatus(resolve_region(settings), profile_name(settings), credential_status(settings))


def caller_identity(settings: Settings) -> str:
    """The ARN the credentials belong to (one STS call: `agentcode doctor --online`)."""
    session = boto_session(settings)
    client = session.client("sts", config=client_config(read_timeout=10.0, connect_timeout=5.0))
    return str(client.get_caller_identity()["Arn"])
