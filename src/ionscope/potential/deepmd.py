"""DeePMD-kit (PyTorch backend) training, freezing, compression and validation.

The ``paper`` preset is the potential of Chen et al., Nat. Commun. 16, 1057 (2025): se_e2_a
descriptor, 6.5 Å cutoff, embedding net 25/50/100, fitting net 240/240/240, energy+force+virial
loss with prefactors ramped 0.02→2, 1000→1, 0.02→0.2. Smaller presets trade accuracy for speed on
CPUs; ``tiny`` exists for smoke tests.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

import numpy as np

from ..analysis.base import as_snapshot, neighbor_pairs
from ..io.deepmd_npy import load_system
from ..provenance import atomic_path, write_json
from .validation import summarize_errors

TYPE_MAP = ["Li", "P", "S"]

_PAPER = {
    "descriptor": {"type": "se_e2_a", "rcut": 6.5, "rcut_smth": 0.5, "sel": [80, 48, 48],
                   "neuron": [25, 50, 100], "axis_neuron": 16, "resnet_dt": False},
    "fitting_net": {"neuron": [240, 240, 240], "resnet_dt": True},
}
PRESETS: dict[str, dict] = {
    "paper": _PAPER,
    "small": {
        "descriptor": {"type": "se_e2_a", "rcut": 5.5, "rcut_smth": 0.5, "sel": [52, 32, 32],
                       "neuron": [16, 32, 64], "axis_neuron": 8, "resnet_dt": False},
        "fitting_net": {"neuron": [120, 120, 120], "resnet_dt": True},
    },
    "tiny": {
        "descriptor": {"type": "se_e2_a", "rcut": 4.0, "rcut_smth": 0.5, "sel": [24, 16, 16],
                       "neuron": [4, 8], "axis_neuron": 4, "resnet_dt": False},
        "fitting_net": {"neuron": [16, 16], "resnet_dt": True},
    },
}

LOSS = {"type": "ener", "start_pref_e": 0.02, "limit_pref_e": 2.0, "start_pref_f": 1000.0,
        "limit_pref_f": 1.0, "start_pref_v": 0.02, "limit_pref_v": 0.2}


def deepmd_input(train_dirs: Sequence[str | Path], valid_dirs: Sequence[str | Path],
                 preset: str = "paper", steps: int = 1_000_000, seed: int = 1,
                 start_lr: float = 1e-3, stop_lr: float = 3.51e-8, decay_steps: int | None = None,
                 save_freq: int = 1000) -> dict:
    """The DeePMD-kit input (v3 schema) for a preset; every stochastic part is seeded."""
    if preset not in PRESETS:
        raise ValueError(f"unknown DeePMD preset {preset!r}; choose from {sorted(PRESETS)}")
    model = copy.deepcopy(PRESETS[preset])
    model["descriptor"]["seed"] = seed
    model["fitting_net"]["seed"] = seed
    decay_steps = decay_steps or max(1, min(5000, steps // 200))
    return {
        "model": {"type_map": TYPE_MAP, **model},
        "learning_rate": {"type": "exp", "decay_steps": decay_steps, "start_lr": start_lr,
                          "stop_lr": stop_lr},
        "loss": dict(LOSS),
        "training": {
            "training_data": {"systems": [str(p) for p in train_dirs], "batch_size": "auto"},
            "validation_data": {"systems": [str(p) for p in valid_dirs], "batch_size": 1,
                                "numb_btch": 3},
            "numb_steps": steps, "seed": seed, "disp_file": "lcurve.out", "disp_freq": 100,
            "save_freq": save_freq, "save_ckpt": "model.ckpt",
        },
    }


def _dp(args: Sequence[str], cwd: Path, log: Path) -> None:
    """Run ``dp --pt ARGS`` in ``cwd``; on failure raise with the tail of the log."""
    exe = shutil.which("dp")
    if exe is None:
        raise RuntimeError("DeePMD-kit is not installed: pip install 'ionscope[deepmd]'")
    with open(log, "a") as handle:
        proc = subprocess.run([exe, "--pt", *args], cwd=cwd, stdout=handle,
                              stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = "".join(open(log).readlines()[-25:])
        raise RuntimeError(f"dp {' '.join(args)} failed in {cwd} (log {log}):\n{tail}")


def train(workdir: str | Path, config: dict, skip_neighbor_stat: bool = False,
          restart: bool = False) -> Path:
    """Train in ``workdir`` (``input.json`` is written there); resume from the last checkpoint
    when ``restart`` and one exists. Returns the workdir."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    write_json(workdir / "input.json", config)
    args = ["train", "input.json"]
    if skip_neighbor_stat:
        args.append("--skip-neighbor-stat")
    checkpoint = workdir / "checkpoint"
    if restart and checkpoint.exists():
        args += ["--restart", (workdir / checkpoint.read_text().strip()).name]
    _dp(args, workdir, workdir / "train.log")
    return workdir


