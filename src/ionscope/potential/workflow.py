"""The end-to-end potential recipe behind ``ionscope potential train``: split, train, freeze,
compress and validate, every product written into one work directory with its provenance."""

from __future__ import annotations

from pathlib import Path

from ..provenance import data_inputs, provenance, write_json
from . import deepmd
from .dataset import data_folders, split_systems
from .validation import write_validation


def train_deepmd(data: str | Path | list[str | Path], workdir: str | Path, preset: str = "paper",
                 steps: int = 100_000, seed: int = 1, split_seed: int = 0,
                 valid_fraction: float = 0.1, skip_neighbor_stat: bool = False,
                 compress: bool = True, restart: bool = False) -> dict:
    """Train a DeePMD model on every system below ``data`` (one folder or several: e.g. the
    curated data and ionscope's CP2K labels) and validate it per system.

    Products in ``workdir``: ``split/`` (train/valid systems and ``split.json``), ``train/``
    (DeePMD's own files), ``frozen.pth``, ``compressed.pth`` and ``validation/`` (table, JSON
    and parity plots of the validation frames). Running it again after an interruption continues
    where it stopped: a finished training or compression is not repeated.
    """
    workdir = Path(workdir).resolve()   # dp runs inside workdir/train: no relative paths
    roots = data_folders(data)
    split = split_systems(roots, workdir / "split", valid_fraction=valid_fraction, seed=split_seed)
    config = deepmd.deepmd_input(split.train_dirs, split.valid_dirs, preset=preset, steps=steps,
                                 seed=seed)
    frozen = workdir / "frozen.pth"
    if not _finished(workdir / "train", steps) or not frozen.exists():
        deepmd.train(workdir / "train", config, skip_neighbor_stat=skip_neighbor_stat,
                     restart=restart)
        deepmd.freeze(workdir / "train", frozen)
        if skip_neighbor_stat:   # the frozen model must still carry it, for dp compress
            deepmd.store_min_neighbor_distance(
                frozen, deepmd.min_neighbor_distance(split.train_dirs))
    model = frozen
    if compress:
        model = workdir / "compressed.pth"
        if not model.exists() or model.stat().st_mtime < frozen.stat().st_mtime:
            deepmd.compress(frozen, model)
    result = deepmd.evaluate(model, split.valid_dirs)
    write_validation(result, workdir / "validation")
    record = provenance(inputs=data_inputs(roots),
                        parameters={"preset": preset, "steps": steps, "seed": seed,
                                    "split_seed": split_seed, "valid_fraction": valid_fraction,
                                    "compressed": compress},
                        split=split.table, overall=result["overall"])
    write_json(workdir / "provenance.json", record)
    return result


def _finished(train_dir: Path, steps: int) -> bool:
    """Whether DeePMD's learning curve in ``train_dir`` has reached ``steps``."""
    curve = train_dir / "lcurve.out"
    if not curve.exists():
        return False
    lines = [l for l in curve.read_text().splitlines() if l.strip() and not l.startswith("#")]
    return bool(lines) and int(float(lines[-1].split()[0])) >= steps
