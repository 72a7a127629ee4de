"""Fixtures for the local sandbox tests: real bubblewrap jails with small, fast limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jail_helpers import small_settings

from agentcode.config import Settings
from agentcode.sandbox.local.session import LocalSandboxSession


@pytest.fixture
def jail_settings() -> Settings:
    return small_settings()


@pytest.fixture
def jail(jail_settings: Settings) -> Iterator[LocalSandboxSession]:
    session = LocalSandboxSession(jail_settings)
    try:
        yield session
    finally:
        session.close()
