"""Strained copies of a structure, for equation-of-state points."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms


def volume_series(atoms: Atoms, volume_factors: Sequence[float]) -> list[Atoms]:
    """Copies of ``atoms`` scaled isotropically to ``V = f·V₀`` for each factor ``f`` (fractional
    coordinates kept), e.g. ``[0.94, 0.97, 1, 1.03, 1.06]`` for a ±6 % equation of state."""
    factors = np.asarray(volume_factors, float)
    if factors.ndim != 1 or not np.all(np.isfinite(factors)) or np.any(factors <= 0):
        raise ValueError(f"volume factors must be positive numbers, got {list(volume_factors)}")
    series = []
    for f in factors:
        scaled = atoms.copy()
        scaled.set_cell(atoms.cell.array * f ** (1 / 3), scale_atoms=True)
        series.append(scaled)
    return series
