"""What `agentcode doctor` reports, and the shape of a check that an entry declares.

A check is a function of a `DoctorContext` that yields `Check` lines. Each model provider and
sandbox backend names its own (``doctor`` on its registry entry); `agentcode.doctor` runs those
of every entry, once each, plus the history's.

Status: ``ok``; ``warn`` (something optional is missing, e.g. AWS credentials when nothing
configured uses AWS); ``fail`` (the default offline path or something configured is broken: exit
1). Every line that is not ok says the fix.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentcode.config import Settings


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, what was found, and the fix when not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail,
                "fix": self.fix}


@dataclass(slots=True)
class DoctorContext:
    """What every check may read: the settings, whether the network may be used."""

    settings: Settings
    online: bool = False

    def needed(self, *, model_prefix: str = "", sandbox: str = "") -> bool:
        """Whether the configured chain or sandbox uses this: its failure is then a failure."""
        if sandbox and self.settings.sandbox == sandbox:
            return True
        return bool(model_prefix) and any(
            name == model_prefix or name.startswith(model_prefix + ":")
            for name in self.settings.model
        )


DoctorCheck = Callable[[DoctorContext], Iterable[Check]]


def failed_or_warned(needed: bool) -> Status:
    """A problem is a failure when the configuration uses the thing, else a warning."""
    return Status.FAIL if needed else Status.WARN
