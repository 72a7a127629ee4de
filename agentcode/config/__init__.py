"""Settings: defaults < config file (TOML in the user config dir) < AGENTCODE_* env < flags.

The config file is ``config.toml`` in ``agentcode.config.config_dir()`` (``AGENTCODE_CONFIG`` names
another file; `agentcode.config.file` checks its keys and types). Keys are the field names of
`Settings`, e.g.::

    model = ["bedrock"]
    timeout = 60
    [sandbox]
    backend = "local"                  # or write `sandbox = "local"` at the top level
    packages = ["pandas", "matplotlib"]  # what `agentcode sandbox sync` installs
    [limits]
    memory_mb = 4096
    [plugins.echo]                     # a plugin's own settings: Settings.plugin("echo")
    greeting = "hello"

Environment variables are ``AGENTCODE_<FIELD>`` (``AGENTCODE_TIMEOUT=60``) and, for limits,
``AGENTCODE_LIMIT_<FIELD>`` (``AGENTCODE_LIMIT_MEMORY_MB=4096``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcode.errors import ConfigError

APP_NAME = "agentcode"


@dataclass(slots=True)
class Limits:
    """Resource limits for one sandboxed execution (local jail)."""

    memory_mb: int = 2048  # address space (RLIMIT_AS) per process
    processes: int = 64  # RLIMIT_NPROC, per-session uid
    file_size_mb: int = 100  # RLIMIT_FSIZE: the largest file the code may write
    open_files: int = 256  # RLIMIT_NOFILE
    cpu_seconds: int = 60  # RLIMIT_CPU budget per execution
    tmp_mb: int = 256  # size of /tmp (tmpfs)
    shm_mb: int = 64  # size of /dev/shm (tmpfs)
    workdir_mb: int = 512  # size of /sandbox, the work dir (tmpfs)
    files: int = 32768  # inodes per tmpfs (/tmp, /dev/shm, /sandbox) where the host allows it
    copy_out_mb: int = 256  # run --out / Session.download: bytes (apparent size) in total
    copy_out_files: int = 1000  # ... files in total
    copy_out_seconds: float = 10.0  # ... and time
    output_bytes: int = 1024 * 1024  # per stream (stdout, stderr); the rest is counted, not kept
    kill_grace_seconds: float = 2.0  # after the interrupt, before the session is killed


@dataclass(slots=True)
class Settings:
    model: list[str] = field(default_factory=lambda: ["local"])
    sandbox: str = "local"
    packages: list[str] = field(default_factory=list)  # the sandbox environment, for `sync`
    sandbox_env: str | None = None  # its directory; default in data_dir()
    timeout: float = 30.0  # wall clock per execution, seconds
    max_input_bytes: int = 10 * 1024 * 1024
    history: bool = True
    db: str | None = None  # history database path; default in data_dir()
    local_model: str | None = None  # GGUF path or name for `local`
    # Candidates the embedded model decodes together when verification draws several (its
    # llama.cpp slots). 1: on a 2-core machine four draws decoded together took 0.92x the time
    # of four one after another, and one after another can stop at the first that passes
    # (docs/benchmarks.md, "Drawing candidates"). More cores make decoding memory-bound, where
    # a batch costs little more than one sequence.
    local_parallel: int = 1
    # Seconds the embedded model stays loaded in a background process after a request, for the
    # next `gen` (agentcode/models/warm.py); 0: load it in each process. -1 (the default): 300,
    # or 0 when CI is set.
    local_keep_alive: float = -1.0
    # Seconds a resident helper keeps `agentcode run`'s and `gen`'s modules loaded and a jail
    # started for the next `run` or `gen` (agentcode/sandbox/local/resident.py); 0: each
    # starts from scratch.
    # -1 (the default): 300, or 0 when CI is set.
    sandbox_keep_alive: float = -1.0
    region: str | None = None
    profile: str | None = None
    openai_base_url: str | None = None  # `openai:` models; else OPENAI_BASE_URL, else OpenAI's
    openai_api_key: str | None = None  # else OPENAI_API_KEY
    model_attempts: int = 4  # calls to one model on throttling/transient errors, first included
    model_retry_seconds: float = 60.0  # time budget for those retries, per model
    session_timeout: int = 900  # AgentCore session timeout, seconds
    interpreter_id: str = "aws.codeinterpreter.v1"
    debug: bool = False
    # Heuristic checks of verification, as words applied to the defaults: "output-echo" turns
    # one on, "no-output-file" off, "all"/"none" (agentcode.generation.pipeline.Checks).
    checks: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    # The config file's [plugins.NAME] tables: each plugin reads its own (`plugin`), so a
    # plugin needs no field here. Not set from the environment.
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)

    def plugin(self, name: str) -> dict[str, Any]:
        """The settings of the plugin ``name`` (its ``[plugins.NAME]`` table; {} if none)."""
        return dict(self.plugins.get(name, {}))


def _home_override() -> Path | None:
    home = os.environ.get("AGENTCODE_HOME")
    return Path(home).expanduser() if home else None


def config_dir() -> Path:
    home = _home_override()
    if home:
        return home
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    home = _home_override()
    if home:
        return home
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def cache_dir() -> Path:
    home = _home_override()
    if home:
        return home / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


def config_path() -> Path:
    explicit = os.environ.get("AGENTCODE_CONFIG")
    return Path(explicit).expanduser() if explicit else config_dir() / "config.toml"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(name: str, value: Any, default: Any, source: str) -> Any:
    """Turn a TOML or env value into the type of the field's default, or say what is wrong."""
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, list):
            if isinstance(value, list):
                return [str(v) for v in value]
            return [part.strip() for part in str(value).split(",") if part.strip()]
        return None if value is None else str(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"invalid value {value!r} for '{name}' in {source}: "
            f"expected {type(default).__name__}"
        ) from None


