"""Mean-squared displacement, non-Gaussian parameter and MSD exponent (Chen et al. 2025,
Eqs. 13–14), time-averaged over all origins by FFT, streaming over blocks of atoms.

    ⟨r²(t)⟩ = ⟨|r_i(t0 + t) − r_i(t0)|²⟩_{i, t0}
    α₂(t)   = 3⟨r⁴(t)⟩ / (5⟨r²(t)⟩²) − 1
    α(t)    = d ln⟨r²⟩ / d ln t
    ⟨R²(t)⟩ = ⟨|Σ_i [r_i(t0 + t) − r_i(t0)]|²⟩_{t0} / N   (collective, "charge" MSD)

The collective MSD of N ions of one charge gives the conductivity without assuming
uncorrelated ions, σ = N e² D_σ / (V k_B T) with D_σ = lim ⟨R²⟩/6t, and the Haven ratio
H_R = D*/D_σ (Murch, Solid State Ionics 7, 177 (1982); kinisi's ``ConductivityAnalyzer``).

Memory holds one block of atoms over all frames (sized by ``memory_mb``), never one array per
lag. Origins can be restricted per atom (``origin_weights``) for region-resolved dynamics.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..base import Results, TrajectoryAnalysis
from ._access import atom_blocks, centre_of_mass_path, frame_cells, frame_times
from .correlate import MomentSums, per_atom_msd
from .regions import REGIONS, region_fractions


def log_lags(n_frames: int, n: int = 100) -> np.ndarray:
    """About ``n`` distinct integer lags from 1 to n_frames − 1, evenly spaced in log."""
    if n_frames < 2:
        return np.array([], int)
    return np.unique(np.geomspace(1, n_frames - 1, n).astype(int))


class MSD(TrajectoryAnalysis):
    """Time-averaged MSD, per-component MSD, ⟨r⁴⟩, α₂ and α(t) of one species.

    Parameters
    ----------
    species: the mobile species (e.g. "Li").
    drift: "framework" subtracts the centre-of-mass motion of all other atoms, "system" that of
        all atoms, None nothing.
    lags: "log" (about ``n_lags`` log-spaced lags in the results) or "all".
    non_gaussian: also compute ⟨r⁴⟩ and α₂ (about three times the work of the MSD alone).
    memory_mb: budget for the work arrays of one block of atoms.

    Run options
    -----------
    ``run(traj, start=0, stop=None, step=1, regions=None, progress=True,
    per_atom_weights=None)``: averages over frames ``start:stop:step``. With ``regions`` (a
    :class:`~ionscope.analysis.dynamics.regions.SlabRegions`) the averages are also split by
    the region each atom is in at the time origin. ``per_atom_weights`` (k, n_frames) projects
    every atom's own time-averaged MSD over lags 0…n_frames−1 (e.g. least-squares slope weights).

    Results
    -------
    lags: lag of each point, in frames (L,).
    time: lag time of each point (ps) (L,).
    msd: ⟨r²(t)⟩ (Å²) (L,).
    msd_xyz: ⟨Δx²⟩, ⟨Δy²⟩, ⟨Δz²⟩ along the Cartesian axes (Å²) (L, 3).
    r4: ⟨r⁴(t)⟩ (Å⁴) (L,); NaN without ``non_gaussian``.
    alpha2: non-Gaussian parameter α₂(t), dimensionless (L,).
    exponent: MSD exponent α(t) = d ln⟨r²⟩ / d ln t, dimensionless (L,).
    origins: number of (atom, time origin) pairs averaged at each lag (L,).
    tau_ngp: lag time of the maximum of α₂ (ps).
    alpha2_max: maximum of α₂, dimensionless.
    dt: time between analysed frames (ps).
    n_atoms: number of atoms of ``species``.
    species: the analysed species.
    drift: the drift correction used ("framework", "system" or None).
    msd_collective: ⟨|Σ_i Δr_i|²⟩ / N, the collective (charge) MSD per ion (Å²) (L,).
    per_atom: with ``per_atom_weights`` only: the weights applied to each atom's MSD
        (k, n_atoms), in Å² times the weights' unit.
    regions: with ``regions`` only: for "glass", "interface" and "crystal", the fields
        ``lags`` … ``alpha2_max`` above averaged over the atoms in that region at the origin.
    region_fractions: with ``regions`` only: fraction of the atoms in each region per frame.
    frame_times: with ``regions`` only: time of every analysed frame (ps) (n_frames,).
    """

    def __init__(self, species: str = "Li", drift: str | None = "framework", lags: str = "log",
                 n_lags: int = 100, non_gaussian: bool = True, memory_mb: float = 256.0) -> None:
        if drift not in (None, "framework", "system"):
            raise ValueError(f"drift must be 'framework', 'system' or None, got {drift!r}")
        self.species, self.drift, self.lags, self.n_lags = species, drift, lags, n_lags
        self.memory_mb, self.non_gaussian = memory_mb, non_gaussian

    def _compute(self, traj, start: int, stop: int | None, step: int, regions=None,
                 progress: bool = True, per_atom_weights: np.ndarray | None = None) -> Results:
        times, dt = frame_times(traj, start, stop, step)
        n = len(times)
        atoms = traj.indices(self.species)
        drift = None
        if self.drift is not None:
            others = np.setdiff1d(np.arange(traj.n_atoms), atoms) if self.drift == "framework" \
                else np.arange(traj.n_atoms)
            if len(others):
                drift = centre_of_mass_path(traj, others, start, stop, step)
                drift -= drift[0]
        sums = MomentSums(n, fourth=self.non_gaussian)
        collective = np.zeros((n, 3))
        per_atom = []
        cells = frame_cells(traj, start, stop, step) if regions is not None else None
        by_region = {name: MomentSums(n, fourth=self.non_gaussian) for name in REGIONS} if regions is not None else {}
        codes_all = []
        bytes_per = 400  # about 25 float64/complex work arrays alive at once, per atom-frame
        with tqdm(total=len(atoms), desc=f"MSD {self.species}", unit="atom",
                  disable=None if progress and len(atoms) * n >= 5e6 else True) as bar:
            for sel, pos in atom_blocks(traj, atoms, start, stop, step, n, bytes_per,
                                        self.memory_mb * 2 ** 20):
                if drift is not None:
                    pos = pos - drift[:, None, :]
                sums.add(pos)
                collective += pos.sum(axis=1)
                if per_atom_weights is not None:
                    per_atom.append(per_atom_weights @ per_atom_msd(pos))
                if regions is not None:
                    codes = regions.labels(pos + (drift[:, None, :] if drift is not None else 0), cells)
                    codes_all.append(codes)
                    for k, name in enumerate(REGIONS):
                        by_region[name].add(pos, (codes == k).astype(float))
                bar.update(len(sel))
        idx = np.arange(1, n) if self.lags == "all" else log_lags(n, self.n_lags)
        r = _summarise(sums, idx, dt)
        r.dt, r.n_atoms, r.species, r.drift = dt, len(atoms), self.species, self.drift
        total = MomentSums(n, fourth=False)
        total.add(collective[:, None, :])
        r.msd_collective = total.averages()[0][idx] / len(atoms)
        if per_atom_weights is not None:
            r.per_atom = np.concatenate(per_atom, axis=1)
        if regions is not None:
            r.regions = {name: _summarise(s, idx, dt) for name, s in by_region.items()}
            r.region_fractions = region_fractions(np.concatenate(codes_all, axis=1))
            r.frame_times = times
        return r


def _summarise(sums: MomentSums, idx: np.ndarray, dt: float) -> Results:
    """The MSD curves (fields ``lags`` … ``alpha2_max`` of :class:`MSD` results) at lags ``idx``."""
    m2, m2_xyz, m4 = sums.averages()
    if not sums.fourth:
        m4 = np.full_like(m2, np.nan)
    t = idx * dt
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha2 = 3 * m4[idx] / (5 * m2[idx] ** 2) - 1
        exponent = np.gradient(np.log(m2[idx]), np.log(t)) if len(idx) > 2 else np.full(len(idx), np.nan)
    finite = np.isfinite(alpha2)
    k = int(np.argmax(np.where(finite, alpha2, -np.inf))) if finite.any() else 0
    return Results(lags=idx, time=t, msd=m2[idx], msd_xyz=m2_xyz[idx], r4=m4[idx],
                   alpha2=alpha2, exponent=exponent, origins=sums.count[idx],
                   tau_ngp=float(t[k]) if len(t) else np.nan,
                   alpha2_max=float(alpha2[k]) if len(t) else np.nan)
