"""Settings for real local jails in tests: small tmpfs sizes and a short kill grace."""

from __future__ import annotations

from agentcode.config import Limits, Settings


def small_settings(*, timeout: float = 20.0, **limits: object) -> Settings:
    base: dict[str, object] = {"tmp_mb": 16, "shm_mb": 8, "workdir_mb": 32,
                               "kill_grace_seconds": 1.0}
    base.update(limits)
    return Settings(timeout=timeout, limits=Limits(**base))  # type: ignore[arg-type]
