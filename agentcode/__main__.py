"""`python -m agentcode`."""

from agentcode.cli.entry import entry

entry()
