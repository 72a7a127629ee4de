"""The AgentCore Code Interpreter backend: `session.AgentCoreSession`, its `errors` and `results`.

Imported only when that backend is chosen: it needs boto3 and the bedrock-agentcore SDK.
"""
