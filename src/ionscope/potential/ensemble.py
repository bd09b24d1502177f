"""Model ensembles and the DP-GEN model deviation (Zhang et al., Comput. Phys. Commun. 253,
107206 (2020)): where models trained with different seeds disagree, the potential extrapolates.

    ε_F = max_i √⟨‖F_i − ⟨F_i⟩‖²⟩        (over the models, for every atom i; max over atoms)

per frame, with the mean and minimum over atoms and the standard deviation of the energy per
atom beside it. In MD, the same quantities come from LAMMPS with
``pair_style deepmd m1.pth m2.pth … out_freq N out_file model_devi.out``
(:func:`ensemble_pair_style`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def force_deviation(forces: np.ndarray) -> dict[str, np.ndarray]:
    """From forces (n_models, n_frames, n_atoms, 3): max, min and mean over atoms of the
    per-atom force deviation √⟨‖F_i − ⟨F_i⟩‖²⟩, per frame, and the per-atom values
    (n_frames, n_atoms) themselves (eV/Å)."""
    mean = forces.mean(axis=0, keepdims=True)
    per_atom = np.sqrt(np.mean(np.sum((forces - mean) ** 2, axis=-1), axis=0))
    return {"max_devi_f": per_atom.max(axis=1), "min_devi_f": per_atom.min(axis=1),
            "avg_devi_f": per_atom.mean(axis=1), "per_atom_devi_f": per_atom}


def model_deviation(models: Sequence[str | Path], trajectory, start: int = 0,
                    stop: int | None = None, step: int = 1) -> dict[str, np.ndarray]:
    """Model deviation of every selected frame of an ionscope ``Trajectory``."""
    from deepmd.infer import DeepPot

    if len(models) < 2:
        raise ValueError("a model deviation needs at least two models")
    pots = [DeepPot(str(m)) for m in models]
    type_map = pots[0].get_type_map()
    if any(p.get_type_map() != type_map for p in pots[1:]):
        raise ValueError("the ensemble's models have different type maps")
    unknown = set(trajectory.symbols) - set(type_map)
    if unknown:
        raise ValueError(f"{trajectory.path}: species {sorted(unknown)} not in the models' "
                         f"type map {type_map}")
    atype = np.array([type_map.index(s) for s in trajectory.symbols])
    frames = list(range(*slice(start, stop, step).indices(len(trajectory))))
    forces, energies = [], []
    for pot in pots:
        f_model, e_model = [], []
        for k in frames:
            frame = trajectory[k]
            e, f, _ = pot.eval(frame.wrapped_positions().reshape(1, -1), frame.cell.reshape(1, 9), atype)
            f_model.append(f.reshape(-1, 3))
            e_model.append(float(np.ravel(e)[0]))
        forces.append(f_model)
        energies.append(e_model)
    out = force_deviation(np.array(forces))
    out["devi_e"] = np.std(np.array(energies), axis=0) / len(atype)
    out["frames"] = np.array(frames)
    return out


def ensemble_pair_style(models: Sequence[str | Path], out_freq: int = 10,
                        out_file: str = "model_devi.out") -> str:
    """``pair_style`` arguments for MD with the first model and the ensemble's deviation logged
    every ``out_freq`` steps (DeePMD-kit's LAMMPS plugin)."""
    paths = " ".join(str(Path(m).resolve()) for m in models)
    return f"deepmd {paths} out_freq {out_freq} out_file {out_file}"
