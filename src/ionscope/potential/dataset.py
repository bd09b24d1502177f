"""DeePMD npy training data: discovery and a seeded, per-system, time-block validation split.

AIMD frames are correlated in time, so a random frame split leaks training information into
validation. Every system is cut into contiguous blocks; whole blocks go to validation (at least
``valid_fraction`` of each system's frames) and ``gap`` frames on each side of a validation block
are dropped from training, so no validation frame is a time neighbour of a training frame.
Systems of fewer than ``TRAIN_ONLY_BELOW`` frames (CP2K labels: an equation of state, the few
frames a learning iteration picks) are not time series and too small to hold a part out: they
go to training whole.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..provenance import sha256_file, write_json

TRAIN_ONLY_BELOW = 10


def data_folders(data: str | Path | Sequence[str | Path]) -> list[Path]:
    """One data folder or several, as absolute paths (what the trainers accept)."""
    return [Path(d).resolve() for d in ([data] if isinstance(data, (str, Path)) else data)]


def find_systems(root: str | Path) -> list[Path]:
    """All DeePMD npy systems (directories holding ``type.raw``) below ``root``, sorted."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such DeePMD data directory")
    systems = sorted(Path(d) for d, _, files in os.walk(root, followlinks=True)
                     if "type.raw" in files)
    if not systems:
        raise ValueError(f"{root}: no DeePMD npy system (a directory with type.raw) found")
    return systems


@dataclass
class SplitSummary:
    """Where the split wrote its systems and how many frames each side got."""

    train_dirs: list[Path] = field(default_factory=list)
    valid_dirs: list[Path] = field(default_factory=list)
    table: list[dict] = field(default_factory=list)


def block_split(n_frames: int, valid_fraction: float, block_size: int, gap: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and validation frames for one time series (see module docstring)."""
    n_blocks = int(np.ceil(n_frames / block_size))
    starts = np.arange(n_blocks) * block_size
    sizes = np.minimum(block_size, n_frames - starts)
    order = rng.permutation(n_blocks)
    chosen, n_valid = [], 0
    for b in order:
        if n_valid >= valid_fraction * n_frames and chosen:
            break
        chosen.append(b)
        n_valid += sizes[b]
    valid_mask = np.zeros(n_frames, bool)
    for b in chosen:
        valid_mask[starts[b]:starts[b] + sizes[b]] = True
    excluded = valid_mask.copy()
    if gap:
        edges = np.flatnonzero(np.diff(valid_mask.astype(int)) != 0)
        for e in edges:
            excluded[max(0, e - gap + 1):e + gap + 1] = True
    train = np.flatnonzero(~excluded)
    valid = np.flatnonzero(valid_mask)
    return train, valid


def split_systems(root: str | Path | Sequence[str | Path], out_dir: str | Path,
                  valid_fraction: float = 0.1, block_size: int = 50, gap: int = 5,
                  seed: int = 0) -> SplitSummary:
    """Split every system below ``root`` (one folder or several) into ``out_dir/train/NAME`` and
    ``out_dir/valid/NAME``; with several folders NAME starts with the folder's name.

    The random block choice of a system depends only on ``seed`` and the system's own name
    (without the folder prefix), so adding a system does not change the split of the others,
    and a system keeps its split when it moves between data sets (the curated copy of an AIMD
    system holds out the frames of the original). A ``split.json`` records the frame indices.
    """
    import dpdata

    roots = data_folders(root)
    out_dir = Path(out_dir)
    summary = SplitSummary()
    record = {"root": [str(r) for r in roots] if len(roots) > 1 else str(roots[0]),
              "valid_fraction": valid_fraction, "block_size": block_size, "gap": gap,
              "seed": seed, "train_only_below": TRAIN_ONLY_BELOW, "systems": {}}
    for top, system_dir in ((r, d) for r in roots for d in find_systems(r)):
        own = system_dir.relative_to(top).as_posix().replace("/", "__") or system_dir.name
        name = f"{top.name}__{own}" if len(roots) > 1 else own
        system = dpdata.LabeledSystem(str(system_dir), fmt="deepmd/npy")
        rng = np.random.default_rng([seed, zlib.crc32(own.encode())])
        if len(system) < TRAIN_ONLY_BELOW:
            train, valid = np.arange(len(system)), np.arange(0)
        else:
            train, valid = block_split(len(system), valid_fraction, block_size, gap, rng)
        for side, idx, dirs in (("train", train, summary.train_dirs),
                                ("valid", valid, summary.valid_dirs)):
            if not len(idx):
                continue
            target = out_dir / side / name
            system.sub_system(idx).to("deepmd/npy", str(target), set_size=len(idx))
            dirs.append(target)
        summary.table.append({"system": name, "atoms": system.get_natoms(),
                              "frames": len(system), "train": len(train), "valid": len(valid)})
        record["systems"][name] = {"train": train.tolist(), "valid": valid.tolist()}
    write_json(out_dir / "split.json", record)
    return summary


def content_digests(systems: Sequence[str | Path]) -> dict[str, str]:
    """SHA-256 of every array of DeePMD npy ``systems`` (path → digest): what a fit is reused
    for only while it is unchanged."""
    return {str(f): sha256_file(f) for s in systems for f in sorted(Path(s).glob("set.*/*.npy"))}
