"""Diffusion coefficients, Arrhenius fits and Nernst–Einstein conductivity (Chen et al. 2025,
Eqs. 17–19), in the units users report: D in cm²/s, σ in S/cm, E_a in eV.

    D = lim ⟨r²(t)⟩ / (6t)          (slope of the MSD in the diffusive regime)
    D(T) = D₀ exp(−E_a / k_B T)
    σ = N (Ze)² D / (V k_B T)

Uncertainty of D. The MSD points of one trajectory are strongly correlated (overlapping time
origins), so the least-squares error of one MSD curve is far too small, and the scatter of
short-block slopes describes a short-block estimate, not the full-run D. The full-run slope is
a linear functional of the MSD, Σ_τ a_τ MSD(τ), and the MSD is the mean over ions of each
ion's own time-averaged MSD, so D = mean_i D_i of per-ion slopes on the same lags: its
standard error is std(D_i)/√N. This is the exact variance of the least-squares D under the
full covariance of the MSD points, without assuming Gaussian displacements (kinisi models that
covariance instead and fits by generalised least squares, McCluskey et al., J. Chem. Theory
Comput. (2024), doi:10.1021/acs.jctc.4c01249); it assumes the ions' MSDs are uncorrelated with
each other (ions moving in rigid pairs make it √2 too small).

The collective MSD is a single trajectory of a sum of many displacements, hence Gaussian; its
slope error comes from the exact covariance of the time-averaged MSD of a Brownian path
(:func:`brownian_msd_covariance`; Qian, Sheetz & Elson, Biophys. J. 60, 910 (1991)).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import constants

from ..base import Results, TrajectoryAnalysis
from ._access import frame_times
from .msd import MSD

K_B_EV = constants.k / constants.e          # eV/K
A2_PER_PS_TO_CM2_PER_S = 1e-16 / 1e-12       # Å²/ps → cm²/s


class NotDiffusiveWarning(UserWarning):
    """The MSD never reaches the Fickian regime in the fitted window."""


def fit_msd(time: np.ndarray, msd: np.ndarray, window: tuple[float, float]) -> tuple[float, float]:
    """Least-squares slope and intercept of MSD(t) on ``window`` (ps); D = slope / 6."""
    mask = (time >= window[0]) & (time <= window[1]) & np.isfinite(msd)
    if mask.sum() < 2:
        raise ValueError(f"fit window {window} ps holds fewer than two MSD points")
    slope, intercept = np.polyfit(time[mask], msd[mask], 1)
    return float(slope), float(intercept)


def default_window(total_time: float) -> tuple[float, float]:
    """Fit from 10 % to 50 % of the (block) length: past the ballistic regime, before the
    long lags with few origins."""
    return 0.1 * total_time, 0.5 * total_time


def brownian_msd_covariance(n_frames: int, lags: np.ndarray) -> np.ndarray:
    """Covariance of the time-averaged 1D MSD at ``lags`` (frames) of a Brownian path of
    ``n_frames`` frames with unit step variance:

        cov(M_n, M_m) = 2 Σ_{t<N−n} Σ_{u<N−m} |[t, t+n) ∩ [u, u+m)|² / ((N − n)(N − m))

    (Isserlis: cov(Δ_n², Δ_m²) = 2 cov(Δ_n, Δ_m)², and cov(Δ_n, Δ_m) is the overlap of the two
    windows). Scale by s⁴ for step variance s²; in 3D multiply by 3."""
    lags = np.asarray(lags, int)
    cov = np.empty((len(lags), len(lags)))
    for i, n in enumerate(lags):
        for j in range(i, len(lags)):
            m = lags[j]
            d = np.arange(1 - m, n)                       # u − t where the windows overlap
            overlap = (np.minimum(n, d + m) - np.maximum(0, d)).astype(float)
            pairs = np.clip(np.minimum(n_frames - n, n_frames - m - d) - np.maximum(0, -d), 0, None)
            cov[i, j] = cov[j, i] = 2 * np.sum(overlap ** 2 * pairs) / ((n_frames - n) * (n_frames - m))
    return cov


def _slope_weights(t: np.ndarray) -> np.ndarray:
    """Weights a(t) that give the least-squares slope of y(t) as Σ a(t) y(t)."""
    dt = t - t.mean()
    return dt / np.sum(dt ** 2)


def brownian_slope_error(n_frames: int, dt: float, window: tuple[float, float],
                         max_lags: int = 40) -> float:
    """Relative standard error of the least-squares MSD slope on ``window`` (ps) for one
    Brownian path of ``n_frames`` frames ``dt`` apart, from :func:`brownian_msd_covariance` on
    up to ``max_lags`` evenly spaced lags of the window."""
    lag = np.arange(1, n_frames)
    lag = lag[(lag * dt >= window[0]) & (lag * dt <= window[1])]
    if len(lag) < 2:
        raise ValueError(f"fit window {window} ps holds fewer than two MSD points")
    lag = np.unique(lag[np.linspace(0, len(lag) - 1, min(max_lags, len(lag))).astype(int)])
    a = _slope_weights(lag * dt)
    # 3D, step variance 2 D dt per axis, D = 1: cov = 3 (2 dt)² C; slope = 6
    return float(np.sqrt(3 * (2 * dt) ** 2 * a @ brownian_msd_covariance(n_frames, lag) @ a) / 6)


class DiffusionCoefficient(TrajectoryAnalysis):
    """D (cm²/s) of ``species`` from the least-squares MSD slope of the full trajectory, with its
    standard error from the spread of the per-ion slopes (see the module docstring); the
    collective ("charge") diffusion coefficient and the Haven ratio; and, for comparison, the
    slopes of ``n_blocks`` blocks (an estimate for block-length runs). Warns
    (:class:`NotDiffusiveWarning`) when the MSD exponent in the window stays below 0.9 or the MSD
    at its end is below ``min_msd`` Å² (no hop beyond a site): such a D is an upper bound on a
    sub-diffusive process, not a diffusion coefficient.

    Parameters
    ----------
    species: the mobile species.
    n_blocks: number of blocks for ``D_blocks`` (≥ 2, at least 4 frames each).
    window: fit window in ps of lag (default: 10–50 % of the run, or of a block).
    drift: drift correction of the MSD (see :class:`~ionscope.analysis.dynamics.msd.MSD`).
    min_msd: smallest MSD (Å²) at the window end for the run to count as diffusive.

    Run options
    -----------
    ``run(traj, start=0, stop=None, step=1, progress=False)``.

    Results
    -------
    D: self-diffusion coefficient D* = slope/6 (cm²/s).
    D_err: its standard error std(D_i)/√N over the per-ion slopes (cm²/s).
    D_per_ion: per-ion slopes D_i on the same lags, whose mean is D (cm²/s) (n_ions,).
    D_sigma: collective (charge) diffusion coefficient D_σ from the collective MSD (cm²/s).
    D_sigma_err: its standard error for a Brownian path (cm²/s).
    haven_ratio: H_R = D*/D_σ, dimensionless (NaN unless both are positive).
    haven_ratio_err: its propagated error, dimensionless.
    D_blocks: slope of each of the ``n_blocks`` blocks (cm²/s) (n_blocks,).
    D_blocks_mean: their mean (cm²/s).
    D_blocks_err: their standard error (cm²/s).
    intercept: intercept of the full-run MSD fit (Å²).
    window: the fit window used (ps, ps).
    exponent: mean MSD exponent α(t) in the window, dimensionless.
    diffusive: whether the exponent reaches 0.9 and the MSD ``min_msd`` in the window.
    msd: the full-run :class:`~ionscope.analysis.dynamics.msd.MSD` results (all lags).
    """

    def __init__(self, species: str = "Li", n_blocks: int = 5,
                 window: tuple[float, float] | None = None, drift: str | None = "framework",
                 min_msd: float = 4.0) -> None:
        self.species, self.n_blocks, self.window = species, n_blocks, window
        self.drift, self.min_msd = drift, min_msd

    def _compute(self, traj, start: int, stop: int | None, step: int,
                 progress: bool = False) -> Results:
        species, n_blocks, window, drift = self.species, self.n_blocks, self.window, self.drift
        frames = np.arange(*slice(start, stop, step).indices(len(traj)))
        if n_blocks < 2 or len(frames) < 4 * n_blocks:
            raise ValueError(f"need n_blocks ≥ 2 and at least 4 frames per block ({len(frames)} frames)")
        edges = np.linspace(0, len(frames), n_blocks + 1).astype(int)
        block_d = []
        for b in range(n_blocks):
            sel = frames[edges[b]:edges[b + 1]]
            res = MSD(species, drift=drift, lags="all").run(traj, start=int(sel[0]),
                                                              stop=int(sel[-1]) + 1, step=step,
                                                              progress=progress).results
            w = window or default_window(res.time[-1])
            block_d.append(fit_msd(res.time, res.msd, w)[0] / 6 * A2_PER_PS_TO_CM2_PER_S)
        times, dt = frame_times(traj, start, stop, step)
        lag_time = np.arange(len(times)) * dt
        w_full = window or default_window(lag_time[-1])
        fitted = (lag_time >= w_full[0]) & (lag_time <= w_full[1])
        fitted[0] = False
        if fitted.sum() < 2:
            raise ValueError(f"fit window {w_full} ps holds fewer than two MSD points")
        weights = np.zeros((1, len(times)))
        weights[0, fitted] = _slope_weights(lag_time[fitted])
        full = MSD(species, drift=drift, lags="all").run(traj, start=start, stop=stop, step=step,
                                                         progress=progress, per_atom_weights=weights).results
        slope, intercept = fit_msd(full.time, full.msd, w_full)
        inside = (full.time >= w_full[0]) & (full.time <= w_full[1])
        exponent = float(np.nanmean(full.exponent[inside])) if inside.any() else np.nan
        msd_end = float(full.msd[inside][-1]) if inside.any() else np.nan
        diffusive = exponent >= 0.9 and msd_end >= self.min_msd
        if not diffusive:
            warnings.warn(f"{traj.path}: {species} MSD is not diffusive in {w_full[0]:g}–{w_full[1]:g} ps (exponent "
                          f"{exponent:.2f}, MSD {msd_end:.2f} Å² at the window end); D is not reliable",
                          NotDiffusiveWarning, stacklevel=3)
        to_cm2 = A2_PER_PS_TO_CM2_PER_S / 6
        D = slope * to_cm2
        rel_brownian = brownian_slope_error(len(times), dt, w_full)
        per_ion = full.per_atom[0] * to_cm2            # their mean is D
        n_ions = len(per_ion)
        D_err = float(per_ion.std(ddof=1) / np.sqrt(n_ions)) if n_ions > 1 else abs(D) * rel_brownian
        D_sigma = fit_msd(full.time, full.msd_collective, w_full)[0] * to_cm2
        D_sigma_err = abs(D_sigma) * rel_brownian
        haven = haven_err = np.nan
        if D_sigma > 0 and D > 0:
            haven = D / D_sigma
            haven_err = haven * np.hypot(D_err / D, D_sigma_err / D_sigma)
        block_d = np.array(block_d)
        return Results(
            D=D, D_err=D_err, D_per_ion=per_ion, D_sigma=D_sigma, D_sigma_err=D_sigma_err,
            haven_ratio=haven, haven_ratio_err=haven_err, D_blocks=block_d,
            D_blocks_mean=float(block_d.mean()), D_blocks_err=float(block_d.std(ddof=1) / np.sqrt(n_blocks)),
            intercept=intercept, window=w_full, exponent=exponent, diffusive=diffusive, msd=full)


def diffusion_coefficient(traj, species: str = "Li", n_blocks: int = 5,
                          window: tuple[float, float] | None = None, start: int = 0,
                          stop: int | None = None, step: int = 1, drift: str | None = "framework",
                          min_msd: float = 4.0, progress: bool = False) -> Results:
    """The results of :class:`DiffusionCoefficient` (D, D_err, D_sigma, haven_ratio, …: see
    there) of frames ``start:stop:step`` in one call."""
    return DiffusionCoefficient(species, n_blocks, window, drift, min_msd).run(
        traj, start, stop, step, progress=progress).results


def arrhenius(temperatures, D, D_err=None, extrapolate_to: float = 300.0) -> Results:
    """Weighted fit of ln D = ln D₀ − E_a/(k_B T) to D (cm²/s) at ``temperatures`` (K), weights
    from ``D_err`` (unweighted without it: errors from the residual scatter).

    Returns
    -------
    Results with Ea, Ea_err: activation energy and its error (eV); D0, D0_err: prefactor and its
    error (cm²/s); T_extrapolated: ``extrapolate_to`` (K); D_extrapolated,
    D_extrapolated_err: D there and its propagated error (cm²/s); covariance: covariance of
    (ln D₀, −E_a/k_B) (2, 2), in units of 1 and K.
    """
    T = np.asarray(temperatures, float)
    D = np.asarray(D, float)
    if len(T) < 2 or np.any(D <= 0):
        raise ValueError("an Arrhenius fit needs at least two temperatures with D > 0")
    sigma = np.asarray(D_err, float) / D if D_err is not None else np.ones_like(D)
    x, y = 1.0 / T, np.log(D)
    A = np.vstack([np.ones_like(x), x]).T / sigma[:, None]
    coef, *_ = np.linalg.lstsq(A, y / sigma, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    if D_err is None and len(T) > 2:  # unweighted: scale by the residual variance
        resid = y - (coef[0] + coef[1] * x)
        cov = cov * np.sum(resid ** 2) / (len(T) - 2)
    intercept, slope = coef
    ea, ea_err = -slope * K_B_EV, np.sqrt(cov[1, 1]) * K_B_EV
    x0 = 1.0 / extrapolate_to
    ln_d0 = intercept + slope * x0
    ln_d0_err = np.sqrt(cov[0, 0] + x0 ** 2 * cov[1, 1] + 2 * x0 * cov[0, 1])
    return Results(Ea=float(ea), Ea_err=float(ea_err), D0=float(np.exp(intercept)),
                   D0_err=float(np.exp(intercept) * np.sqrt(cov[0, 0])),
                   T_extrapolated=extrapolate_to, D_extrapolated=float(np.exp(ln_d0)),
                   D_extrapolated_err=float(np.exp(ln_d0) * ln_d0_err), covariance=cov)


def nernst_einstein(D_cm2_s, n_carriers: int, volume_A3: float, temperature: float,
                    charge: int = 1):
    """σ = N (Ze)² D / (V k_B T) in S/cm, from D in cm²/s and the cell volume in Å³."""
    n = n_carriers / (np.asarray(volume_A3, float) * 1e-30)
    sigma_si = n * (charge * constants.e) ** 2 * np.asarray(D_cm2_s) * 1e-4 / (constants.k * temperature)
    return sigma_si * 1e-2
