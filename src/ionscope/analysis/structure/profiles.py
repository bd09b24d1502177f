"""Profiles along one axis: crystalline order F(Z), interfaces, composition and mass density.

F(Z) follows the construction of Chen et al. (2025), Eq. 6: the atoms are smeared into a 3D
Gaussian density (width σ); the box is cut into slabs normal to the axis; the in-plane density
of each slab is Fourier transformed in 2D; a crystalline slab concentrates its intensity in a
few Bragg spots while an amorphous slab spreads it as speckle. The 2D transform is evaluated
exactly at the reciprocal vectors k of the periodic in-plane lattice (what an FFT of the
gridded density samples), with the Gaussian entering as exp(−σ²k²/2):

    I_Z(k) = |Σ_{j∈slab} exp(−i k·r_j)|² exp(−σ²k²) / N_slab
    O(Z)   = [max_{0<|k|≤k_max} I_Z(k) − H_M] / N_slab

where H_M = Σ_{m≤M} 1/m is the expected maximum of M speckle intensities of a random slab
(exponentially distributed with mean 1), so O ≈ 0 for an amorphous slab and O ≈ the squared
Bragg amplitude for a crystalline one. F(Z) = √O(Z) / max_Z √O(Z): amplitudes are linear in the
fraction of crystalline atoms in a slab, so F = ½ marks the interface without bias. Interfaces
are the extrema of dF/dZ; their widths are the full widths at half maximum of |dF/dZ|.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from ase.data import atomic_masses, atomic_numbers
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks, peak_widths

from ...io.frame import fractional_positions, lammps_form
from ..base import as_snapshot

_AMU_PER_A3_TO_G_CM3 = 1.66053906660


def _axis_frame(snap, axis: int):
    """Positions rotated so that the chosen cell vector is the third one and the other two lie
    in the xy plane; returns in-plane cell (2×2), normal length, positions."""
    order = [k for k in range(3) if k != axis] + [axis]
    cell = snap.cell[order]
    lower, rotation = lammps_form(cell)
    pos = snap.positions @ rotation
    frac = fractional_positions(pos, lower)
    return lower, frac


def order_profile(system, axis: int = 2, slab: float = 3.0, step: float = 0.5,
                  sigma: float = 0.3, k_max: float = 3.0, species=None) -> SimpleNamespace:
    """F(Z) of one frame along cell axis ``axis`` (0, 1, 2), with slabs of thickness ``slab``
    (Å) every ``step`` Å; see the module docstring. Returns z, order O(Z), F(Z), amorphization
    1 − F(Z), and the interfaces."""
    snap = as_snapshot(system)
    sel = snap.indices(species)
    lower, frac = _axis_frame(snap, axis)
    frac = frac[sel]
    height = lower[2, 2]
    plane = lower[:2, :2]
    recip = 2 * np.pi * np.linalg.inv(plane).T  # rows: in-plane reciprocal vectors
    h_max = int(np.ceil(k_max / np.min(np.linalg.norm(recip, axis=1)))) + 1
    hk = np.array([(h, k) for h in range(-h_max, h_max + 1) for k in range(0, h_max + 1)
                   if (k > 0 or h > 0)])
    kvec = hk @ recip
    knorm = np.linalg.norm(kvec, axis=1)
    keep = knorm <= k_max
    kvec, knorm = kvec[keep], knorm[keep]
    damping = np.exp(-(sigma * knorm) ** 2)
    speckle_max = np.sum(1.0 / np.arange(1, len(kvec) + 1))
    xy = frac[:, :2] @ plane
    z = frac[:, 2] * height
    centres = np.arange(0.0, height, step)
    order = np.zeros(len(centres))
    for c, zc in enumerate(centres):
        dz = (z - zc + height / 2) % height - height / 2
        inside = np.abs(dz) <= slab / 2
        n = int(inside.sum())
        if n < 2:
            continue
        phase = np.exp(-1j * (xy[inside] @ kvec.T))
        intensity = np.abs(phase.sum(axis=0)) ** 2 * damping / n
        order[c] = max(intensity.max() - speckle_max, 0.0) / n
    amplitude = np.sqrt(order)
    f = amplitude / amplitude.max() if amplitude.max() > 0 else amplitude
    interfaces = find_interfaces(centres, f, height)
    return SimpleNamespace(z=centres, order=order, F=f, amorphization=1.0 - f,
                           length=height, **interfaces)


def find_interfaces(z: np.ndarray, f: np.ndarray, length: float, smooth: float = 1.0,
                    n: int = 2) -> dict:
    """The ``n`` steepest points of a periodic profile (positions, signs and FWHM widths of
    |dF/dZ|), after Gaussian smoothing of width ``smooth`` Å."""
    step = z[1] - z[0]
    fs = gaussian_filter1d(f, smooth / step, mode="wrap")
    grad = (np.roll(fs, -1) - np.roll(fs, 1)) / (2 * step)
    tiled = np.tile(np.abs(grad), 3)
    peaks, props = find_peaks(tiled, prominence=0.0)
    middle = (peaks >= len(z)) & (peaks < 2 * len(z))
    peaks, prominence = peaks[middle], props["prominences"][middle]
    top = peaks[np.argsort(prominence)[::-1][:n]]
    widths = peak_widths(tiled, top, rel_height=0.5)[0] * step if len(top) else np.array([])
    top_local = top - len(z)
    order = np.argsort(top_local)
    return {"interfaces": z[top_local][order], "interface_widths": widths[order],
            "interface_sign": np.sign(grad[top_local][order]), "dFdz": grad}


def composition_profile(system, axis: int = 2, bin_width: float = 1.0) -> SimpleNamespace:
    """Number density per species (Å⁻³) and mass density (g/cm³) in bins along ``axis``."""
    snap = as_snapshot(system)
    lower, frac = _axis_frame(snap, axis)
    height = lower[2, 2]
    bins = max(1, int(round(height / bin_width)))
    edges = np.linspace(0.0, height, bins + 1)
    slab_volume = abs(np.linalg.det(lower)) / bins
    z = frac[:, 2] * height
    density = {}
    mass = np.zeros(bins)
    for s in dict.fromkeys(snap.symbols.tolist()):
        counts = np.histogram(z[snap.symbols == s], edges)[0]
        density[s] = counts / slab_volume
        mass += counts * atomic_masses[atomic_numbers[s]]
    return SimpleNamespace(z=0.5 * (edges[1:] + edges[:-1]), number_density=density,
                           mass_density=mass / slab_volume * _AMU_PER_A3_TO_G_CM3)
