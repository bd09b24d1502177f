"""Diffusion coefficients, Arrhenius fits and Nernst–Einstein conductivity (Chen et al. 2025,
Eqs. 17–19), in the units users report: D in cm²/s, σ in S/cm, E_a in eV.

    D = lim ⟨r²(t)⟩ / (6t)          (slope of the MSD in the diffusive regime)
    D(T) = D₀ exp(−E_a / k_B T)
    σ = N (Ze)² D / (V k_B T)

The uncertainty of D comes from independent trajectory blocks: the MSD points of one trajectory
are strongly correlated, so the scatter of the slopes of separate blocks (standard error of the
mean) is an honest error bar where a least-squares error of one MSD is not.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
from scipy import constants

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


def diffusion_coefficient(traj, species: str = "Li", n_blocks: int = 5,
                          window: tuple[float, float] | None = None, start: int = 0,
                          stop: int | None = None, step: int = 1, drift: str | None = "framework",
                          min_msd: float = 4.0, progress: bool = False) -> SimpleNamespace:
    """D (cm²/s) of ``species`` from the full trajectory, with the standard error from
    ``n_blocks`` independent blocks. ``window`` is in ps relative to a block's start (default:
    10–50 % of the block length). Warns (:class:`NotDiffusiveWarning`) when the MSD exponent in
    the window stays below 0.9 or the MSD at its end is below ``min_msd`` Å² (no hop beyond a
    site): such a D is an upper bound on a sub-diffusive process, not a diffusion coefficient."""
    from .msd import MSD

    frames = np.arange(*slice(start, stop, step).indices(len(traj)))
    if n_blocks < 2 or len(frames) < 4 * n_blocks:
        raise ValueError(f"need n_blocks ≥ 2 and at least 4 frames per block ({len(frames)} frames)")
    edges = np.linspace(0, len(frames), n_blocks + 1).astype(int)
    block_d, block_windows = [], []
    for b in range(n_blocks):
        sel = frames[edges[b]:edges[b + 1]]
        res = MSD(species, drift=drift, lags="all").run(traj, start=int(sel[0]),
                                                          stop=int(sel[-1]) + 1, step=step,
                                                          progress=progress).results
        w = window or default_window(res.time[-1])
        block_d.append(fit_msd(res.time, res.msd, w)[0] / 6 * A2_PER_PS_TO_CM2_PER_S)
        block_windows.append(w)
    full = MSD(species, drift=drift, lags="all").run(traj, start=start, stop=stop, step=step,
                                                     progress=progress).results
    w_full = window or default_window(full.time[-1])
    slope, intercept = fit_msd(full.time, full.msd, w_full)
    inside = (full.time >= w_full[0]) & (full.time <= w_full[1])
    exponent = float(np.nanmean(full.exponent[inside])) if inside.any() else np.nan
    msd_end = float(full.msd[inside][-1]) if inside.any() else np.nan
    diffusive = exponent >= 0.9 and msd_end >= min_msd
    if not diffusive:
        warnings.warn(f"{traj.path}: {species} MSD is not diffusive in {w_full} ps (exponent "
                      f"{exponent:.2f}, MSD {msd_end:.2f} Å² at the window end); D is not reliable",
                      NotDiffusiveWarning, stacklevel=2)
    block_d = np.array(block_d)
    return SimpleNamespace(
        D=slope / 6 * A2_PER_PS_TO_CM2_PER_S, D_err=float(block_d.std(ddof=1) / np.sqrt(n_blocks)),
        D_blocks=block_d, D_blocks_mean=float(block_d.mean()), intercept=intercept,
        window=w_full, exponent=exponent, diffusive=diffusive, msd=full)


def arrhenius(temperatures, D, D_err=None, extrapolate_to: float = 300.0) -> SimpleNamespace:
    """Weighted fit of ln D = ln D₀ − E_a/(k_B T); returns E_a ± error (eV), D₀ ± error (cm²/s)
    and the extrapolated D at ``extrapolate_to`` K with its propagated error."""
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
    return SimpleNamespace(Ea=float(ea), Ea_err=float(ea_err), D0=float(np.exp(intercept)),
                           D0_err=float(np.exp(intercept) * np.sqrt(cov[0, 0])),
                           T_extrapolated=extrapolate_to, D_extrapolated=float(np.exp(ln_d0)),
                           D_extrapolated_err=float(np.exp(ln_d0) * ln_d0_err), covariance=cov)


def nernst_einstein(D_cm2_s, n_carriers: int, volume_A3: float, temperature: float,
                    charge: int = 1):
    """σ = N (Ze)² D / (V k_B T) in S/cm, from D in cm²/s and the cell volume in Å³."""
    n = n_carriers / (np.asarray(volume_A3, float) * 1e-30)
    sigma_si = n * (charge * constants.e) ** 2 * np.asarray(D_cm2_s) * 1e-4 / (constants.k * temperature)
    return sigma_si * 1e-2
