"""Everything agentcode knows about AWS, shared by Bedrock (models) and AgentCore (sandbox).

- `agentcode.aws.region`: which region, and where that choice came from;
- `agentcode.aws.session`: the boto3 session (profile, env, SSO), client settings, and an offline
  look at the credentials;
- `agentcode.aws.errors`: what a botocore exception means (one table for both services);
- `agentcode.aws.retry`: the one retry policy (tenacity), used for every model and AgentCore.

Nothing here imports boto3 at module level: `agentcode run` on the local sandbox never loads it.
"""
