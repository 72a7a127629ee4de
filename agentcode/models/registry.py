"""Model names -> router candidates, through one registry of providers.

Names, as given to ``-m``, ``AGENTCODE_MODEL`` or ``model = [...]`` in the config file:

- ``local``: the embedded model (``settings.local_model`` or the default weights);
- ``local:<name or path>``: a named embedded model or a GGUF file;
- ``bedrock``: the default Bedrock chain (`agentcode.models.bedrock.DEFAULT_CHAIN`);
- ``bedrock:<model id>``: one Bedrock model or inference profile;
- ``openai:<model>``: any OpenAI-compatible chat endpoint (`agentcode.models.openai_chat`);
- ``<name>:<spec>`` for providers added with `register` (in-process) or by an installed package's
  entry point in the ``agentcode.models`` group (a `ModelProvider`; docs/extending.md). The test
  suite's ``fake:<file>`` models come in that way, from a plugin on the tests' own path.

`PROVIDERS` is an `agentcode.registry.Registry`, the same shape as the sandboxes'.

Nothing heavy is imported here: the built-in entries reach their modules only when called, each
candidate builds its model on first use (a chain that starts with ``local`` and gets its answer
there never creates a boto3 client), and installed plugins are looked up only for a name that is
not built in, or to list them all (scanning the installed packages costs milliseconds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from agentcode.errors import ConfigError
from agentcode.models.failures import AWS_CREDENTIALS_HINT
from agentcode.models.provider import ModelFactory, ModelProvider, ProviderStatus, model_label
from agentcode.registry import Lazy, PluginFailure, Registry

if TYPE_CHECKING:
    from strands.models.model import Model

    from agentcode.config import Settings
    from agentcode.models.router import Candidate

ENTRY_POINT_GROUP = "agentcode.models"


def _bedrock_chain(settings: Settings) -> Sequence[str]:
    from agentcode.models.bedrock import DEFAULT_CHAIN

    return [f"bedrock:{model_id}" for model_id in DEFAULT_CHAIN]


BUILTIN: tuple[ModelProvider, ...] = (
    ModelProvider(
        name="local",
        description="the embedded model (llama.cpp, offline; agentcode[local])",
        factory=Lazy("agentcode.models.local:create_local_model"),
        forms=("local", "local:<name or .gguf path>"),
        settings=("local_model", "AGENTCODE_LOCAL_MODEL"),
        status=Lazy("agentcode.models.local:local_provider_status"),
        doctor=Lazy("agentcode.models.local_doctor:check_local_model"),
        spec="a model name or a .gguf path",
        bare=True,
    ),
    ModelProvider(
        name="bedrock",
        description="Amazon Bedrock (AWS credentials and region)",
        factory=Lazy("agentcode.models.bedrock:create_bedrock_model_for"),
        forms=("bedrock", "bedrock:<model id>"),
        settings=("region", "profile", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
                  "AWS_BEARER_TOKEN_BEDROCK"),
        status=Lazy("agentcode.models.bedrock:bedrock_provider_status"),
        doctor=Lazy("agentcode.aws.doctor:check_aws"),
        spec="a model id, e.g. bedrock:us.amazon.nova-premier-v1:0",
        bare=True,
        expand=_bedrock_chain,
        hint=AWS_CREDENTIALS_HINT,
    ),
    ModelProvider(
        name="openai",
        description="an OpenAI-compatible chat endpoint: OpenAI, Ollama, vLLM, LM Studio, "
        "llama.cpp (agentcode[openai])",
        factory=Lazy("agentcode.models.openai_chat:create_openai_model"),
        forms=("openai:<model>",),
        settings=("openai_base_url", "openai_api_key", "OPENAI_BASE_URL", "OPENAI_API_KEY"),
        status=Lazy("agentcode.models.openai_chat:openai_provider_status"),
        spec="a model name, e.g. openai:gpt-4o-mini or openai:qwen2.5-coder:7b",
    ),
)


def _load(name: str, target: str, loaded: Any) -> ModelProvider:
    if isinstance(loaded, ModelProvider):
        return loaded
    if callable(loaded):  # a bare factory
        return ModelProvider(name=name, description=f"plugin {target}", factory=loaded,
                             bare=True)
    raise TypeError(f"{target} is not a ModelProvider")


PROVIDERS: Registry[ModelProvider] = Registry(
    "model", ENTRY_POINT_GROUP, BUILTIN, load=_load, forms=lambda p: p.name_forms)


def register(name: str, provider: ModelProvider | ModelFactory) -> None:
    """Make ``name`` and ``name:<spec>`` resolve to ``provider`` in this process.

    A bare factory ``(spec, settings) -> Model`` is enough for tests and scripts.
    """
    if not isinstance(provider, ModelProvider):
        if not name.isidentifier():
            raise ValueError(f"cannot register model provider {name!r}")
        provider = ModelProvider(name=name, description="registered in this process",
                                 factory=provider, bare=True)
    PROVIDERS.register(provider)


def unregister(name: str) -> None:
    PROVIDERS.unregister(name)


def names_help() -> str:
    """The name forms of the built-in and registered providers, for help text."""
    return PROVIDERS.choices()


def all_providers() -> list[ModelProvider | PluginFailure]:
    """Every provider: built in, registered here, then installed plugins (loaded to list them)."""
    return PROVIDERS.all()


def provider_status(provider: ModelProvider, settings: Settings) -> ProviderStatus:
    """The provider's offline check; a check that fails is reported, never raised."""
    from agentcode.models.provider import ModelStatus

    if provider.status is None:
        return ProviderStatus([ModelStatus(provider.name_forms[0], True,
                                           f"{provider.description} (not checked)")])
    try:
        return provider.status(settings)
    except Exception as exc:  # noqa: BLE001 - a status report must not crash `agentcode models`
        return ProviderStatus([ModelStatus(provider.name_forms[0], False,
                                           f"check failed: {type(exc).__name__}: {exc}")])


