"""What a model provider declares: `ModelProvider`, one entry of `agentcode.models.registry`.

A provider answers the names ``<name>`` and ``<name>:<spec>``. Third-party packages declare one
as an entry point in the ``agentcode.models`` group (docs/extending.md)::

    [project.entry-points."agentcode.models"]
    echo = "agentcode_echo:PROVIDER"

Light on purpose: the CLI's help text reads these entries on every start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strands.models.model import Model

    from agentcode.config import Settings
    from agentcode.registry.checks import DoctorCheck

ModelFactory = Callable[[str | None, "Settings"], "Model"]
"""Builds a model from the part of the name after ``<name>:`` (None for the bare name)."""


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """One row of `agentcode models`: a name, whether it is usable here, and why (or why not)."""

    name: str
    available: bool
    detail: str
    extra: Mapping[str, Any] = field(default_factory=dict)  # JSON-ready, shown by --json only


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """A provider's offline check: its rows (the bare name first) and JSON-ready facts about it
    (e.g. Bedrock's region and credential source), reported under its name by --json."""

    rows: Sequence[ModelStatus]
    info: Mapping[str, Any] = field(default_factory=dict)


StatusCheck = Callable[["Settings"], ProviderStatus]


@dataclass(frozen=True, slots=True)
class ModelProvider:
    """A model provider: everything the CLI, `agentcode models` and validation need to know.

    - ``name``: the prefix of the model names it answers (an identifier).
    - ``description``: one line for help and `agentcode models`.
    - ``factory``: builds a strands `Model` for ``<name>:<spec>`` on first use (never at start-up).
    - ``forms``: the name forms it takes, for help text (default ``<name>:<model>``).
    - ``settings``: the environment variables and config keys it reads.
    - ``status``: an offline availability check (no network); None reports "not checked".
    - ``doctor``: what `agentcode doctor` checks for it (`agentcode.registry.checks`); None:
      its ``status`` rows become the doctor's lines.
    - ``spec``: what goes after ``<name>:``, for error messages (e.g. "a model id").
    - ``bare``: whether the bare ``<name>`` is a model (``local``: the default weights).
    - ``expand``: turns the bare name into a chain of names (``bedrock``: the default chain).
    - ``hint``: how to fix an error only the user can fix (credentials), shown once per chain.
    """

    name: str
    description: str
    factory: ModelFactory
    forms: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    status: StatusCheck | None = None
    spec: str = "a model name"
    bare: bool = False
    expand: Callable[[Settings], Sequence[str]] | None = None
    hint: str | None = None
    doctor: DoctorCheck | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"a model provider's name must be an identifier, not {self.name!r}")

    @property
    def name_forms(self) -> tuple[str, ...]:
        return self.forms or (f"{self.name}:<model>",)


def model_label(model: Model, name: str | None = None) -> str:
    """The name a model goes by in attempts, results and the history, computed here only.

    Asked by ``name``: that name, refined by the model's own id when the id extends it
    (``local`` -> ``local:qwen2.5-coder-1.5b``). A model instance given directly:
    ``<class>:<model_id>``, e.g. ``FakeModel:fake``.
    """
    try:
        config = model.get_config()
        own = config.get("model_id") if isinstance(config, dict) else None
    except Exception:  # noqa: BLE001 - a label must never fail the call
        own = None
    own = own if isinstance(own, str) and own else None
    if name is not None:
        return own if own is not None and own.startswith(f"{name}:") else name
    return f"{type(model).__name__}:{own}" if own else type(model).__name__
