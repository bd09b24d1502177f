"""Which bonding environments a potential gets wrong in the Li3PS4 liquid (issue #14).

For every frame of the given DeePMD npy systems: the potential's energy error (model − DFT,
meV/atom, through the pair style in LAMMPS) and, per P atom, the S bridging two P, the S–S and
P–P bonds, the S bound to no P and the P with fewer than four S (bonds: within 2.45 Å). Prints a
table per system and a least-squares fit of the energy error on those counts (meV/atom per unit
per P).

    python validation/dft/melt_environments.py nnsnap validation/dft/melt-labels/melt64-* \
        runs/curated-pbe-d3/glass-iter0-00? --stride-of-many 12
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase import Atoms

from ionscope.analysis.structure import BOND_COUNTS, bond_counts
from ionscope.io.deepmd_npy import load_system
from ionscope.potential import resolve_potential
from ionscope.potential.lammps_eval import pair_terms

BOND = 2.45
"""Å: a bond (the cutoff of the fits in `validation/potentials/nnsnap-v5/README.md`)."""


def environment(symbols: np.ndarray, positions, cell) -> np.ndarray:
    """The counts of :data:`BOND_COUNTS`, per P atom."""
    return bond_counts(Atoms(symbols, positions=positions, cell=cell, pbc=True), BOND)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a bundled name or a fitted model's folder")
    parser.add_argument("systems", nargs="+", type=Path)
    parser.add_argument("--stride-of-many", type=int, default=12,
                        help="every n-th frame of systems with more than 20 frames")
    args = parser.parse_args()
    systems = [s for s in args.systems if (s / "type.raw").exists()]
    data = {s: load_system(s) for s in systems}
    selection = [(s, list(range(0, len(d["energy"]), args.stride_of_many if len(d["energy"]) > 20 else 1)))
                 for s, d in data.items()]
    terms = pair_terms(resolve_potential(args.model), selection)
    X, y = [], []
    print(f"{args.model}: energy error (meV/atom) and bonding environments per P\n")
    print("| system | frames | model − DFT, mean ± std | " + " | ".join(BOND_COUNTS) + " |")
    print("|---|---:|---:|" + "---:|" * len(BOND_COUNTS))
    for system, frames in selection:
        d = data[system]
        symbols = np.array([d["type_map"][t] for t in d["types"]])
        n = len(symbols)
        errors = np.array([(terms[(system.name, k)][0] - d["energy"][k]) / n * 1e3 for k in frames])
        env = np.array([environment(symbols, d["coord"][k].reshape(n, 3), d["box"][k].reshape(3, 3))
                        for k in frames])
        X.append(env)
        y.append(errors)
        print(f"| {system.name} | {len(frames)} | {errors.mean():+.1f} ± {errors.std():.1f} | "
              + " | ".join(f"{v:.2f}" for v in env.mean(axis=0)) + " |")
    X, y = np.vstack(X), np.concatenate(y)
    design = np.hstack([X, np.ones((len(X), 1))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    r2 = 1 - ((design @ coef - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    print("\nLeast squares, energy error = Σ c · (count per P) + c0 (meV/atom): "
          + ", ".join(f"{name} {c:+.0f}" for name, c in zip(BOND_COUNTS, coef)) + f", c0 {coef[-1]:+.1f}; "
          f"R² = {r2:.2f} over {len(y)} frames")


if __name__ == "__main__":
    main()
