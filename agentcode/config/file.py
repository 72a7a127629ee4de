"""The config file checked by pydantic: a wrong key or type is one line naming file, key and type.

The pydantic model is built from the `Settings` and `Limits` dataclasses themselves (given by
`agentcode.config`, which this module must not import back), so a new setting needs no second
declaration here. TOML values are typed, so the check is strict: ``timeout
= "soon"`` or ``history = 1`` are mistakes, not values to guess at (an integer is a number, and
``model`` may be one name or a list).

pydantic costs ~40 ms to import, which `agentcode run` must not pay on every start: a file that
passed is remembered by the hash of its bytes (a stamp in the cache dir), and only a new or edited
file is checked again.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agentcode.errors import ConfigError

_STAMP_NAME = "config-checked"


def check(path: Path, raw: bytes, data: dict[str, Any], *, settings_type: type,
          stamp_dir: Callable[[], Path], problems: Sequence[Problem] = ()) -> None:
    """Raise `ConfigError` (one line, every mistake in it) unless ``data``, parsed from
    ``path``, fits ``settings_type`` (`Settings`) and there are no ``problems`` found before
    (each a ``(what, why)`` pair); a file that passed is stamped in ``stamp_dir()``."""
    shape = _Shape(settings_type)
    stamp = _stamp_path(stamp_dir)
    digest = _digest(shape, raw)
    if not problems and stamp is not None and _read(stamp) == digest:
        return
    found = [*problems, *_validate(shape, data)]
    if found:
        raise ConfigError(describe(path, found))
    if stamp is not None:
        _write(stamp, digest)


class _Shape:
    """The dataclasses the file must fit: `Settings` and the `Limits` of its ``limits`` field."""

    def __init__(self, settings_type: type) -> None:
        self.settings = settings_type
        self.limits: type = typing.get_type_hints(settings_type)["limits"]


# One mistake: what is wrong ("'timeout'", "unknown key 'x'") and why (" must be a number, ...").
Problem = tuple[str, str]


def describe(path: Path, problems: Sequence[Problem]) -> str:
    """One line for every mistake: the file is named once, so a user fixes them in one go."""
    if len(problems) == 1:
        what, why = problems[0]
        return f"{what} in {path}{why}"
    return f"{len(problems)} mistakes in {path}: " + "; ".join(w + y for w, y in problems)


def _validate(shape: _Shape, data: dict[str, Any]) -> list[Problem]:
    import pydantic

    try:
        _settings_model(shape).model_validate(_underscored(data))
    except pydantic.ValidationError as exc:
        found: dict[str, Problem] = {}
        for error in exc.errors():
            what, why = _describe(shape, error)
            found.setdefault(what, (what, why))  # a union reports each branch: keep the first
        return list(found.values())
    return []


def _underscored(data: Any) -> Any:
    """Keys as the dataclasses spell them: ``max-input-bytes`` is ``max_input_bytes``."""
    if isinstance(data, dict):
        return {str(k).replace("-", "_"): _underscored(v) for k, v in data.items()}
    return data


def _describe(shape: _Shape, error: Any) -> Problem:
    location = [str(part) for part in error["loc"] if not isinstance(part, int)]
    # A union (model = "x" or ["x"]) reports its branch as a location part: drop it.
    location = [part for part in location if part in _known_names(shape)]
    if error["type"] == "extra_forbidden":
        key = ".".join(str(part) for part in error["loc"])
        return f"unknown key '{key}'", _suggestion(shape, error["loc"])
    key = ".".join(location)
    expected = _expected(shape, location)
    return f"'{key}'", f" must be {expected}, not {error['input']!r}"


def _suggestion(shape: _Shape, loc: tuple[Any, ...]) -> str:
    names = [f.name for f in dataclasses.fields(shape.limits if len(loc) > 1 else shape.settings)]
    close = difflib.get_close_matches(str(loc[-1]).replace("-", "_"), names, n=1)
    if close:
        return f": did you mean '{close[0]}'?"
    return f": known keys are {', '.join(names)}"


_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _expected(shape: _Shape, location: list[str]) -> str:
    hints = typing.get_type_hints(shape.settings)
    if len(location) > 1:
        hints = typing.get_type_hints(shape.limits)
    annotation = hints.get(location[-1]) if location else None
    if annotation is shape.limits:
        return "a table ([limits])"
    if location == ["plugins"] or (location and location[0] == "plugins"):
        return "tables, one per plugin ([plugins.NAME])"
    if annotation == list[str]:
        return "a string or a list of strings"
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base: Any = args[0] if args else annotation
    return _TYPE_WORDS.get(base) or str(getattr(base, "__name__", base))


def _known_names(shape: _Shape) -> set[str]:
    return {f.name for cls in (shape.settings, shape.limits) for f in dataclasses.fields(cls)}


def _settings_model(shape: _Shape) -> Any:
    """The pydantic model of the config file, derived from the dataclasses."""
    import pydantic

    strict = pydantic.ConfigDict(extra="forbid", strict=True)

    def fields_of(cls: type, nested: dict[type, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, annotation in typing.get_type_hints(cls).items():
            if annotation in nested:
                annotation = nested[annotation]
            elif annotation == list[str]:
                annotation = list[str] | str  # `model = "bedrock"` is a chain of one
            out[name] = (annotation | None, None)
        return out

    limits = pydantic.create_model("Limits", __config__=strict, **fields_of(shape.limits, {}))
    return pydantic.create_model(
        "Settings", __config__=strict, **fields_of(shape.settings, {shape.limits: limits})
    )


def _digest(shape: _Shape, raw: bytes) -> str:
    # The fields are part of the key: a file valid for one version may not be for the next.
    fields = repr([(f.name, f.type) for c in (shape.settings, shape.limits)
                   for f in dataclasses.fields(c)])
    return hashlib.sha256(fields.encode() + b"\0" + raw).hexdigest()


def _stamp_path(stamp_dir: Callable[[], Path]) -> Path | None:
    try:
        return stamp_dir() / _STAMP_NAME
    except Exception:  # noqa: BLE001 - no cache dir: check every time
        return None


def _read(stamp: Path) -> str | None:
    try:
        return stamp.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _write(stamp: Path, digest: str) -> None:
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        partial = stamp.with_name(f".{stamp.name}.tmp")
        partial.write_text(digest + "\n", encoding="ascii")
        partial.replace(stamp)
    except OSError:
        pass  # a read-only cache: the next start checks again, nothing else changes
