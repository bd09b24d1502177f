"""Faber–Ziman partial structure factors and neutron / X-ray total structure factors.

Chen et al. (2025), Eqs. 3–5, following Faber & Ziman, Philos. Mag. 11, 153 (1965):

    S_ij(Q) = 1 + 4πρ ∫_0^R r² [g_ij(r) − 1] sin(Qr)/(Qr) W(r) dr
    S(Q)    = Σ_ij c_i c_j w_i(Q) w_j(Q) S_ij(Q) / (Σ_i c_i w_i(Q))²

with ρ the total number density, c the atomic fractions, w = b (coherent neutron scattering
lengths) or f(Q) (X-ray atomic form factors, Cromer–Mann), and the Lorch window
W(r) = sin(πr/R)/(πr/R) against truncation ripples. The transform of g(r) truncated at R
smears S(Q) over ~2π/R and fails below it, which in a small cell is most of the low-Q range.

:class:`DirectStructureFactor` avoids the transform: for every vector q of the reciprocal
lattice of the periodic cell with 0 < |q| ≤ Q_max, with ρ_i(q) = Σ_{a∈i} exp(iq·r_a),

    S_ij(q) = 1 + N Re⟨ρ_i(q) ρ_j(q)*⟩ / (N_i N_j) − δ_ij N / N_i

(the same Faber–Ziman partials, Liu et al. / freud's ``StaticStructureFactorDirect``
normalisation), averaged over the vectors in each |q| bin and over frames. The amplitudes are
products of per-axis phase tables, ρ_i(h, k, l) = Σ_a e^{2πihs₁} e^{2πiks₂} e^{2πils₃} (s the
fractional coordinates), summed over atoms by one complex matrix product per slab of l.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Mapping

import numpy as np
from periodictable.cromermann import fxrayatq

from ..base import FrameAnalysis, Snapshot

#: Coherent neutron scattering lengths (fm), Sears, Neutron News 3, 26 (1992).
NEUTRON_B = {"Li": -1.90, "P": 5.13, "S": 2.847, "O": 5.803, "Ge": 8.185, "Si": 4.1491,
             "Cl": 9.577, "Br": 6.795, "I": 5.28, "Na": 3.63}


def xray_form_factor(symbol: str, q: np.ndarray) -> np.ndarray:
    """Cromer–Mann X-ray atomic form factor f(Q) of a neutral atom (International Tables C)."""
    return np.asarray(fxrayatq(symbol, np.asarray(q, float)), float)


def window(r: np.ndarray, r_max: float, kind: str | None = "lorch") -> np.ndarray:
    if kind is None or kind == "none":
        return np.ones_like(r)
    if kind == "lorch":
        return np.sinc(r / r_max)  # numpy's sinc is sin(πx)/(πx)
    raise ValueError(f"unknown window {kind!r}; use 'lorch' or None")


def partial_structure_factors(r: np.ndarray, g: Mapping[tuple[str, str], np.ndarray],
                              density: float, q: np.ndarray,
                              window_kind: str | None = "lorch") -> dict[tuple[str, str], np.ndarray]:
    """S_ij(Q) on ``q`` (Å⁻¹) from g_ij(r) sampled at bin centres ``r`` (uniform spacing)."""
    q = np.asarray(q, float)
    dr = r[1] - r[0]
    r_max = r[-1] + dr / 2
    kernel = r[None, :] ** 2 * np.sinc(np.outer(q, r) / np.pi) * window(r, r_max, window_kind)
    return {pair: 1.0 + 4 * np.pi * density * (kernel @ (gij - 1.0)) * dr
            for pair, gij in g.items()}


def weighted_total(s_partial: Mapping[tuple[str, str], np.ndarray],
                   composition: Mapping[str, float], weights: Mapping[str, np.ndarray]) -> np.ndarray:
    """Σ_ij c_i c_j w_i w_j S_ij / (Σ c_i w_i)², counting i ≠ j pairs twice."""
    species = list(composition)
    missing = [(a, b) for a in species for b in species
               if (a, b) not in s_partial and (b, a) not in s_partial]
    if missing:
        raise ValueError(f"partial structure factors missing for pairs {missing}")
    num = 0.0
    for a in species:
        for b in species:
            sab = s_partial.get((a, b), s_partial.get((b, a)))
            num = num + composition[a] * composition[b] * weights[a] * weights[b] * sab
    mean = sum(composition[a] * weights[a] for a in species)
    return num / mean ** 2


def _totals(q: np.ndarray, partial, composition: Mapping[str, float],
            neutron_b: Mapping[str, float] | None) -> SimpleNamespace:
    """Neutron (b) and X-ray (Cromer–Mann f(Q)) weighted totals of Faber–Ziman partials, and the
    same scattering normalised by ⟨w²⟩ instead of ⟨w⟩². The Faber–Ziman S(Q) of a dense,
    charge-neutral system tends to 1 − ⟨w²⟩/⟨w⟩² as Q → 0 — about −3 for neutrons on Li
    thiophosphates, whose b_Li < 0 makes ⟨b⟩ small — so a negative low-Q neutron S(Q) is
    physics, not an artefact; I(Q)/(N⟨w²⟩) tends to a small positive number instead."""
    b = dict(NEUTRON_B, **(neutron_b or {}))
    unknown = [s for s in composition if s not in b]
    if unknown:
        raise ValueError(f"no neutron scattering length for {unknown}; pass neutron_b")
    out = SimpleNamespace(q=q, partial=partial)
    for kind, w in (("neutron", {s: b[s] for s in composition}),
                    ("xray", {s: xray_form_factor(s, q) for s in composition})):
        total = weighted_total(partial, composition, w)
        mean = sum(composition[s] * w[s] for s in composition)
        mean_sq = sum(composition[s] * w[s] ** 2 for s in composition)
        setattr(out, kind, total)
        # I(Q)/(N⟨w²⟩) = |Σ_a w_a e^{iQ·r_a}|²/(N⟨w²⟩) ≥ 0: the same data normalised by ⟨w²⟩
        setattr(out, f"{kind}_intensity", 1.0 + mean ** 2 * (total - 1.0) / mean_sq)
    return out


def structure_factors(rdf_results, q: np.ndarray | None = None, window_kind: str | None = "lorch",
                      neutron_b: Mapping[str, float] | None = None) -> SimpleNamespace:
    """Partial, neutron and X-ray structure factors from :class:`RDF` results (all pairs): the
    g(r) route, for cells much larger than 2π/Q of interest (see :class:`DirectStructureFactor`)."""
    q = np.linspace(0.3, 20.0, 600) if q is None else np.asarray(q, float)
    partial = partial_structure_factors(rdf_results.r, rdf_results.g, rdf_results.density, q,
                                        window_kind)
    out = _totals(q, partial, rdf_results.composition, neutron_b)
    out.method = "g(r)"
    return out


class DirectStructureFactor(FrameAnalysis):
    """Faber–Ziman partial S_ij(Q) and neutron / X-ray S(Q) from positions in reciprocal space.

    Every reciprocal-lattice vector of the cell with 0 < |q| ≤ ``q_max`` (Å⁻¹) is used; vectors
    are binned by |q| in bins of ``bin_width``, and ``results.q`` is the mean |q| of the vectors
    of each non-empty bin (so shells of a small cell sit at their exact |q|). No transform, no
    window: S(Q) is exact for the periodic cell down to its smallest |q| = 2π/L. ``memory_mb``
    bounds the phase tables of one slab of vectors.
    """

    def __init__(self, q_max: float = 15.0, bin_width: float = 0.05,
                 neutron_b: Mapping[str, float] | None = None, memory_mb: float = 64.0) -> None:
        if q_max <= 0 or bin_width <= 0:
            raise ValueError(f"q_max ({q_max}) and bin_width ({bin_width}) must be positive")
        self.q_max, self.bin_width, self.neutron_b = float(q_max), float(bin_width), neutron_b
        self.memory_mb = memory_mb
        self.n_bins = int(np.ceil(self.q_max / self.bin_width))
        super().__init__()

    def _reset(self) -> None:
        self._sums: dict[tuple[str, str], np.ndarray] = {}
        self._count = np.zeros(self.n_bins)
        self._qsum = np.zeros(self.n_bins)
        self._composition: dict[str, float] = {}

    def _accumulate(self, snap: Snapshot) -> None:
        species = sorted(set(snap.symbols.tolist()))      # pair keys as in :class:`RDF`
        n = len(snap.symbols)
        counts = {s: int(np.sum(snap.symbols == s)) for s in species}
        frac = np.linalg.solve(snap.cell.T, snap.positions.T).T
        recip = 2 * np.pi * np.linalg.inv(snap.cell).T            # rows b_1, b_2, b_3
        bounds = [int(np.floor(self.q_max * np.linalg.norm(snap.cell[k]) / (2 * np.pi))) for k in range(3)]
        h = np.arange(-bounds[0], bounds[0] + 1)
        k = np.arange(-bounds[1], bounds[1] + 1)
        phase = {s: [np.exp(2j * np.pi * np.outer(frac[snap.symbols == s, 0], h)),
                     np.exp(2j * np.pi * np.outer(frac[snap.symbols == s, 1], k))] for s in species}
        pairs = [(a, b) for i, a in enumerate(species) for b in species[i:]]
        slab = max(1, int(self.memory_mb * 2 ** 20 // (16 * len(k) * max(counts.values()))))
        for l0 in range(0, bounds[2] + 1, slab):
            l = np.arange(l0, min(bounds[2], l0 + slab - 1) + 1)
            q = (h[:, None, None, None] * recip[0] + k[None, :, None, None] * recip[1]
                 + l[None, None, :, None] * recip[2])
            qn = np.linalg.norm(q, axis=-1).ravel()
            # l > 0 stands for its Friedel mate −q as well; the l = 0 plane holds both
            weight = np.broadcast_to(np.where(l > 0, 2.0, 1.0), (len(h), len(k), len(l))).ravel()
            keep = (qn > 1e-12) & (qn <= self.q_max)
            bins = np.minimum((qn[keep] / self.bin_width).astype(int), self.n_bins - 1)
            w = weight[keep]
            rho = {}
            for s in species:
                e_h, e_k = phase[s]
                e_l = np.exp(2j * np.pi * np.outer(frac[snap.symbols == s, 2], l))
                kl = (e_k[:, :, None] * e_l[:, None, :]).reshape(len(e_k), -1)
                rho[s] = (e_h.T @ kl).ravel()[keep]                 # Σ_atoms, (h, k, l) flattened
            self._count += np.bincount(bins, w, self.n_bins)
            self._qsum += np.bincount(bins, w * qn[keep], self.n_bins)
            for a, b in pairs:
                p = (rho[a] * np.conj(rho[b])).real * n / (counts[a] * counts[b])
                if a == b:
                    p = p - n / counts[a]
                self._sums[(a, b)] = self._sums.get((a, b), 0.0) + np.bincount(bins, w * p, self.n_bins)
        for s in species:
            self._composition[s] = self._composition.get(s, 0.0) + counts[s] / n

    def _finalize(self) -> None:
        filled = self._count > 0
        q = self._qsum[filled] / self._count[filled]
        partial = {pair: 1.0 + s[filled] / self._count[filled] for pair, s in self._sums.items()}
        comp = {s: c / self.n_frames for s, c in self._composition.items()}
        out = _totals(q, partial, comp, self.neutron_b)
        self.results.q, self.results.partial = q, partial
        self.results.neutron, self.results.xray = out.neutron, out.xray
        self.results.neutron_intensity, self.results.xray_intensity = out.neutron_intensity, out.xray_intensity
        self.results.n_vectors = self._count[filled] / self.n_frames
        self.results.composition = comp
        self.results.method = "direct"
