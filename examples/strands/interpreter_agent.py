"""A strands agent with agentcode's sandbox as its code interpreter (in process, no MCP).

    AWS_REGION=us-west-2 python examples/strands/interpreter_agent.py

The agent's model must make tool calls: strands' default (Amazon Bedrock) does; so do OpenAI
models (strands.models.openai.OpenAIModel). The embedded Qwen does not (docs/agents.md).
"""

from __future__ import annotations

import sys
from typing import Any

from strands import Agent

from agentcode.integrations.strands import AgentcodeInterpreter


def main(model: Any = None) -> str:
    interpreter = AgentcodeInterpreter()  # or AgentcodeInterpreter("agentcore", timeout=120)
    agent = Agent(model=model, tools=[interpreter], callback_handler=None)
    try:
        first = agent("What is the 30th Fibonacci number? Compute it, don't guess.")
        # The same session: the variables of the first answer are still there.
        second = agent("Now the 31st, reusing what you computed.")
    finally:
        agent.cleanup()  # closes the agent's sandbox session
    return f"{first}\n{second}"


if __name__ == "__main__":
    print(main())
    sys.exit(0)