def split_names(values: Iterable[str]) -> list[str]:
    """Flatten repeated and comma-separated names (``-m a,b -m c``), dropping blanks."""
    names: list[str] = []
    for value in values:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return names


def validate_names(names: Iterable[str]) -> None:
    """Refuse unknown or incomplete names now (exit 2), before anything is loaded."""
    for name in names:
        _resolve(name)


def candidates_for(
    model: str | Model | Sequence[str | Model] | None, settings: Settings
) -> list[Candidate]:
    """Candidates for names and/or strands `Model` instances, bare names expanded, in order."""
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
        raise ConfigError(f"no model named: use one of {names_help()}")

    candidates: list[Candidate] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            candidates.append(_instance_candidate(item))
            continue
        provider, spec = _resolve(item)
        expanded = [item]
        if spec is None and provider.expand is not None:
            expanded = list(provider.expand(settings))
        for name in expanded:
            if name in seen:
                continue
            seen.add(name)
            named_provider, named_spec = _resolve(name)
            candidates.append(_candidate(name, named_provider, named_spec, settings))
    return candidates


def _resolve(name: str) -> tuple[ModelProvider, str | None]:
    """(provider, spec) for a name; spec is None for a bare name. ConfigError when unusable."""
    prefix, colon, spec = name.partition(":")
    provider = PROVIDERS.find(prefix, rest=colon + spec)  # bedrok:x -> bedrock:x?
    if colon and not spec:
        raise ConfigError(f"'{prefix}:' needs {provider.spec}")
    if not colon and not provider.bare:
        raise ConfigError(f"'{prefix}' needs {provider.spec}")
    return provider, spec if colon else None


def _candidate(name: str, provider: ModelProvider, spec: str | None,
               settings: Settings) -> Candidate:
    from agentcode.models.router import Candidate

    # group: the provider's models share credentials, so an error only the user can fix skips
    # the rest of them.
    return Candidate(name, lambda: provider.factory(spec, settings), provider.name, provider.hint)


def _instance_candidate(model: Any) -> Candidate:
    from strands.models.model import Model

    from agentcode.models.router import Candidate

    if not isinstance(model, Model):
        raise ConfigError(
            f"model must be a name or a strands Model, not {type(model).__name__}"
        )
    if type(model).__module__.startswith("strands.models.bedrock"):
        return Candidate(model_label(model), lambda: model, "bedrock", AWS_CREDENTIALS_HINT)
    return Candidate(model_label(model), lambda: model)
