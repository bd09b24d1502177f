"""Powder X-ray diffraction of a periodic snapshot and its crystallinity.

The pattern sums |F(G)|² over every reciprocal-lattice vector G of the simulation cell,
F(G) = Σ_j f_j(|G|) exp(iG·r_j) with Cromer–Mann form factors, multiplied by the
Lorentz–polarisation factor (1 + cos²2θ)/(sin²θ cos θ) and broadened by a Gaussian. For a
crystal cell this gives its Bragg peaks; for an amorphous cell, a halo of weak reflections.

Crystallinity follows Shimizu et al.: the area of the crystalline peaks (found by
``scipy.signal.find_peaks`` above a smooth amorphous background) divided by the total area.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy.ndimage import gaussian_filter1d, median_filter
from scipy.signal import find_peaks, peak_widths

from ..base import as_snapshot
from .structure_factor import xray_form_factor

CU_KALPHA = 1.5406


def xrd_pattern(system, wavelength: float = CU_KALPHA, two_theta: tuple[float, float] = (10.0, 60.0),
                step: float = 0.02, fwhm: float = 0.2, chunk: int = 20000) -> SimpleNamespace:
    """Powder pattern on a 2θ grid (degrees); intensities normalised to a maximum of 100."""
    snap = as_snapshot(system)
    q_max = 4 * np.pi * np.sin(np.radians(two_theta[1] / 2)) / wavelength
    q_min = 4 * np.pi * np.sin(np.radians(two_theta[0] / 2)) / wavelength
    recip = 2 * np.pi * np.linalg.inv(snap.cell).T
    bounds = [int(np.ceil(q_max / (2 * np.pi) * np.linalg.norm(snap.cell[k]))) for k in range(3)]
    h = np.arange(-bounds[0], bounds[0] + 1)
    k = np.arange(-bounds[1], bounds[1] + 1)
    l = np.arange(0, bounds[2] + 1)
    hkl = np.stack(np.meshgrid(h, k, l, indexing="ij"), -1).reshape(-1, 3)
    # Friedel pairs: keep one of ±G (l > 0, or l = 0 and (k > 0 or k = 0 and h > 0)).
    half = (hkl[:, 2] > 0) | ((hkl[:, 2] == 0) & ((hkl[:, 1] > 0) | ((hkl[:, 1] == 0) & (hkl[:, 0] > 0))))
    g = hkl[half] @ recip
    gnorm = np.linalg.norm(g, axis=1)
    keep = (gnorm >= q_min) & (gnorm <= q_max)
    g, gnorm = g[keep], gnorm[keep]
    species = list(dict.fromkeys(snap.symbols.tolist()))
    intensity = np.zeros(len(g))
    for start in range(0, len(g), max(1, chunk // max(1, len(snap.symbols) // 1000 + 1))):
        sl = slice(start, start + chunk)
        amp = np.zeros(len(g[sl]), complex)
        for s in species:
            pos = snap.positions[snap.symbols == s]
            amp += xray_form_factor(s, gnorm[sl]) * np.exp(1j * pos @ g[sl].T).sum(axis=0)
        intensity[sl] = 2 * np.abs(amp) ** 2  # the Friedel mate contributes equally
    theta = np.arcsin(np.clip(gnorm * wavelength / (4 * np.pi), -1, 1))
    lp = (1 + np.cos(2 * theta) ** 2) / (np.sin(theta) ** 2 * np.cos(theta))
    grid = np.arange(two_theta[0], two_theta[1] + step / 2, step)
    stick = np.histogram(np.degrees(2 * theta), bins=np.r_[grid - step / 2, grid[-1] + step / 2],
                         weights=intensity * lp)[0]
    pattern = gaussian_filter1d(stick, fwhm / (2 * np.sqrt(2 * np.log(2))) / step, mode="constant")
    if pattern.max() > 0:
        pattern = 100 * pattern / pattern.max()
    return SimpleNamespace(two_theta=grid, intensity=pattern, wavelength=wavelength)


def crystallinity(two_theta: np.ndarray, intensity: np.ndarray, background_window: float = 4.0,
                  prominence: float = 2.0, min_ratio: float = 2.0) -> SimpleNamespace:
    """Crystalline fraction = Σ peak areas above the amorphous background / total area.

    The background is a running median over ``background_window`` degrees, smoothed; peaks are
    local maxima of the background-subtracted pattern with ``prominence`` (same units as the
    pattern, 0–100) that rise at least ``min_ratio`` times the local background above it (so
    that the speckle of a finite amorphous cell is not taken for Bragg peaks); their area is
    integrated between their bases.
    """
    step = two_theta[1] - two_theta[0]
    window = max(3, int(background_window / step))
    background = gaussian_filter1d(median_filter(intensity, window, mode="nearest"),
                                   window / 4, mode="nearest")
    background = np.minimum(background, intensity)
    excess = intensity - background
    peaks, _ = find_peaks(excess, prominence=prominence)
    peaks = peaks[excess[peaks] >= min_ratio * background[peaks]]
    mask = np.zeros(len(excess), bool)
    if len(peaks):
        _, _, left, right = peak_widths(excess, peaks, rel_height=1.0)
        for a, b in zip(np.floor(left).astype(int), np.ceil(right).astype(int)):
            mask[a:b + 1] = True
    total = np.trapezoid(intensity, two_theta)
    peak_area = np.trapezoid(np.where(mask, excess, 0.0), two_theta)
    return SimpleNamespace(crystallinity=float(peak_area / total) if total > 0 else 0.0,
                           peaks=two_theta[peaks], background=background)