def freeze(workdir: str | Path, output: str | Path) -> Path:
    """Freeze the latest checkpoint of ``workdir`` into a TorchScript model file."""
    workdir, output = Path(workdir), Path(output).resolve()
    with atomic_path(output) as tmp:
        _dp(["freeze", "-o", str(tmp)], workdir, workdir / "freeze.log")
    return output


def min_neighbor_distance(systems: Sequence[str | Path], cutoff: float = 4.0) -> float:
    """The shortest interatomic distance (Å, periodic images included) in every frame of
    ``systems``: what DeePMD's neighbour statistics store as ``min_nbor_dist`` and what ``dp
    compress`` needs for the lower end of its tables."""
    shortest = np.inf
    for system in systems:
        data = load_system(system)
        symbols = np.array(data["type_map"])[data["types"]]
        for coord, box in zip(data["coord"], data["box"]):
            snap = as_snapshot((symbols, coord.reshape(-1, 3), box.reshape(3, 3)))
            d = neighbor_pairs(snap, cutoff, "d")
            if len(d):
                shortest = min(shortest, float(d.min()))
    if not np.isfinite(shortest):
        raise ValueError(f"no two atoms closer than {cutoff} Å in {len(systems)} systems")
    return shortest


def store_min_neighbor_distance(model: str | Path, distance: float) -> Path:
    """Write ``distance`` into a frozen model's ``min_nbor_dist`` (as ``dp train`` does unless
    told ``--skip-neighbor-stat``), so that ``dp compress`` needs no training data."""
    import deepmd.pt.cxx_op  # noqa: F401  (registers DeePMD's TorchScript operators)
    import torch

    model = Path(model).resolve()
    scripted = torch.jit.load(str(model), map_location="cpu")
    scripted.min_nbor_dist.fill_(float(distance))
    with atomic_path(model) as tmp:
        torch.jit.save(scripted, str(tmp))
    return model


def compress(model: str | Path, output: str | Path, training_input: str | Path | None = None,
             step: float = 0.01) -> Path:
    """Tabulate the embedding nets (``dp compress``); ``training_input`` lets DeePMD recompute the
    minimum neighbour distance when training skipped the neighbour statistics."""
    model, output = Path(model).resolve(), Path(output).resolve()
    args = ["compress", "-i", str(model), "-s", str(step)]
    if training_input is not None:
        args += ["-t", str(Path(training_input).resolve())]
    with atomic_path(output) as tmp:
        _dp([*args, "-o", str(tmp)], output.parent, output.with_suffix(".compress.log"))
    return output


def evaluate(model: str | Path, systems: Sequence[str | Path], batch: int = 16) -> dict:
    """Energy (meV/atom), force (meV/Å) and virial (meV/atom) RMSE per system and overall, with
    the predicted and reference values kept for parity plots."""
    from deepmd.infer import DeepPot


    pot = DeepPot(str(model))
    model_map = pot.get_type_map()
    predictions = []
    for system in systems:
        data = load_system(system)
        remap = np.array([model_map.index(data["type_map"][t]) for t in range(len(data["type_map"]))])
        atype = remap[data["types"]]
        e_pred, f_pred, v_pred = [], [], []
        for start in range(0, len(data["coord"]), batch):
            sl = slice(start, start + batch)
            e, f, v = pot.eval(data["coord"][sl], data["box"][sl], atype)
            e_pred.append(e.reshape(-1)); f_pred.append(f.reshape(len(e), -1))
            v_pred.append(v.reshape(len(e), 9))
        predictions.append((Path(system).name, data, np.concatenate(e_pred),
                            np.concatenate(f_pred), np.concatenate(v_pred)))
    return summarize_errors(predictions)
