"""The checks a candidate program meets, each in its own module (see `agentcode.generation`)."""
