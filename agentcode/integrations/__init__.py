"""Adapters that plug agentcode into other agent frameworks (strands)."""
