"""The parts of a profile that every format's guess shares."""

from __future__ import annotations

from dataclasses import dataclass

PROFILE_BYTES = 256 * 1024
MAX_ROWS = 2000
MAX_COLUMNS = 25
MAX_KEYS = 25
MAX_DESCRIPTION = 1500
SHOWN_VALUES = 6


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column: its name (or ``column N`` without a header), the kind of its values, how
    many cells are missing (empty, ``NA``, ``null``, ...) and what does not fit the kind."""

    name: str
    kind: str
    missing: int = 0
    note: str = ""

    def describe(self) -> str:
        extra = [self.note] if self.note else []
        if self.missing:
            extra.append(f"{self.missing} missing")
        return f"{self.name} ({'; '.join([self.kind, *extra])})"


@dataclass(frozen=True, slots=True)
class Found:
    """What a guess at one format found (`Profile`'s fields of that format)."""

    format: str
    facts: tuple[str, ...]
    notes: tuple[str, ...] = ()
    delimiter: str | None = None
    header: bool | None = None
    rows: int | None = None
    columns: tuple[Column, ...] = ()
    keys: tuple[str, ...] = ()


Guess = Found | None

