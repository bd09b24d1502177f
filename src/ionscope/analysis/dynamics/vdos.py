"""Velocity autocorrelation and vibrational density of states per species.

    C(t) = ⟨v_i(t0 + t)·v_i(t0)⟩ / ⟨v_i·v_i⟩,    g(ν) ∝ ∫ C(t) cos(2πνt) w(t) dt

with velocities from central differences of the unwrapped positions (frames must be dense: a
few fs apart) and a Hann window w(t) over the correlation length. ν is in THz (1/ps); the band
centre is ⟨ν⟩ = ∫ ν g dν / ∫ g dν (also given in meV).
"""

from __future__ import annotations

import numpy as np
from scipy import constants
from scipy import fft as sfft

from ..base import Results, TrajectoryAnalysis
from ._access import atom_blocks, frame_times

THZ_TO_MEV = constants.h * 1e12 / constants.e * 1e3


class VibrationalDOS(TrajectoryAnalysis):
    """VACF and VDOS of one species, correlation length ``max_lag_ps``.

    Parameters
    ----------
    species: the analysed species.
    max_lag_ps: length of the velocity autocorrelation (ps); sets the frequency resolution.
    memory_mb: budget for the work arrays of one block of atoms.

    Results
    -------
    time: lag times of the VACF (ps) (n_lag,).
    vacf: normalised velocity autocorrelation C(t), C(0) = 1 (n_lag,).
    frequency_THz: frequencies ν (THz) (n_freq,).
    vdos: g(ν), normalised to ∫ g dν = 1 (1/THz) (n_freq,).
    band_centre_THz: ⟨ν⟩ = ∫ ν g dν (THz).
    band_centre_meV: the same band centre in meV.
    """

    def __init__(self, species: str = "Li", max_lag_ps: float = 2.0, memory_mb: float = 256.0) -> None:
        self.species, self.max_lag_ps, self.memory_mb = species, max_lag_ps, memory_mb

    def _compute(self, traj, start: int, stop: int | None, step: int) -> Results:
        times, dt = frame_times(traj, start, stop, step)
        if dt > 0.02:
            raise ValueError(f"{traj.path}: frames are {dt * 1000:.0f} fs apart; a VDOS needs "
                             f"dense frames (≤ 20 fs, Nyquist {0.5 / dt:.0f} THz)")
        n = len(times) - 2
        n_lag = min(n, int(round(self.max_lag_ps / dt)) + 1)
        size = sfft.next_fast_len(2 * n, real=True)
        acf = np.zeros(n_lag)
        atoms = traj.indices(self.species)
        for _, pos in atom_blocks(traj, atoms, start, stop, step, len(times), 200,
                                  self.memory_mb * 2 ** 20):
            v = (pos[2:] - pos[:-2]) / (2 * dt)
            spec = sfft.rfft(v, n=size, axis=0)
            corr = sfft.irfft((spec * np.conj(spec)).real.sum(axis=(1, 2)), n=size)[:n_lag]
            acf += corr / (n - np.arange(n_lag))
        vacf = acf / acf[0]
        lag_t = np.arange(n_lag) * dt
        windowed = vacf * np.hanning(2 * n_lag)[n_lag:]
        spectrum = sfft.rfft(np.r_[windowed, windowed[-2:0:-1]]).real * dt
        freq = np.fft.rfftfreq(2 * n_lag - 2, d=dt)
        spectrum = np.clip(spectrum, 0, None)
        spectrum /= np.trapezoid(spectrum, freq)
        centre = float(np.trapezoid(freq * spectrum, freq))
        return Results(time=lag_t, vacf=vacf, frequency_THz=freq, vdos=spectrum,
                       band_centre_THz=centre, band_centre_meV=centre * THZ_TO_MEV)
