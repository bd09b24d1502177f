"""The end-to-end potential recipe behind ``ionscope potential train``: split, train, freeze,
compress and validate, every product written into one work directory with its provenance."""

from __future__ import annotations

from pathlib import Path

from ..provenance import provenance, write_json
from . import deepmd
from .dataset import split_systems
from .validation import write_validation


def train_deepmd(data: str | Path, workdir: str | Path, preset: str = "paper",
                 steps: int = 100_000, seed: int = 1, split_seed: int = 0,
                 valid_fraction: float = 0.1, skip_neighbor_stat: bool = False,
                 compress: bool = True, restart: bool = False) -> dict:
    """Train a DeePMD model on every system below ``data`` and validate it per system.

    Products in ``workdir``: ``split/`` (train/valid systems and ``split.json``), ``train/``
    (DeePMD's own files), ``frozen.pth``, ``compressed.pth`` and ``validation/`` (table, JSON
    and parity plots of the validation frames).
    """
    workdir = Path(workdir)
    split = split_systems(data, workdir / "split", valid_fraction=valid_fraction, seed=split_seed)
    config = deepmd.deepmd_input(split.train_dirs, split.valid_dirs, preset=preset, steps=steps,
                                 seed=seed)
    deepmd.train(workdir / "train", config, skip_neighbor_stat=skip_neighbor_stat,
                 restart=restart)
    frozen = deepmd.freeze(workdir / "train", workdir / "frozen.pth")
    model = frozen
    if compress:
        model = deepmd.compress(frozen, workdir / "compressed.pth",
                                training_input=workdir / "train" / "input.json"
                                if skip_neighbor_stat else None)
    result = deepmd.evaluate(model, split.valid_dirs)
    write_validation(result, workdir / "validation")
    record = provenance(inputs={"data": data},
                        parameters={"preset": preset, "steps": steps, "seed": seed,
                                    "split_seed": split_seed, "valid_fraction": valid_fraction,
                                    "compressed": compress},
                        split=split.table, overall=result["overall"])
    write_json(workdir / "provenance.json", record)
    return result
