"""Per-atom pair-entropy fingerprint (Piaggi & Parrinello, J. Chem. Phys. 147, 114112 (2017)).

    s_S^i = −2πρ k_B ∫_0^{r_m} [g_m^i(r) ln g_m^i(r) − g_m^i(r) + 1] r² dr
    g_m^i(r) = 1/(4πρr²) Σ_j (2πσ²)^{-1/2} exp(−(r − r_ij)²/(2σ²))

and the locally averaged s̄^i = (s^i + Σ_{j: r_ij<r_a} s^j) / (N_i + 1). Values are in units of
k_B; ordered environments give more negative values than disordered ones.
"""

from __future__ import annotations

import numpy as np

from ..base import FrameAnalysis, Snapshot, neighbor_pairs


class PairEntropy(FrameAnalysis):
    """s_S (and s̄_S with ``r_average``) per atom of ``species``, counting neighbours of the same
    selection; ρ is the number density of the selection."""

    def __init__(self, sigma: float = 0.15, r_max: float = 5.0, dr: float = 0.02,
                 r_average: float | None = None, species=None, chunk_pairs: int = 2_000_000) -> None:
        self.sigma, self.r_max, self.dr = sigma, r_max, dr
        self.r_average, self.species, self.chunk_pairs = r_average, species, chunk_pairs
        super().__init__()

    def _reset(self) -> None:
        self._means: list[float] = []

    def _accumulate(self, snap: Snapshot) -> None:
        sel = snap.indices(self.species)
        sub = Snapshot(snap.symbols[sel], snap.positions[sel], snap.cell)
        n = len(sel)
        rho = n / sub.volume
        reach = self.r_max + 4 * self.sigma
        i, j, d = neighbor_pairs(sub, max(reach, self.r_average or 0.0), "ijd")
        near = d <= reach
        r = np.arange(self.dr / 2, self.r_max, self.dr)
        g = np.zeros((n, len(r)))
        ii, dd = i[near], d[near]
        step = max(1, self.chunk_pairs // len(r))
        norm = 1.0 / (np.sqrt(2 * np.pi) * self.sigma * 4 * np.pi * rho * r ** 2)
        for start in range(0, len(ii), step):
            block = slice(start, start + step)
            gauss = np.exp(-((r[None, :] - dd[block, None]) ** 2) / (2 * self.sigma ** 2))
            np.add.at(g, ii[block], gauss * norm)
        with np.errstate(divide="ignore", invalid="ignore"):
            integrand = np.where(g > 0, g * np.log(g), 0.0) - g + 1.0
        s = -2 * np.pi * rho * np.sum(integrand * r ** 2, axis=1) * self.dr
        self.results.indices = sel
        self.results.entropy = s
        if self.r_average is not None:
            close = d <= self.r_average
            total = s + np.bincount(i[close], weights=s[j[close]], minlength=n)
            self.results.entropy_avg = total / (1 + np.bincount(i[close], minlength=n))
        self._means.append(float(s.mean()))

    def _finalize(self) -> None:
        self.results.mean_per_frame = np.array(self._means)
