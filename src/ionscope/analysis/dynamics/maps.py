"""Displacement maps: how far each ion moves over a time window, binned at where it started
(Shimizu et al.), and single-ion trajectories."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def displacement_map(traj, species: str = "Li", window_ps: float = 10.0, plane: tuple[int, int] = (0, 1),
                     bins: int = 40, start: int = 0, stop: int | None = None,
                     origin_stride: int = 1) -> SimpleNamespace:
    """Mean displacement amplitude |r(t0 + window) − r(t0)| (Å) on a 2D grid of the starting
    fractional coordinates along cell axes ``plane``, over origins every ``origin_stride``
    frames. Also returns the per-origin amplitudes of every ion."""
    from ._access import frame_cells, frame_times

    times, dt = frame_times(traj, start, stop, 1)
    lag = int(round(window_ps / dt))
    if not 1 <= lag < len(times):
        raise ValueError(f"window {window_ps} ps is not within the trajectory ({times[-1] - times[0]:.3g} ps)")
    atoms = traj.indices(species)
    pos = traj.unwrapped(atoms=atoms, start=start, stop=stop)
    cells = frame_cells(traj, start, stop, 1)
    origins = np.arange(0, len(times) - lag, origin_stride)
    amplitude = np.linalg.norm(pos[origins + lag] - pos[origins], axis=-1)
    frac = np.einsum("tak,tkl->tal", pos[origins], np.linalg.inv(cells[origins])) % 1.0
    a, b = plane
    edges = np.linspace(0, 1, bins + 1)
    total = np.histogram2d(frac[..., a].ravel(), frac[..., b].ravel(), [edges, edges],
                           weights=amplitude.ravel())[0]
    count = np.histogram2d(frac[..., a].ravel(), frac[..., b].ravel(), [edges, edges])[0]
    with np.errstate(invalid="ignore"):
        mean = total / count
    return SimpleNamespace(edges=edges, mean_displacement=mean, counts=count,
                           amplitude=amplitude, origin_times=times[origins], window_ps=lag * dt)


def ion_trajectories(traj, indices, start: int = 0, stop: int | None = None,
                     step: int = 1) -> SimpleNamespace:
    """Unwrapped paths (n_frames, n_ions, 3) of chosen ions with the frame times."""
    indices = np.atleast_1d(indices)
    return SimpleNamespace(time=traj.times(start, stop, step),
                           positions=traj.unwrapped(atoms=indices, start=start, stop=stop, step=step),
                           indices=indices)
