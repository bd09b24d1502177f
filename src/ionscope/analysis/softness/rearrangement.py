"""Non-affine rearrangement: D²min (Falk & Langer, Phys. Rev. B 57, 7192 (1998)) and the
cumulative D_cum used to label mobile and immobile Li (Chen et al. 2023, 2025).

For atom i with neighbours j within ``radius`` at the reference time t:

    D²min(i; t, t+Δt) = min_J Σ_j ‖d_ij(t+Δt) − J d_ij(t)‖²,  J = X Y⁻¹,
    X = Σ_j d_ij(t+Δt) ⊗ d_ij(t),  Y = Σ_j d_ij(t) ⊗ d_ij(t)

with d_ij the minimum-image vectors at t; at t+Δt the same periodic image is followed (the
pair's image shift is carried with the cell, so NPT cell changes count as affine), and
D_cum(i) = Σ_k √D²min(i; t_k, t_k + Δt) over consecutive increments.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ...io.frame import wrap_positions
from ..base import Snapshot, neighbor_pairs
from ..dynamics._access import frame_times


def d2min(ref_positions: np.ndarray, new_positions: np.ndarray, cell: np.ndarray,
          symbols: np.ndarray, radius: float, centres: np.ndarray | None = None,
          neighbor_species=None, new_cell: np.ndarray | None = None) -> np.ndarray:
    """D²min (Å²) of ``centres`` between two frames whose positions are unwrapped (continuous);
    neighbours are taken in the reference frame (cell ``cell``; ``new_cell`` is the cell of the
    second frame, default the same). Atoms with fewer than three neighbours get NaN."""
    n = len(ref_positions)
    snap = Snapshot(np.asarray(symbols), wrap_positions(ref_positions, cell), cell)
    i, j, vec = neighbor_pairs(snap, radius, "ijD")
    if neighbor_species is not None:
        keep = np.isin(snap.symbols[j], np.atleast_1d(neighbor_species))
        i, j, vec = i[keep], j[keep], vec[keep]
    if centres is not None:
        mask = np.zeros(n, bool)
        mask[centres] = True
        keep = mask[i]
        i, j, vec = i[keep], j[keep], vec[keep]
    new_cell = cell if new_cell is None else np.asarray(new_cell, float)
    image = np.round((vec - (ref_positions[j] - ref_positions[i])) @ np.linalg.inv(cell))
    new_vec = new_positions[j] - new_positions[i] + image @ new_cell
    X = np.zeros((n, 3, 3))
    Y = np.zeros((n, 3, 3))
    np.add.at(X, i, np.einsum("pa,pb->pab", new_vec, vec))
    np.add.at(Y, i, np.einsum("pa,pb->pab", vec, vec))
    count = np.bincount(i, minlength=n)
    out = np.full(n, np.nan)
    ok = count >= 3
    J = np.zeros((n, 3, 3))
    J[ok] = X[ok] @ np.linalg.pinv(Y[ok])
    residual = new_vec - np.einsum("pab,pb->pa", J[i], vec)
    sums = np.bincount(i, weights=np.einsum("pa,pa->p", residual, residual), minlength=n)
    out[ok] = sums[ok]
    return out if centres is None else out[centres]


def cumulative_d2min(traj, species: str = "Li", radius: float = 5.0, increment_ps: float = 1.0,
                     start: int = 0, stop: int | None = None,
                     neighbor_species=None) -> SimpleNamespace:
    """D²min over consecutive increments of ``increment_ps`` and D_cum = Σ √D²min per atom of
    ``species``, from frame ``start`` to ``stop``."""
    times, dt = frame_times(traj, start, stop, 1)
    lag = int(round(increment_ps / dt))
    if lag < 1 or lag >= len(times):
        raise ValueError(f"increment {increment_ps} ps does not fit the {times[-1] - times[0]:.3g} ps run")
    centres = traj.indices(species)
    frames = np.arange(*slice(start, stop).indices(len(traj)))[::lag]
    positions = traj.unwrapped(start=start, stop=stop, step=lag)
    steps = []
    cells = [traj[int(f)].cell for f in frames]
    for k in range(len(frames) - 1):
        steps.append(d2min(positions[k], positions[k + 1], cells[k], traj.symbols, radius, centres,
                           neighbor_species, new_cell=cells[k + 1]))
    d2 = np.array(steps)
    return SimpleNamespace(indices=centres, d2min=d2, d_cum=np.nansum(np.sqrt(d2), axis=0),
                           increment_ps=lag * dt, frames=frames)


def mobility_labels(d_cum: np.ndarray, high: float, low: float) -> np.ndarray:
    """1 (mobile) where D_cum > ``high``, 0 (immobile) where D_cum < ``low``, −1 between."""
    if low > high:
        raise ValueError(f"the immobile threshold ({low}) must not exceed the mobile one ({high})")
    labels = np.full(len(d_cum), -1)
    labels[d_cum > high] = 1
    labels[d_cum < low] = 0
    return labels
