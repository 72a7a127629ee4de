"""agentcode as an MCP server (`agentcode mcp`): see agentcode.mcp.server and docs/agents.md."""
