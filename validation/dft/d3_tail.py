"""How much of the D3 dispersion energy lies beyond a short-range model's cutoff, frame by frame
(issue #14, session 15).

A model with a 4.5 Å cutoff can learn only the part of the PBE-D3(0) energy that its cutoff
sees; the rest, pairs beyond it, depends on the density out to CP2K's 21 Å. If that rest
differs between the liquid the study's melt passes through and the dense frames the model is
fitted to, a local model puts the expanded liquid too low by the difference.

    python validation/dft/d3_tail.py validation/dft/melt-labels/melt64-* \
        runs/curated-pbe-d3/glass-iter0-002 runs/curated-pbe-d3/gamma-Li3PS4 > d3-tail.md

Per system (first frame, and the spread over at most 5 frames): density, the whole D3 energy
(CP2K's 40 bohr), and the part beyond 4.5, 6, 8, 10 and 12 Å (``ionscope.dft.d3_terms``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from ase.data import atomic_masses, atomic_numbers

from ionscope.dft import d3_terms
from ionscope.io.deepmd_npy import load_system

CUTOFFS = (4.5, 6.0, 8.0, 10.0, 12.0)


def rows(system: Path, most: int = 5):
    data = load_system(system)
    symbols = [data["type_map"][t] for t in data["types"]]
    mass = sum(atomic_masses[atomic_numbers[s]] for s in symbols)
    n = len(symbols)
    for k in np.linspace(0, len(data["energy"]) - 1, min(most, len(data["energy"]))).astype(int):
        pos, cell = data["coord"][k].reshape(n, 3), data["box"][k].reshape(3, 3)
        whole = d3_terms(symbols, pos, cell).energy
        tails = [whole - d3_terms(symbols, pos, cell, cutoff=rc).energy for rc in CUTOFFS]
        yield mass / abs(np.linalg.det(cell)) * 1.66054, whole / n * 1e3, [t / n * 1e3 for t in tails]


def main(systems):
    print("| system | atoms | ρ (g/cm³) | D3 (meV/atom) | "
          + " | ".join(f"beyond {rc:g} Å" for rc in CUTOFFS) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(CUTOFFS))
    for system in map(Path, systems):
        found = list(rows(system))
        rho, whole, tails = (np.array([r[i] for r in found]) for i in range(3))
        n = len(load_system(system)["types"])
        print(f"| {system.name} ({len(found)} frames) | {n} | {rho.mean():.3f} | {whole.mean():.1f} | "
              + " | ".join(f"{t.mean():.1f} ± {t.std():.1f}" for t in tails.T) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
