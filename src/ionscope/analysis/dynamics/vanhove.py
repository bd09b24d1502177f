"""Self and distinct van Hove correlation functions (Chen et al. 2025, Eqs. 15–16).

    G_s(r, t) = ⟨(1/N) Σ_i δ(r − |r_i(t0+t) − r_i(t0)|)⟩_{t0}   (4πr²G_s integrates to 1)
    G_d(r, t) = ⟨(1/N) Σ_i Σ_{j≠i} δ(r − |r_j(t0+t) − r_i(t0)|)⟩_{t0} / (4πr²ρ)

G_d is normalised by the density so that G_d(r, 0) = g(r) and G_d → 1 at long times. The
distinct part uses a linked-cell neighbour search between the two frames, never all pairs.
"""

from __future__ import annotations

import numpy as np

from ...io.frame import wrap_positions
from ..base import Results, Snapshot, TrajectoryAnalysis, neighbor_pairs
from ._access import atom_blocks, frame_cells, frame_times
from .regions import REGIONS


def _lag_frames(times: np.ndarray, dt: float, lag_times) -> np.ndarray:
    lags = np.unique(np.clip(np.round(np.asarray(lag_times, float) / dt).astype(int), 1, len(times) - 1))
    return lags


class SelfVanHove(TrajectoryAnalysis):
    """G_s(r, t) of one species at chosen lag times (ps), averaged over every ``origin_stride``-th
    origin and all atoms, streaming over blocks of atoms.

    Parameters
    ----------
    species: the analysed species.
    lag_times: lag times (ps), rounded to whole frames (at least one).
    r_max, bins: histogram of displacements on [0, r_max] Å in ``bins`` bins.
    origin_stride: use every ``origin_stride``-th time origin.
    memory_mb: budget for the positions of one block of atoms.

    Run options
    -----------
    ``run(traj, start=0, stop=None, step=1, regions=None)``: with ``regions``
    (:class:`~ionscope.analysis.dynamics.regions.SlabRegions`) G_s is also split by the region
    of each ion at the time origin.

    Results
    -------
    r: bin centres (Å) (bins,).
    time: lag times actually used (ps) (n_lags,).
    lags: the same lags in frames (n_lags,).
    r2Gs: 4πr²G_s(r, t), the distribution of displacements (1/Å), integrating to 1 over r
        (n_lags, bins).
    Gs: G_s(r, t) (1/Å³) (n_lags, bins).
    regions: with ``regions`` only: for "glass", "interface" and "crystal", ``r2Gs`` and ``Gs``
        of the ions in that region at the origin and ``count``, the number of displacements
        histogrammed per lag.
    """

    def __init__(self, species: str = "Li", lag_times=(1.0, 10.0, 100.0), r_max: float = 10.0,
                 bins: int = 200, origin_stride: int = 1, memory_mb: float = 256.0) -> None:
        self.species, self.lag_times, self.origin_stride = species, lag_times, origin_stride
        self.edges = np.linspace(0.0, r_max, bins + 1)
        self.memory_mb = memory_mb

    def _compute(self, traj, start: int, stop: int | None, step: int, regions=None) -> Results:
        times, dt = frame_times(traj, start, stop, step)
        lags = _lag_frames(times, dt, self.lag_times)
        groups = ["all"] + (list(REGIONS) if regions is not None else [])
        hist = {g: np.zeros((len(lags), len(self.edges) - 1)) for g in groups}
        counts = {g: np.zeros(len(lags)) for g in groups}
        atoms = traj.indices(self.species)
        cells = frame_cells(traj, start, stop, step) if regions is not None else None
        for _, pos in atom_blocks(traj, atoms, start, stop, step, len(times), 24,
                                  self.memory_mb * 2 ** 20):
            codes = regions.labels(pos, cells) if regions is not None else None
            for k, lag in enumerate(lags):
                origins = slice(0, len(times) - lag, self.origin_stride)
                r = np.linalg.norm(pos[lag:][origins] - pos[:-lag][origins], axis=-1)
                hist["all"][k] += np.histogram(r, self.edges)[0]
                counts["all"][k] += r.size
                for c, name in enumerate(groups[1:]):
                    mine = r[codes[:-lag][origins] == c]
                    hist[name][k] += np.histogram(mine, self.edges)[0]
                    counts[name][k] += mine.size
        r = 0.5 * (self.edges[1:] + self.edges[:-1])
        width = np.diff(self.edges)

        def normalised(g):  # 4πr²G_s (1/Å), integrates to 1
            with np.errstate(invalid="ignore", divide="ignore"):
                p = hist[g] / counts[g][:, None] / width
            return Results(r2Gs=p, Gs=p / (4 * np.pi * r ** 2), count=counts[g])

        everything = normalised("all")
        results = Results(r=r, time=lags * dt, lags=lags, r2Gs=everything.r2Gs, Gs=everything.Gs)
        if regions is not None:
            results.regions = {g: normalised(g) for g in groups[1:]}
        return results


class DistinctVanHove(TrajectoryAnalysis):
    """G_d(r, t) of one species at chosen lag times (ps), from ``n_origins`` evenly spaced
    origins per lag.

    Parameters
    ----------
    species: the analysed species.
    lag_times: lag times (ps), rounded to whole frames (0 allowed: G_d(r, 0) = g(r)).
    r_max, bins: histogram of distances on [0, r_max] Å in ``bins`` bins.
    n_origins: number of evenly spaced time origins per lag.

    Results
    -------
    r: bin centres (Å) (bins,).
    time: lag times actually used (ps) (n_lags,).
    lags: the same lags in frames (n_lags,).
    Gd: G_d(r, t) normalised by the density, dimensionless (→ 1 at large r and long t)
        (n_lags, bins).
    """

    def __init__(self, species: str = "Li", lag_times=(0.0, 1.0, 10.0), r_max: float = 8.0,
                 bins: int = 160, n_origins: int = 20) -> None:
        self.species, self.lag_times, self.n_origins = species, lag_times, n_origins
        self.edges = np.linspace(0.0, r_max, bins + 1)

    def _compute(self, traj, start: int, stop: int | None, step: int) -> Results:
        times, dt = frame_times(traj, start, stop, step)
        frames = np.arange(*slice(start, stop, step).indices(len(traj)))
        lags = np.unique(np.clip(np.round(np.asarray(self.lag_times, float) / dt).astype(int), 0,
                                 len(times) - 1))
        atoms = traj.indices(self.species)
        n = len(atoms)
        shell = 4 / 3 * np.pi * (self.edges[1:] ** 3 - self.edges[:-1] ** 3)
        out = np.zeros((len(lags), len(self.edges) - 1))
        for k, lag in enumerate(lags):
            origins = np.unique(np.linspace(0, len(frames) - 1 - lag, self.n_origins).astype(int))
            hist, norm = np.zeros(len(self.edges) - 1), 0.0
            for o in origins:
                first, second = traj[int(frames[o])], traj[int(frames[o + lag])]
                cell = first.cell
                both = np.vstack([first.positions[atoms], second.positions[atoms]])
                combined = Snapshot(np.array(["A"] * n + ["B"] * n), wrap_positions(both, cell), cell)
                i, j, d = neighbor_pairs(combined, self.edges[-1], "ijd")
                keep = (i < n) & (j >= n) & (j - n != i)
                hist += np.histogram(d[keep], self.edges)[0]
                norm += n * (n - 1) / abs(np.linalg.det(cell))
            out[k] = hist / (norm * shell)
        return Results(r=0.5 * (self.edges[1:] + self.edges[:-1]), time=lags * dt, lags=lags, Gd=out)
