"""The AWS region, the same for Bedrock and AgentCore, and where it came from.

Order: the ``region`` setting (``--region``, then ``AGENTCODE_REGION``, then ``region`` in
config.toml) > ``AWS_REGION`` > ``AWS_DEFAULT_REGION`` > the profile's ``region`` in the AWS
config file > `DEFAULT_REGION`. boto3 itself reads only ``AWS_DEFAULT_REGION`` and the profile,
so ``AWS_REGION`` alone (the variable most AWS SDKs and Lambda set) used to be ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentcode.config import Settings

# Where the default Bedrock chain's inference profiles are served, and AgentCore runs.
DEFAULT_REGION = "us-west-2"


@dataclass(frozen=True, slots=True)
class Region:
    """A region name and where it came from (``"AWS_REGION"``, ``"default"``, ...)."""

    name: str
    source: str

    def __str__(self) -> str:
        return f"{self.name} (from {self.source})"


def resolve_region(settings: Settings) -> Region:
    """The region agentcode will use for AWS calls, found without any network call."""
    if settings.region and settings.region.strip():
        return Region(settings.region.strip(), _setting_source(settings.region.strip()))
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = os.environ.get(variable, "").strip()
        if value:
            return Region(value, variable)
    profile_region = _profile_region(settings.profile)
    if profile_region is not None:
        return profile_region
    return Region(DEFAULT_REGION, "default")


def profile_name(settings: Settings) -> str | None:
    """The AWS profile in use: the ``profile`` setting, else ``AWS_PROFILE`` (None: default)."""
    return (settings.profile or "").strip() or os.environ.get("AWS_PROFILE", "").strip() or None


def _setting_source(value: str) -> str:
    """Which of agentcode's own sources set ``region`` (flag > env > file)."""
    env = os.environ.get("AGENTCODE_REGION", "").strip()
    if env:
        return "AGENTCODE_REGION" if env == value else "--region"
    from agentcode.config import config_path

    path = config_path()
    try:
        import tomllib

        in_file = tomllib.loads(path.read_text(encoding="utf-8")).get("region")
    except (OSError, ValueError):
        in_file = None
    return f"region in {path}" if in_file == value else "--region"


def _profile_region(profile: str | None) -> Region | None:
    import botocore.session
    from botocore.exceptions import BotoCoreError

    session = botocore.session.Session(profile=profile or None)
    try:
        value = session.get_scoped_config().get("region")
    except BotoCoreError:  # e.g. ProfileNotFound: said when the session is made, not here
        return None
    if not value:
        return None
    name = session.profile or "default"
    return Region(str(value), f"profile '{name}' in the AWS config file")