def _apply(target: Any, values: dict[str, Any], source: str, prefix: str = "") -> None:
    fields = {f.name: f for f in dataclasses.fields(target)}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in fields:
            raise ConfigError(f"unknown setting '{prefix}{key}' in {source}")
        current = getattr(target, name)
        if name == "plugins" and isinstance(target, Settings):
            if not isinstance(value, dict) or not all(isinstance(v, dict)
                                                      for v in value.values()):
                raise ConfigError(f"'plugins' in {source} must be tables ([plugins.NAME])")
            setattr(target, name, {str(k): dict(v) for k, v in value.items()})
            continue
        if isinstance(current, Limits):
            if not isinstance(value, dict):
                raise ConfigError(f"'{key}' in {source} must be a table")
            _apply(current, value, source, prefix="limits.")
            continue
        setattr(target, name, _coerce(prefix + name, value, current, source))


# The keys of a `[sandbox]` table, and the settings they stand for.
_SANDBOX_TABLE = {"backend": "sandbox", "packages": "packages", "env": "sandbox_env"}


def _flatten_sandbox_table(data: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``[sandbox] backend/packages/env`` as the flat settings they stand for, and the
    table's unknown keys (as `config_file` problems)."""
    table = data.get("sandbox")
    if not isinstance(table, dict):
        return data, []
    flat = {k: v for k, v in data.items() if k != "sandbox"}
    unknown = []
    for key, value in table.items():
        name = _SANDBOX_TABLE.get(key.replace("-", "_"))
        if name is None:
            unknown.append((f"unknown key 'sandbox.{key}'",
                            f": known keys are {', '.join(_SANDBOX_TABLE)}"))
        else:
            flat[name] = value
    return flat, unknown


def _from_file(settings: Settings) -> None:
    path = config_path()
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except FileNotFoundError:
        if os.environ.get("AGENTCODE_CONFIG"):
            # Named on purpose: running without it would silently use other settings.
            raise ConfigError(f"AGENTCODE_CONFIG names {path}, which does not exist") from None
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    import tomllib  # ~10 ms: only when there is a file to parse

    from agentcode.config import file as config_file

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    data, problems = _flatten_sandbox_table(data)
    # pydantic, once per version of the file
    config_file.check(path, raw, data, settings_type=Settings, stamp_dir=cache_dir,
                      problems=problems)
    _apply(settings, data, str(path))


def _from_env(settings: Settings) -> None:
    env = os.environ
    top: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        key = f"AGENTCODE_{f.name.upper()}"
        if f.name not in ("limits", "plugins") and key in env:
            top[f.name] = env[key]
    if "AGENTCODE_NO_HISTORY" in env and env["AGENTCODE_NO_HISTORY"].strip().lower() in _TRUE:
        top["history"] = False
    _apply(settings, top, "the environment")
    limits = {
        f.name: env[f"AGENTCODE_LIMIT_{f.name.upper()}"]
        for f in dataclasses.fields(Limits)
        if f"AGENTCODE_LIMIT_{f.name.upper()}" in env
    }
    _apply(settings.limits, limits, "the environment", prefix="limits.")


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source; ``overrides`` (flags) win. ``None`` values are ignored."""
    settings = Settings()
    _from_file(settings)
    _from_env(settings)
    given = {k: v for k, v in overrides.items() if v is not None}
    limits = given.pop("limits", None)
    _apply(settings, given, "the command line")
    if limits:
        _apply(settings.limits, limits, "the command line", prefix="limits.")
    if settings.timeout <= 0:
        raise ConfigError("timeout must be a positive number of seconds")
    return settings
