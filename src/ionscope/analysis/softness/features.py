"""Radial structure functions, the structural features of softness (Cubuk et al., PRL 114,
108001 (2015)):

    G(i; r, X) = Σ_{j∈X} exp(−(r − R_ij)² / 2σ²)

for every centre i and neighbour species X on a grid r = dr, 2dr, … ≤ R_cutoff (defaults
dr = 0.2 Å, R_cutoff = 10 Å, σ = dr).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import as_snapshot, neighbor_pairs


@dataclass
class RadialFeatures:
    """Radial structure functions of ``centre`` atoms, one block of columns per species."""

    species: tuple[str, ...] = ("Li", "P", "S")
    centre: str = "Li"
    r_cutoff: float = 10.0
    dr: float = 0.2
    sigma: float | None = None
    chunk_pairs: int = 1_000_000

    @property
    def grid(self) -> np.ndarray:
        return np.arange(self.dr, self.r_cutoff + 1e-9, self.dr)

    @property
    def names(self) -> list[str]:
        return [f"G_{x}({r:.2f})" for x in self.species for r in self.grid]

    def compute(self, system, centres: np.ndarray | None = None) -> np.ndarray:
        """Features (n_centres, n_species × n_r) of one structure; ``centres`` are atom indices
        (default: every ``centre`` atom)."""
        snap = as_snapshot(system)
        if centres is None:
            centres = snap.indices(self.centre)
        centres = np.asarray(centres)
        sigma = self.sigma or self.dr
        grid = self.grid
        i, j, d = neighbor_pairs(snap, self.r_cutoff + 3 * sigma, "ijd")
        row = np.full(len(snap.symbols), -1)
        row[centres] = np.arange(len(centres))
        keep = row[i] >= 0
        i, j, d = row[i[keep]], j[keep], d[keep]
        out = np.zeros((len(centres), len(self.species), len(grid)))
        codes = {s: k for k, s in enumerate(self.species)}
        sp = np.array([codes.get(s, -1) for s in snap.symbols])[j]
        ok = sp >= 0
        i, d, sp = i[ok], d[ok], sp[ok]
        flat = out.reshape(-1, len(grid))
        step = max(1, self.chunk_pairs // len(grid))
        for first in range(0, len(i), step):
            sl = slice(first, first + step)
            g = np.exp(-((grid[None, :] - d[sl, None]) ** 2) / (2 * sigma ** 2))
            np.add.at(flat, i[sl] * len(self.species) + sp[sl], g)
        out[out < 1e-6] = 0.0  # far Gaussian tails: numerical noise that standardising would inflate
        return out.reshape(len(centres), -1)
