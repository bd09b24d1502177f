"""Time-origin-averaged displacement moments by FFT, for every lag at once.

For a coordinate series x(t) (t = 0…N−1) and origin weights w(t) (1 for a plain average, an
indicator for "atom in region R at the origin"), with a = |x|² and c = x(t+τ)·x(t):

    Σ_t w(t) |Δ(τ)|²  = C[a, w] + W[a] − 2 Σ_k C[x_k, w x_k]
    Σ_t w(t) |Δ(τ)|⁴  = C[a², w] + 2 C[a, w a] + W[a²] − 4 Σ_k (C[a x_k, w x_k] + C[x_k, w a x_k])
                        + 4 Σ_kl C[x_k x_l, w x_k x_l]

where C[f, g](τ) = Σ_{t<N−τ} f(t+τ) g(t) is a cross-correlation (one FFT product) and
W[f](τ) = Σ_{t<N−τ} w(t) f(t) a cumulative sum (the fast correlation algorithm of Calandrini
et al., nMoldyn, J. Chem. Phys. 2011, extended to the fourth moment). All products are summed
in frequency space, so every moment costs one inverse FFT. Positions are centred per atom first
so that no large numbers cancel.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft


class MomentSums:
    """Running sums over atoms of Σ_t w|Δ|², Σ_t wΔ_k², Σ_t w|Δ|⁴ and Σ_t w at every lag."""

    def __init__(self, n_frames: int, fourth: bool = True) -> None:
        self.n = n_frames
        self.fourth = fourth
        self.m2 = np.zeros(n_frames)
        self.m2_xyz = np.zeros((n_frames, 3))
        self.m4 = np.zeros(n_frames)
        self.count = np.zeros(n_frames)

    def add(self, positions: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add atoms: positions (N, n_atoms, 3) unwrapped; weights (N, n_atoms) or None."""
        x = positions - positions.mean(axis=0, keepdims=True)
        if weights is None:
            self._add_uniform(x)
        else:
            self._add_weighted(x, np.asarray(weights, float))

    def _size(self) -> int:
        return sfft.next_fast_len(2 * self.n, real=True)

    def _inverse(self, spectrum: np.ndarray) -> np.ndarray:
        """Sum over atoms in frequency space, then one inverse FFT: lags 0…N−1."""
        return sfft.irfft(spectrum.sum(axis=1), n=self._size())[: self.n]

    @staticmethod
    def _head(f: np.ndarray) -> np.ndarray:
        """Σ_{t<N−τ} f(t), summed over atoms, for every lag τ."""
        return np.cumsum(f.sum(axis=1))[::-1]

    @staticmethod
    def _tail(f: np.ndarray) -> np.ndarray:
        """Σ_{t≥τ} f(t) = Σ_{t<N−τ} f(t+τ), summed over atoms, for every lag τ."""
        return np.cumsum(f.sum(axis=1)[::-1])[::-1]

    def _add_uniform(self, x: np.ndarray) -> None:
        """w ≡ 1: the correlations with w become window sums, the rest autocorrelations."""
        size = self._size()
        fwd = lambda f: sfft.rfft(f, n=size, axis=0)  # noqa: E731
        a = np.einsum("tak,tak->ta", x, x)
        spec_x = [fwd(x[..., k]) for k in range(3)]
        power = [(s * np.conj(s)).real for s in spec_x]
        auto = [self._inverse(p) for p in power]
        for k in range(3):
            sq = x[..., k] ** 2
            self.m2_xyz[:, k] += self._head(sq) + self._tail(sq) - 2 * auto[k]
        self.m2 += self._head(a) + self._tail(a) - 2 * sum(auto)
        self.count += np.arange(self.n, 0, -1) * x.shape[1]
        if not self.fourth:
            return
        spec_a = fwd(a)
        spec = 2 * (spec_a * np.conj(spec_a)).real
        for k in range(3):
            spec -= 8 * (fwd(a * x[..., k]) * np.conj(spec_x[k])).real
            for l in range(k, 3):
                p = fwd(x[..., k] * x[..., l])
                spec += (4 if k == l else 8) * (p * np.conj(p)).real
        a2 = a * a
        self.m4 += self._inverse(spec) + self._head(a2) + self._tail(a2)

    def _add_weighted(self, x: np.ndarray, w: np.ndarray) -> None:
        size = self._size()
        fwd = lambda f: sfft.rfft(f, n=size, axis=0)  # noqa: E731
        spec_w = fwd(w)

        def corr(spec_f, g):  # Σ_t f(t+τ) g(t) in frequency space, to be inverted once
            return spec_f * np.conj(fwd(g))

        a = np.einsum("tak,tak->ta", x, x)
        spec_a = fwd(a)
        spec_x = [fwd(x[..., k]) for k in range(3)]
        msd_spec = spec_a * np.conj(spec_w)
        for k in range(3):
            cross = corr(spec_x[k], w * x[..., k])
            comp = fwd(x[..., k] ** 2) * np.conj(spec_w) - 2 * cross
            self.m2_xyz[:, k] += self._inverse(comp) + self._head(w * x[..., k] ** 2)
            msd_spec = msd_spec - 2 * cross
        self.m2 += self._inverse(msd_spec) + self._head(w * a)
        self.count += self._head(w)
        if not self.fourth:
            return
        spec = fwd(a * a) * np.conj(spec_w) + 2 * corr(spec_a, w * a)
        for k in range(3):
            spec -= 4 * (corr(fwd(a * x[..., k]), w * x[..., k]) + corr(spec_x[k], w * a * x[..., k]))
            for l in range(k, 3):
                prod = x[..., k] * x[..., l]
                spec += (4 if k == l else 8) * corr(fwd(prod), w * prod)
        self.m4 += self._inverse(spec) + self._head(w * a * a)

    def averages(self):
        """⟨|Δ|²⟩, ⟨Δ_k²⟩ and ⟨|Δ|⁴⟩ at every lag (NaN where no origin contributes)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(self.count > 0, self.count, np.nan)
            return self.m2 / c, self.m2_xyz / c[:, None], self.m4 / c


def per_atom_msd(positions: np.ndarray) -> np.ndarray:
    """Time-origin-averaged MSD of every atom at every lag 0…N−1, (N, n_atoms), by FFT:
    (Σ_{t<N−τ} a(t) + Σ_{t≥τ} a(t) − 2 Σ_k C[x_k, x_k](τ)) / (N − τ) with a = |x|²."""
    x = positions - positions.mean(axis=0, keepdims=True)
    n = len(x)
    size = sfft.next_fast_len(2 * n, real=True)
    spec = sfft.rfft(x, n=size, axis=0)
    auto = sfft.irfft((spec * np.conj(spec)).real.sum(axis=-1), n=size, axis=0)[:n]
    a = np.einsum("tak,tak->ta", x, x)
    head = np.cumsum(a, axis=0)[::-1]
    tail = np.cumsum(a[::-1], axis=0)[::-1]
    return (head + tail - 2 * auto) / np.arange(n, 0, -1)[:, None]
