"""Equations of state from CP2K labels.

:class:`EquationOfState`: frames of one structure at several volumes (e.g. the bundled
``dft/eos-beta-Li3PS4``: the CIF cell and positions scaled isotropically): the pressure
P = tr(W)/(3V) of every frame (W the virial, positive when the cell wants to expand) and the
volume where it crosses zero. A *static, unrelaxed* equation of state: the atoms keep the CIF's
fractional coordinates, which are not the functional's equilibrium positions, so its zero lies
above the functional's equilibrium volume (β-Li3PS4 at PBE-D3: 1.051 V_CIF, while thermal frames
at V_CIF are at −0.5 GPa: ``docs/dft.md``).

:func:`thermal_zero_pressure_volume`: the volume where the mean DFT pressure of thermal frames
(MD snapshots at several volumes and temperatures, labelled with CP2K) vanishes at temperature
T, from the least-squares plane P = a + b (v − v̄) + c (T − T̄) over all frames — the density
that NPT with a potential faithful to the DFT should give at T.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io.deepmd_npy import load_system
from .cp2k import EV_PER_A3_IN_GPA


def diagonal_stress(virial: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Volume (Å³) and diagonal stress W_aa/V (n, 3; GPa) of frames from their virials W (eV,
    n × 9) and cells (n × 9); the pressure is its mean, tr(W)/(3V)."""
    volume = np.abs(np.linalg.det(np.asarray(box).reshape(-1, 3, 3)))
    diagonal = np.einsum("nii->ni", np.asarray(virial).reshape(-1, 3, 3))
    return volume, diagonal / volume[:, None] * EV_PER_A3_IN_GPA


def frame_pressures(system: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Volume (Å³), mean pressure (GPa) and diagonal stress (n, 3; GPa) of every frame of a
    labelled DeePMD npy system, and the system itself (:func:`~ionscope.io.deepmd_npy.load_system`)."""
    data = load_system(system)
    if "virial" not in data:
        raise ValueError(f"{system}: no virial.npy, so no pressure")
    volume, diagonal = diagonal_stress(data["virial"], data["box"])
    return volume, diagonal.mean(axis=1), diagonal, data


@dataclass(frozen=True)
class EquationOfState:
    """Volumes (Å³, ascending), energies (eV) and pressures (GPa) of one labelled volume series."""

    n_atoms: int
    volume: np.ndarray
    energy: np.ndarray
    pressure: np.ndarray
    stress_diagonal: np.ndarray     # (n, 3) P_xx, P_yy, P_zz (GPa)

    @classmethod
    def from_labels(cls, system: str | Path) -> "EquationOfState":
        volume, pressure, diagonal, data = frame_pressures(system)
        if len(volume) < 2 or np.ptp(volume) < 1e-6 * volume.mean():
            raise ValueError(f"{system}: an equation of state needs frames at two volumes or more")
        order = np.argsort(volume)
        return cls(len(data["types"]), volume[order], data["energy"][order], pressure[order],
                   diagonal[order])

    def zero_pressure_volume(self) -> float:
        """V (Å³) where the mean pressure crosses zero; ValueError when no two frames bracket it."""
        crossing = np.flatnonzero(np.diff(np.sign(self.pressure)) != 0)
        if not len(crossing):
            raise ValueError(f"the pressures ({self.pressure.min():.2f} to {self.pressure.max():.2f} "
                             "GPa) do not bracket zero")
        i = crossing[0]
        return float(np.interp(0.0, self.pressure[[i + 1, i]], self.volume[[i + 1, i]]))


def thermal_zero_pressure_volume(systems: Sequence[str | Path], temperatures: Sequence[float],
                                 at: float) -> tuple[float, float]:
    """Zero-pressure volume per atom (Å³/atom) at temperature ``at`` (K) and its standard error,
    from the thermal frames of ``systems`` (one temperature each, K): the least-squares plane
    P = a + b (v − v̄) + c (T − T̄) through every frame's pressure (frames taken as independent),
    v₀ = v̄ − (a + c (at − T̄)) / b, error propagated from the fit's covariance (scaled by the
    residual variance)."""
    if len(systems) != len(temperatures):
        raise ValueError(f"{len(systems)} systems but {len(temperatures)} temperatures")
    v, p, t = [], [], []
    for system, T in zip(systems, temperatures):
        volume, pressure, _, data = frame_pressures(system)
        v += list(volume / len(data["types"]))
        p += list(pressure)
        t += [float(T)] * len(volume)
    v, p, t = map(np.asarray, (v, p, t))
    if len(p) < 4 or np.ptp(v) < 1e-3 * v.mean():
        raise ValueError("a thermal equation of state needs at least 4 frames at several volumes")
    design = np.column_stack([np.ones_like(v), v - v.mean(), t - t.mean()])
    if np.ptp(t) == 0:
        design = design[:, :2]
    coef, *_ = np.linalg.lstsq(design, p, rcond=None)
    dof = max(len(p) - design.shape[1], 1)
    cov = np.linalg.inv(design.T @ design) * np.sum((p - design @ coef) ** 2) / dof
    x = np.array([1.0, 0.0, at - t.mean()])[:design.shape[1]]     # P at v̄ and T = at
    p_at, slope = x @ coef, coef[1]
    v0 = v.mean() - p_at / slope
    # ∂v0/∂coef: −x/b for the intercept terms, + p_at/b² for the slope
    grad = -x / slope
    grad[1] = p_at / slope ** 2
    return float(v0), float(np.sqrt(grad @ cov @ grad))
