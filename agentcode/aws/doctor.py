"""`agentcode doctor`'s checks of AWS: region, credentials and (``--online``) who they are.

The ``doctor`` of both the ``bedrock`` provider and the ``agentcore`` sandbox: it runs once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from agentcode.registry.checks import Check, DoctorContext, Status, failed_or_warned


def check_aws(ctx: DoctorContext) -> Iterator[Check]:
    from agentcode.aws.session import aws_status

    needed = ctx.needed(model_prefix="bedrock", sandbox="agentcore")
    status = aws_status(ctx.settings)
    profile = f", profile {status.profile}" if status.profile else ""
    yield Check("aws region", Status.OK,
                f"{status.region.name} (from {status.region.source}){profile}; "
                "used by Bedrock and AgentCore")
    credentials = status.credentials
    bearer = os.environ.get("AWS_BEARER_TOKEN_BEDROCK")
    if credentials.found:
        yield Check("aws credentials", Status.OK, f"found: {credentials.source}")
    elif bearer:
        yield Check("aws credentials", Status.OK if not ctx.needed(sandbox="agentcore")
                    else Status.FAIL,
                    "only a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK): enough for Bedrock, "
                    "not for AgentCore",
                    "" if not ctx.needed(sandbox="agentcore")
                    else "configure AWS credentials for AgentCore (aws configure, aws sso login)")
    else:
        why = f" ({credentials.note})" if credentials.note else ""
        usage = ("needed: the configuration uses Bedrock or AgentCore" if needed
                 else "optional: only -m bedrock and --sandbox agentcore need them")
        yield Check("aws credentials", failed_or_warned(needed), f"none found{why}; {usage}",
                    "aws configure, aws sso login, AWS_PROFILE / --profile, or "
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if ctx.online and credentials.found:
        yield _caller_identity(ctx, needed)


def _caller_identity(ctx: DoctorContext, needed: bool) -> Check:
    from agentcode.aws.errors import describe
    from agentcode.aws.session import caller_identity

    try:
        return Check("aws identity", Status.OK, f"STS says: {caller_identity(ctx.settings)}")
    except Exception as exc:  # noqa: BLE001 - any failure is the report
        return Check("aws identity", failed_or_warned(needed),
                     f"STS GetCallerIdentity failed: {describe(exc)}",
                     "refresh the credentials (aws sso login, new keys) or check the network")
