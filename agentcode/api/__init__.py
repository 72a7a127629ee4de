"""The public layer: `generate`, `agenerate`, `execute` and `Session`, exported by `agentcode`.

The only layer that records history. Its modules are named for what they hold
(`generation`, `execution`, `session`) so that no module shadows a public function.
"""
