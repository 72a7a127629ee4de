"""The one retry policy: how often and how long to retry a call that failed transiently.

Used by the model router for every model (Bedrock, local, OpenAI-compatible) and by the AgentCore
sandbox; what counts as transient is each caller's classification (`agentcode.aws.errors` for AWS).
botocore's own retries are off in every client we build, so this is the only layer that retries.
tenacity does the work: exponential backoff with jitter, bounded by attempts and by seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcode.config import Settings


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries of one call.

    ``attempts`` counts calls including the first; waits grow from ``initial_delay`` doubling up
    to ``max_delay``, plus up to ``jitter`` seconds at random; a retry whose wait would cross
    ``budget_seconds`` (counted from the first call) is not made. ``reasks`` is for models only:
    how many times a model whose reply had no usable Python is asked again before the next one.
    """

    attempts: int = 4
    initial_delay: float = 1.0
    max_delay: float = 20.0
    jitter: float = 1.0
    budget_seconds: float = 60.0
    reasks: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The models' policy: ``model_attempts`` and ``model_retry_seconds``."""
        return cls(
            attempts=max(1, settings.model_attempts),
            budget_seconds=max(0.0, settings.model_retry_seconds),
        )

    def stop(self) -> Any:
        """tenacity's stop condition for this policy."""
        from tenacity import stop_after_attempt, stop_before_delay

        return stop_after_attempt(self.attempts) | stop_before_delay(self.budget_seconds)

    def wait(self) -> Any:
        """tenacity's wait strategy for this policy."""
        from tenacity import wait_exponential_jitter

        return wait_exponential_jitter(
            multiplier=self.initial_delay, max=self.max_delay, jitter=self.jitter
        )


# AgentCore calls are quick to fail and a user is waiting on the terminal: retry sooner, less.
AGENTCORE_RETRY = RetryPolicy(
    attempts=4, initial_delay=0.5, max_delay=8.0, jitter=0.5, budget_seconds=30.0
)
