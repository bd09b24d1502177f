"""Displacement maps: how far each ion moves over a time window, binned at where it started
(Shimizu et al.), and single-ion trajectories."""

from __future__ import annotations

import numpy as np

from ...io.frame import fractional_positions
from ..base import Results, TrajectoryAnalysis
from ._access import frame_cells, frame_times


class DisplacementMap(TrajectoryAnalysis):
    """Mean displacement amplitude |r(t0 + window) − r(t0)| (Å) on a 2D grid of the starting
    fractional coordinates along cell axes ``plane``, over origins every ``origin_stride``
    frames, with the per-origin amplitudes of every ion.

    Parameters
    ----------
    species: the analysed species.
    window_ps: the time window (ps), rounded to whole frames.
    plane: the two cell axes of the map.
    bins: bins per axis of the fractional grid.
    origin_stride: use every ``origin_stride``-th time origin.

    Results
    -------
    edges: fractional bin edges along both axes (bins + 1,).
    mean_displacement: mean amplitude per bin (Å) (bins, bins); NaN in empty bins.
    counts: number of (ion, origin) pairs per bin (bins, bins).
    amplitude: amplitude of every ion at every origin (Å) (n_origins, n_ions).
    origin_times: times of the origins (ps) (n_origins,).
    window_ps: the window actually used, a whole number of frames (ps).
    """

    def __init__(self, species: str = "Li", window_ps: float = 10.0,
                 plane: tuple[int, int] = (0, 1), bins: int = 40, origin_stride: int = 1) -> None:
        self.species, self.window_ps, self.plane, self.bins = species, window_ps, plane, bins
        self.origin_stride = origin_stride

    def _compute(self, traj, start: int, stop: int | None, step: int) -> Results:
        times, dt = frame_times(traj, start, stop, step)
        lag = int(round(self.window_ps / dt))
        if not 1 <= lag < len(times):
            raise ValueError(f"window {self.window_ps} ps is not within the trajectory "
                             f"({times[-1] - times[0]:.3g} ps)")
        atoms = traj.indices(self.species)
        pos = traj.unwrapped(atoms=atoms, start=start, stop=stop, step=step)
        cells = frame_cells(traj, start, stop, step)
        origins = np.arange(0, len(times) - lag, self.origin_stride)
        amplitude = np.linalg.norm(pos[origins + lag] - pos[origins], axis=-1)
        frac = fractional_positions(pos[origins], cells[origins])
        a, b = self.plane
        edges = np.linspace(0, 1, self.bins + 1)
        total = np.histogram2d(frac[..., a].ravel(), frac[..., b].ravel(), [edges, edges],
                               weights=amplitude.ravel())[0]
        count = np.histogram2d(frac[..., a].ravel(), frac[..., b].ravel(), [edges, edges])[0]
        with np.errstate(invalid="ignore"):
            mean = total / count
        return Results(edges=edges, mean_displacement=mean, counts=count, amplitude=amplitude,
                       origin_times=times[origins], window_ps=lag * dt)


def displacement_map(traj, species: str = "Li", window_ps: float = 10.0, plane: tuple[int, int] = (0, 1),
                     bins: int = 40, start: int = 0, stop: int | None = None,
                     origin_stride: int = 1) -> Results:
    """The results of :class:`DisplacementMap` of frames ``start:stop`` in one call."""
    return DisplacementMap(species, window_ps, plane, bins, origin_stride).run(traj, start, stop).results


def ion_trajectories(traj, indices, start: int = 0, stop: int | None = None,
                     step: int = 1) -> Results:
    """Paths of chosen ions: ``time`` (ps) (n_frames,), unwrapped ``positions`` (Å)
    (n_frames, n_ions, 3) and the atom ``indices``."""
    indices = np.atleast_1d(indices)
    return Results(time=traj.times(start, stop, step),
                   positions=traj.unwrapped(atoms=indices, start=start, stop=stop, step=step),
                   indices=indices)
