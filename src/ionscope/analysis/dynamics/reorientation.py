"""Reorientation of the anions (PS4 tetrahedra): rotational correlation functions and
orientational jumps ("flips"), the quantities of the paddle-wheel debate in Li3PS4 (Smith &
Siegel, Nat. Commun. 11, 1483 (2020); Gigli et al., arXiv:2310.15679 (2024), where the onset of
PS4 flips drives β-Li3PS4 into a phase of fast Li diffusion with a much lower activation energy).

With û(t) the unit vector of one P–S bond (the unit's S atoms are fixed at the first frame),

    C_1(t) = ⟨û(t0) · û(t0 + t)⟩,   C_2(t) = ⟨P_2(û(t0) · û(t0 + t))⟩,   P_2(x) = (3x² − 1)/2

averaged over bonds and time origins. A rigid unit that only librates keeps C_1 near 1; jumps
between the orientations of a tetrahedron take C_1 to 0 (each S ends on any of the four vertex
directions, and a vertex sees the other three at cos θ = −1/3). A bond belongs at each frame
to the vertex direction of its unit at the first frame that it is closest to; a flip is a
frame at which that assignment of a unit changes.
"""

from __future__ import annotations

import numpy as np

from ..base import Results, TrajectoryAnalysis, as_snapshot, neighbor_pairs
from ._access import frame_times
from .msd import log_lags


class NoUnitsError(ValueError):
    """A trajectory without any unit of the requested centre, ligand and coordination."""


class AnionReorientation(TrajectoryAnalysis):
    """Rotational correlation functions C_1, C_2 of centre–ligand bonds and the rate of
    orientational jumps of the units (e.g. PS4 tetrahedra), from unwrapped positions.

    Parameters
    ----------
    centre, ligand: the species of the unit's centre and its ligands ("P", "S").
    cutoff: centre–ligand bond length cutoff (Å) at the first analysed frame.
    coordination: the units analysed are the centres with exactly this many ligands.
    n_lags: about this many log-spaced lags.

    Run options
    -----------
    ``run(traj, start=0, stop=None, step=1)``.

    Results
    -------
    time: lag time of each point (ps) (L,).
    C1: first-order rotational correlation ⟨û(t0)·û(t0+t)⟩, dimensionless (L,).
    C2: second-order rotational correlation ⟨P_2(û(t0)·û(t0+t))⟩, dimensionless (L,).
    reoriented: fraction of bonds whose nearest vertex direction at t0 + t differs from that
        at t0 (L,); 3/4 after many random flips of tetrahedra.
    flips_per_unit_per_ps: frames at which a unit's bonds changed vertex directions, per unit
        and ps.
    flipped_units: fraction of the units that flipped at least once.
    n_units: number of units analysed.
    dt: time between analysed frames (ps).
    """

    def __init__(self, centre: str = "P", ligand: str = "S", cutoff: float = 2.6,
                 coordination: int = 4, n_lags: int = 60) -> None:
        self.centre, self.ligand, self.cutoff = centre, ligand, cutoff
        self.coordination, self.n_lags = coordination, n_lags

    def units(self, traj, frame: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centres with ``coordination`` ligands at ``frame``: (centre indices (U,), ligand
        indices (U, k), minimum-image bond vectors (U, k, 3))."""
        i, j, D = neighbor_pairs(as_snapshot(traj[frame], traj.symbols), self.cutoff, "ijD")
        keep = (traj.symbols[i] == self.centre) & (traj.symbols[j] == self.ligand)
        i, j, D = i[keep], j[keep], D[keep]
        centres, counts = np.unique(i, return_counts=True)
        centres = centres[counts == self.coordination]
        if not len(centres):
            raise NoUnitsError(f"{traj.path}: no {self.centre} with {self.coordination} "
                               f"{self.ligand} within {self.cutoff} Å at frame {frame}")
        mine = np.isin(i, centres)          # pairs come sorted by i
        return (centres, j[mine].reshape(len(centres), self.coordination),
                D[mine].reshape(len(centres), self.coordination, 3))

    def _compute(self, traj, start: int, stop: int | None, step: int) -> Results:
        times, dt = frame_times(traj, start, stop, step)
        centres, ligands, bonds0 = self.units(traj, start)
        pos_c = traj.unwrapped(atoms=centres, start=start, stop=stop, step=step)
        flat = ligands.ravel()
        order = np.argsort(flat)                  # the readers take sorted atom subsets
        pos_l = np.empty((len(times), len(flat), 3))
        pos_l[:, order] = traj.unwrapped(atoms=flat[order], start=start, stop=stop, step=step)
        pos_l = pos_l.reshape(len(times), *ligands.shape, 3)
        bonds = pos_l - pos_c[:, :, None, :]
        bonds += bonds0 - bonds[0]            # the minimum image of the first frame, kept
        u = bonds / np.linalg.norm(bonds, axis=-1, keepdims=True)      # (T, U, k, 3)
        vertex = np.einsum("tukd,ujd->tukj", u, u[0]).argmax(-1)        # nearest first-frame bond
        lags = log_lags(len(times), self.n_lags)
        c1, c2, moved = (np.empty(len(lags)) for _ in range(3))
        for n, lag in enumerate(lags):
            cos = np.einsum("tukd,tukd->tuk", u[lag:], u[:-lag])
            c1[n], c2[n] = cos.mean(), (1.5 * cos ** 2 - 0.5).mean()
            moved[n] = (vertex[lag:] != vertex[:-lag]).mean()
        jumps = (vertex[1:] != vertex[:-1]).any(-1)                     # (T−1, U)
        return Results(time=lags * dt, C1=c1, C2=c2, reoriented=moved,
                       flips_per_unit_per_ps=float(jumps.sum() / (len(centres) * (times[-1] - times[0]))),
                       flipped_units=float(jumps.any(0).mean()), n_units=len(centres), dt=dt)
