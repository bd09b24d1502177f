"""Reading unwrapped positions of atom blocks from a trajectory within a memory budget."""

from __future__ import annotations

import warnings
from typing import Iterator

import numpy as np
from ase.data import atomic_masses, atomic_numbers

from ...io.h5md import H5MDReader


def frame_times(traj, start: int, stop: int | None, step: int) -> tuple[np.ndarray, float]:
    """Times (ps) of the selected frames and their uniform spacing."""
    times = np.asarray(traj.times(start, stop, step), float)
    if len(times) < 2:
        raise ValueError(f"{traj.path}: need at least two frames for dynamics, got {len(times)}")
    dt = np.diff(times)
    if not np.allclose(dt, dt[0], rtol=1e-6, atol=1e-9):
        raise ValueError(f"{traj.path}: frames are not evenly spaced in time")
    return times, float(dt[0])


def atom_blocks(traj, atoms: np.ndarray, start: int, stop: int | None, step: int,
                n_frames: int, bytes_per_atom_frame: int, budget: float
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (atom indices, unwrapped positions (n_frames, n_block, 3)) so that the work arrays
    of one block stay within ``budget`` bytes, independent of the number of lags."""
    block = max(1, int(budget // max(1, n_frames * bytes_per_atom_frame)))
    if block >= 64:
        block -= block % 64  # whole H5MD atom chunks
    if block < len(atoms) and not isinstance(traj.reader, H5MDReader):
        # a text file would be re-read once per block: read the selection once if it fits
        if n_frames * len(atoms) * 24 <= 4 * budget:
            positions = traj.unwrapped(atoms=atoms, start=start, stop=stop, step=step)
            for first in range(0, len(atoms), block):
                yield atoms[first:first + block], positions[:, first:first + block]
            return
        warnings.warn(f"{traj.path}: large selection read block by block from a text format; "
                      f"convert it once with 'ionscope convert' (H5MD) for speed", stacklevel=3)
    for first in range(0, len(atoms), block):
        sel = atoms[first:first + block]
        yield sel, traj.unwrapped(atoms=sel, start=start, stop=stop, step=step)


def centre_of_mass_path(traj, atoms: np.ndarray, start: int, stop: int | None,
                        step: int) -> np.ndarray:
    """Mass-weighted centre of ``atoms`` per selected frame (unwrapped), streaming frames."""
    masses = np.array([atomic_masses[atomic_numbers[s]] for s in traj.symbols[atoms]])
    path = [np.einsum("a,tak->tk", masses, chunk.positions) / masses.sum()
            for chunk in traj.iter_chunks(start=start, stop=stop, step=step, atoms=atoms)]
    return np.concatenate(path)


def frame_cells(traj, start: int, stop: int | None, step: int) -> np.ndarray:
    """Cell (3, 3) of every selected frame."""
    return np.concatenate([c.cells for c in traj.iter_chunks(start=start, stop=stop, step=step,
                                                              atoms=np.array([0]))])
