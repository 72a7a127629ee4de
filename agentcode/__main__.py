"""`python -m agentcode`."""

from agentcode.cli.app import entry

entry()
