"""Shared plumbing of analyses: snapshots, neighbour lists and the compute/run pattern.

Every analysis follows freud's style for one frame (``compute(system)``, plain NumPy results)
and MDAnalysis's for trajectories (``run(trajectory)``, streaming frames, then ``results``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Sequence

import numpy as np


@dataclass
class Snapshot:
    """Symbols (N,), Cartesian positions (N, 3) wrapped into the cell, cell rows (3, 3)."""

    symbols: np.ndarray
    positions: np.ndarray
    cell: np.ndarray

    @property
    def volume(self) -> float:
        return float(abs(np.linalg.det(self.cell)))

    def indices(self, species: str | Sequence[str] | None) -> np.ndarray:
        if species is None:
            return np.arange(len(self.symbols))
        wanted = [species] if isinstance(species, str) else list(species)
        unknown = set(wanted) - set(self.symbols.tolist())
        if unknown:
            raise ValueError(f"unknown species {sorted(unknown)}; the structure has "
                             f"{sorted(set(self.symbols.tolist()))}")
        return np.flatnonzero(np.isin(self.symbols, wanted))


def as_snapshot(system, symbols: Sequence[str] | None = None) -> Snapshot:
    """A :class:`Snapshot` from an ASE ``Atoms``, an ionscope ``Frame`` (with ``symbols``), a
    ``(symbols, positions, cell)`` tuple, or a Snapshot."""
    if isinstance(system, Snapshot):
        return system
    if hasattr(system, "get_chemical_symbols"):
        if not all(system.pbc):
            raise ValueError("structure analyses need a fully periodic cell (pbc=True)")
        syms, pos, cell = system.get_chemical_symbols(), system.get_positions(), system.cell.array
    elif hasattr(system, "positions") and hasattr(system, "cell"):
        if symbols is None:
            raise ValueError("a Frame needs its symbols: compute(frame, symbols=traj.symbols)")
        syms, pos, cell = symbols, system.positions, system.cell
    else:
        syms, pos, cell = system
    cell = np.asarray(cell, float)
    if abs(np.linalg.det(cell)) < 1e-9:
        raise ValueError("the cell is degenerate (zero volume); a periodic 3D cell is required")
    pos = np.asarray(pos, float)
    frac = np.linalg.solve(cell.T, pos.T).T
    return Snapshot(np.asarray(syms), (frac - np.floor(frac)) @ cell, cell)


def neighbor_pairs(snap: Snapshot, cutoff: float, quantities: str = "ijdD"):
    """All ordered pairs (i, j), i ≠ j, within ``cutoff`` over periodic images (matscipy's
    linked-cell list; any triclinic cell, any cutoff, sorted by i)."""
    from matscipy.neighbours import neighbour_list

    return neighbour_list(quantities, positions=snap.positions, cell=snap.cell,
                          pbc=[True, True, True], cutoff=float(cutoff))


class FrameAnalysis:
    """Base class: ``compute`` one frame, ``run`` over a trajectory, read ``results``."""

    def __init__(self) -> None:
        self.results = SimpleNamespace()
        self.n_frames = 0
        self._reset()

    def _reset(self) -> None:
        raise NotImplementedError

    def _accumulate(self, snap: Snapshot) -> None:
        raise NotImplementedError

    def _finalize(self) -> None:
        raise NotImplementedError

    def compute(self, system, symbols: Sequence[str] | None = None, reset: bool = True):
        """Analyse one structure; with ``reset=False`` it is added to the frames seen so far."""
        if reset:
            self.n_frames = 0
            self._reset()
        self._accumulate(as_snapshot(system, symbols))
        self.n_frames += 1
        self._finalize()
        return self

    def run(self, trajectory, start: int = 0, stop: int | None = None, step: int = 1,
            progress: bool = True):
        """Average over frames ``start:stop:step`` of a :class:`~ionscope.io.Trajectory`."""
        from tqdm.auto import tqdm

        self.n_frames = 0
        self._reset()
        frames = range(*slice(start, stop, step).indices(len(trajectory)))
        for k in tqdm(frames, desc=type(self).__name__, disable=None if progress and len(frames) >= 20 else True,
                      unit="frame"):
            frame = trajectory[k]
            self._accumulate(as_snapshot(frame, trajectory.symbols))
            self.n_frames += 1
        if self.n_frames == 0:
            raise ValueError(f"{trajectory.path}: no frames in {start}:{stop}:{step}")
        self._finalize()
        return self


def species_pairs(species: Sequence[str]) -> list[tuple[str, str]]:
    """Unordered species pairs (A, B) with A ≤ B in the given order."""
    return [(a, b) for i, a in enumerate(species) for b in species[i:]]


def groups_pairs(first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pair arrays sorted by their first index ``first``, the indices (p, q), p < q, of every
    two pairs that share the same first index (the arms of every bond angle)."""
    starts = np.flatnonzero(np.r_[True, first[1:] != first[:-1]])
    counts = np.diff(np.r_[starts, len(first)])
    out_p, out_q = [], []
    for n in np.unique(counts):
        if n < 2:
            continue
        sel = starts[counts == n]
        a, b = np.triu_indices(n, k=1)
        out_p.append((sel[:, None] + a[None, :]).ravel())
        out_q.append((sel[:, None] + b[None, :]).ravel())
    if not out_p:
        return np.empty(0, int), np.empty(0, int)
    return np.concatenate(out_p), np.concatenate(out_q)
