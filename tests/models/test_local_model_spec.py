"""Choosing the embedded model, what load_local_model returns, and how it fails when unusable."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from strands.models.llamacpp import LlamaCppModel

from agentcode.config import Settings, load_settings
from agentcode.config.install import install_hint
from agentcode.errors import EXIT_NO_MODEL, EXIT_USAGE, ConfigError, ModelUnavailableError
from agentcode.models.local import (
    DEFAULT_LOCAL_MODEL,
    LOCAL_MODELS,
    load_local_model,
    local_model_status,
    resolve_spec,
)
from agentcode.models.weights import LocalWeights, ensure_weights


def stub_gguf(tmp_path: Path, name: str = "my model.gguf") -> Path:
    path = tmp_path / name
    path.write_bytes(b"GGUF" + b"\0" * 28)
    return path


def test_named_models_and_default():
    assert DEFAULT_LOCAL_MODEL == "qwen2.5-coder-1.5b"
    assert set(LOCAL_MODELS) == {"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"}
    assert LOCAL_MODELS["qwen2.5-coder-1.5b"].size == 1_117_320_768
    assert LOCAL_MODELS["qwen2.5-coder-0.5b"].extra == "local-small"


@pytest.mark.parametrize("spec", [None, "", "default", "qwen2.5-coder-1.5b"])
def test_default_spec(spec: str | None):
    assert resolve_spec(spec, Settings()).model_id == "local:qwen2.5-coder-1.5b"


def test_settings_then_environment_choose_when_no_spec(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AGENTCODE_LOCAL_MODEL", "qwen2.5-coder-0.5b")
    assert resolve_spec(None, Settings()).model_id == "local:qwen2.5-coder-0.5b"
    assert resolve_spec(None, load_settings()).model_id == "local:qwen2.5-coder-0.5b"
    chosen = Settings(local_model="default")
    assert resolve_spec(None, chosen).model_id == "local:qwen2.5-coder-1.5b"
    assert resolve_spec("qwen2.5-coder-1.5b", Settings(local_model="x")).weights is not None


def test_a_gguf_path_is_resolved_to_an_absolute_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    gguf = stub_gguf(tmp_path)
    monkeypatch.chdir(tmp_path)
    spec = resolve_spec("my model.gguf", Settings())
    assert spec.path == gguf and spec.weights is None
    assert spec.model_id == f"local:{gguf}"


def test_unknown_name_is_a_usage_error_listing_the_choices():
    with pytest.raises(ConfigError) as err:
        resolve_spec("gpt-17", Settings())
    assert err.value.exit_code == EXIT_USAGE
    assert "qwen2.5-coder-0.5b" in str(err.value) and ".gguf" in str(err.value)


def test_missing_gguf_path_says_so(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"nothere\.gguf does not exist"):
        load_local_model(str(tmp_path / "nothere.gguf"), Settings())


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path):
    bogus = tmp_path / "weights.gguf"
    bogus.write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(ConfigError, match="not a GGUF model file"):
        load_local_model(str(bogus), Settings())


def test_load_is_cheap_and_returns_a_llamacpp_model(tmp_path: Path):
    gguf = stub_gguf(tmp_path)
    model = load_local_model(str(gguf), Settings(), max_tokens=99, temperature=0.3)
    assert isinstance(model, LlamaCppModel)
    assert model.model_id == model.config["model_id"] == f"local:{gguf}"
    assert model.config["params"] == {"max_tokens": 99, "temperature": 0.3}
    assert model.load_seconds is None and model.model_path is None  # nothing started


def test_default_sampling_is_greedy_and_bounded(tmp_path: Path):
    model = load_local_model(str(stub_gguf(tmp_path)), Settings())
    assert model.config["params"] == {"max_tokens": 1024, "temperature": 0.0}


def test_a_bad_gguf_fails_at_first_use_as_model_unavailable(tmp_path: Path):
    gguf = stub_gguf(tmp_path)  # GGUF magic, but no model inside: llama.cpp refuses it
    model = load_local_model(str(gguf), Settings(), n_ctx=512)
    with pytest.raises(ModelUnavailableError, match="llama.cpp could not load") as err:
        model.start()
    assert err.value.exit_code == EXIT_NO_MODEL


def test_missing_runtime_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # makes find_spec and import fail
    with pytest.raises(ModelUnavailableError) as err:
        load_local_model(str(stub_gguf(tmp_path)), Settings())
    assert install_hint("local") in str(err.value)
    assert err.value.exit_code == EXIT_NO_MODEL


def test_missing_weight_package_is_reported_at_load_time(monkeypatch: pytest.MonkeyPatch):
    absent = LocalWeights(
        name="absent",
        filename="absent.gguf",
        distributions=("agentcode-test-absent-part1",),
        version="1.0",
        size=10,
        sha256="0" * 64,
        extra="absent-extra",
    )
    monkeypatch.setitem(LOCAL_MODELS, "absent", absent)
    with pytest.raises(ModelUnavailableError) as err:
        load_local_model("absent", Settings())
    assert install_hint("absent-extra") in str(err.value)


def test_status_lists_every_named_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blob = b"tiny weights"
    parts = tmp_path / "p.bin"
    parts.write_bytes(blob)
    tiny = LocalWeights(
        name="tiny",
        filename="tiny.gguf",
        distributions=("agentcode-test-absent-part1",),
        version="1.0",
        size=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        extra="tiny",
    )
    monkeypatch.setitem(LOCAL_MODELS, "tiny", tiny)
    models = tmp_path / "models"
    ensure_weights(tiny, models_dir=models, parts=[parts], progress=False)
    rows = {row["name"]: row for row in local_model_status(Settings(), models_dir=models)}
    assert set(rows) == {"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "tiny"}
    default = rows["qwen2.5-coder-1.5b"]
    assert default["default"] is True and default["installed"] is True
    assert default["assembled"] is False and default["size"] == 1_117_320_768
    assert default["path"] == str(models / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert rows["tiny"] == {
        "name": "tiny",
        "model_id": "local:tiny",
        "default": False,
        "description": "",
        "installed": False,
        "assembled": True,
        "path": str(models / "tiny.gguf"),
        "size": len(blob),
        "install": install_hint("tiny"),
        "runtime": True,
    }
