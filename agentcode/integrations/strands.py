"""agentcode as a code interpreter for strands agents: a tool provider, one session per agent.

    from strands import Agent
    from agentcode.integrations.strands import AgentcodeInterpreter

    agent = Agent(tools=[AgentcodeInterpreter()])
    agent("What is the 30th Fibonacci number? Compute it.")

The agent gets one tool, ``execute_python``, whose result has the shape `agentcode mcp` gives
(`agentcode.api.tool_result`): the JSON of stdout, stderr, the last value and the error as text,
figures as PNG images, status "error" when the code raised or timed out. Each agent that uses the
provider gets its own stateful session (variables persist across its calls, never across agents);
it closes when the agent is cleaned up or collected, or with `AgentcodeInterpreter.close`.
Any strands model that calls tools works with it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

from strands import tool
from strands.tools.tool_provider import ToolProvider
from strands.types.tools import AgentTool, ToolContext

from agentcode import ExecutionTimeoutError, Session, Settings, UsageError
from agentcode.api.tool_result import ToolOutcome, execution_outcome, timeout_outcome

DESCRIPTION = """\
Run Python code in an isolated sandbox (no network, no access to the host's files) and return
stdout, stderr, the value of the last line if it is a bare expression and, if the code raised,
the error with its traceback, as JSON. Variables, imports and files persist between calls, like
notebook cells. matplotlib figures come back as images. Status "error" means the code raised,
exited non-zero or timed out: read the traceback, fix the code and run it again.
"""


class _AgentSession:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.lock = threading.Lock()  # strands may run an agent's tool calls concurrently


class AgentcodeInterpreter(ToolProvider):
    """A strands tool provider: ``execute_python`` in one agentcode Session per agent.

    ``sandbox``: "local" (bubblewrap, the default from settings) or "agentcore";
    ``timeout``: seconds per execution (default from settings, 30).
    """

    def __init__(self, sandbox: str | None = None, *, settings: Settings | None = None,
                 timeout: float | None = None) -> None:
        if settings is None:
            from agentcode import load_settings

            settings = load_settings()
        self.settings = settings
        self.sandbox = sandbox
        self.timeout = timeout
        self._sessions: weakref.WeakKeyDictionary[Any, _AgentSession] = (
            weakref.WeakKeyDictionary())
        self._consumers: set[Any] = set()
        self._lock = threading.Lock()
        self.execute_python = self._build_tool()

    async def load_tools(self, **kwargs: Any) -> Sequence[AgentTool]:
        return [self.execute_python]

    def add_consumer(self, consumer_id: Any, **kwargs: Any) -> None:
        self._consumers.add(consumer_id)

    def remove_consumer(self, consumer_id: Any, **kwargs: Any) -> None:
        """An agent is done with the provider; the last one leaving closes every session."""
        self._consumers.discard(consumer_id)
        if not self._consumers:
            self.close()

    def close(self) -> None:
        """Close every agent's session (their variables and files are gone)."""
        with self._lock:
            held = list(self._sessions.values())
            self._sessions.clear()
        for entry in held:
            with entry.lock:
                entry.session.close()

    def session_for(self, agent: Any) -> Session:
        """The agent's session, opened on its first call."""
        return self._entry(agent).session

    def _entry(self, agent: Any) -> _AgentSession:
        with self._lock:
            entry = self._sessions.get(agent)
            if entry is None:
                entry = _AgentSession(Session(self.sandbox, settings=self.settings))
                self._sessions[agent] = entry
                # A collected agent leaves no jail behind.
                weakref.finalize(agent, entry.session.close)
            return entry

    def run(self, agent: Any, code: str, *, stdin: str | None = None,
            timeout: float | None = None) -> ToolOutcome:
        """Run ``code`` in ``agent``'s session; the code's failures are results, not raised."""
        entry = self._entry(agent)
        with entry.lock:
            try:
                execution = entry.session.execute(
                    code, stdin=stdin, timeout=timeout if timeout is not None else self.timeout)
            except ExecutionTimeoutError as exc:
                return timeout_outcome(exc)
        return execution_outcome(execution)

    def _build_tool(self) -> AgentTool:
        def execute_python(code: str, tool_context: ToolContext, stdin: str | None = None,
                           timeout: float | None = None) -> dict[str, Any]:
            """Run Python code in this agent's sandbox session.

            Args:
                code: Python 3 source to run. If the last line is a bare expression its repr()
                    is returned as "value".
                stdin: Text the code reads from sys.stdin.
                timeout: Wall-clock limit in seconds; past it the code is interrupted.
            """
            try:
                outcome = self.run(tool_context.agent, code, stdin=stdin, timeout=timeout)
            except UsageError as exc:
                return {"status": "error", "content": [{"text": str(exc)}]}
            return strands_result(outcome)

        return tool(name="execute_python", description=DESCRIPTION, context=True)(execute_python)


def strands_result(outcome: ToolOutcome) -> dict[str, Any]:
    """A strands tool result with the content an MCP client gets from `agentcode mcp`."""
    content: list[dict[str, Any]] = [{"text": outcome.text()}]
    content += [{"image": {"format": "png", "source": {"bytes": png}}} for png in outcome.images]
    return {"status": "error" if outcome.is_error else "success", "content": content}
