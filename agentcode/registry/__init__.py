"""One registry shape for model providers and sandbox backends: `Registry`.

An entry comes from one of three places, looked up in this order: built in, registered in this
process (`Registry.register`: scripts and tests), or an installed package's entry point (a
third-party plugin, docs/extending.md). Installed packages are scanned only for a name that is
neither, or to list everything (`Registry.all`), so `agentcode run` stays light.

`Registry.find` returns the entry or raises: `UnknownName` (a `ConfigError`, exit 2, naming the
choices and the nearest one) for a name nobody answers, `ConfigError` for a plugin that fails to
load. `Registry.all` never raises: a plugin that fails to load is a `PluginFailure` row.

Every entry says what `agentcode doctor` checks for it (``doctor``, see
`agentcode.registry.checks`); a plugin reads its own settings from the config file's
``[plugins.NAME]`` table (`Settings.plugin`), so it needs no field of its own in `Settings`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from agentcode.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from agentcode.registry.checks import DoctorCheck


class Entry(Protocol):
    """What every entry has: a name, a line about it, and its `agentcode doctor` checks."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def doctor(self) -> DoctorCheck | None: ...


E = TypeVar("E", bound=Entry)


@dataclass(frozen=True, slots=True)
class PluginFailure:
    """An installed plugin that could not be loaded, as `Registry.all` lists it."""

    name: str
    target: str  # the entry point's value, ``module:attribute``
    reason: str


@dataclass(frozen=True, slots=True)
class Lazy:
    """The function ``module:attribute``, imported when first called (so that listing the
    entries stays light); two are equal when they name the same function."""

    target: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, _, attribute = self.target.partition(":")
        return getattr(import_module(module), attribute)(*args, **kwargs)

    @property
    def __name__(self) -> str:  # what a failing doctor check is called
        return self.target.rpartition(":")[2]


def lazy_exports(package: str, exports: Mapping[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each name of ``exports`` (name -> the
    module that defines it) is imported on first use, so importing the package stays light."""
    module = sys.modules[package]

    def __getattr__(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(target), name)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(module)) | set(exports))

    return __getattr__, __dir__


class UnknownName(ConfigError):
    """No entry answers this name."""


class Registry(Generic[E]):
    """The entries of one kind (``"model"``, ``"sandbox"``).

    ``load(name, target, loaded)`` turns what an entry point loaded into an entry (or raises
    `TypeError`); ``forms(entry)`` are the name forms shown as choices (default: its name).
    """

    def __init__(self, kind: str, group: str, builtin: Sequence[E], *,
                 load: Callable[[str, str, Any], E],
                 forms: Callable[[E], Sequence[str]] = lambda entry: (entry.name,)) -> None:
        self.kind = kind
        self.group = group
        self.builtin = tuple(builtin)
        self._load = load
        self._forms = forms
        self._registered: dict[str, E] = {}
        self._installed: dict[str, E] = {}  # plugins loaded so far

    def register(self, entry: E) -> None:
        """Make ``entry.name`` usable in this process."""
        if any(builtin.name == entry.name for builtin in self.builtin):
            raise ValueError(f"cannot register {self.kind} {entry.name!r}: it is built in")
        self._registered[entry.name] = entry

    def unregister(self, name: str) -> None:
        self._registered.pop(name, None)

    def known(self) -> list[E]:
        """The built-in and registered entries (installed plugins: `all`)."""
        return [*self.builtin, *self._registered.values()]

    def choices(self) -> str:
        """The name forms of `known`, for help text and errors."""
        return ", ".join(form for entry in self.known() for form in self._forms(entry))

    def find(self, name: str, *, rest: str = "") -> E:
        """The entry called ``name``; ``rest`` is what followed it (``bedrock`` + ``:id``),
        shown in the error."""
        for entry in self.known():
            if entry.name == name:
                return entry
        found = self._installed.get(name) or self._plugin(name)
        if found is None:
            names = [entry.name for entry in self.all()]
            raise UnknownName(f"unknown {self.kind} {name + rest!r}"
                              f"{did_you_mean(name, names, suffix=rest)}: "
                              f"choose one of {self.choices()}")
        return found

    def all(self) -> list[E | PluginFailure]:
        """Every entry: built in, registered here, then installed plugins (loaded to list them)."""
        from importlib.metadata import entry_points

        found: list[E | PluginFailure] = [*self.known()]
        seen = {entry.name for entry in self.known()}
        for point in entry_points(group=self.group):
            if point.name in seen:
                continue
            seen.add(point.name)
            try:
                found.append(self._load(point.name, point.value, point.load()))
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the others
                found.append(PluginFailure(point.name, point.value,
                                           f"{type(exc).__name__}: {exc}"))
        return found

    def _plugin(self, name: str) -> E | None:
        from importlib.metadata import entry_points

        for point in entry_points(group=self.group, name=name):
            try:
                entry = self._load(point.name, point.value, point.load())
            except Exception as exc:  # noqa: BLE001 - any failure of a third party's import
                raise ConfigError(f"the {self.kind} plugin {name!r} ({point.value}) failed to "
                                  f"load: {type(exc).__name__}: {exc}") from None
            self._installed[name] = entry
            return entry
        return None
