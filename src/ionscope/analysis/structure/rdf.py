"""Partial radial distribution functions and running coordination numbers.

Chen et al., Nat. Commun. 16, 1057 (2025), Eqs. 1–2:

    g_ij(r) = V / (N_i N_j) · ⟨Σ_{a∈i} Σ_{b∈j, b≠a} δ(r − r_ab)⟩ / (4π r²)
    n_ij(r) = 4π ρ_j ∫_0^r g_ij(s) s² ds

For i = j the normaliser is N_i (N_i − 1), so an ideal gas gives exactly g = 1. The running
coordination is accumulated from the pair counts themselves (the number of j within r of an
average i), which is the integral above without a discretised quadrature.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..base import FrameAnalysis, Snapshot, as_snapshot, neighbor_pairs, species_pairs


class RDF(FrameAnalysis):
    """Time-averaged partial g_ij(r), total g(r) and running coordination n_ij(r).

    Parameters
    ----------
    r_max: largest distance (Å). Periodic images are included, so r_max may exceed half the box.
    dr: bin width (Å). Bin edges are r_min + k·dr, so the histogram below any distance, and
        every number read from it (bond lengths, coordination at a cutoff), does not depend on
        r_max; r_max is rounded up to a whole number of bins.
    bins: number of bins on [r_min, r_max] instead of ``dr`` (then the width depends on r_max).
    pairs: species pairs (i, j); default every unordered pair of the species present.
    """

    def __init__(self, r_max: float = 10.0, dr: float = 0.02, r_min: float = 0.0,
                 pairs: Sequence[tuple[str, str]] | None = None, bins: int | None = None) -> None:
        if not (np.isfinite(r_max) and np.isfinite(r_min) and r_max > r_min >= 0):
            raise ValueError(f"need 0 <= r_min < r_max, got r_min={r_min}, r_max={r_max}")
        if bins is not None:
            if int(bins) < 1:
                raise ValueError(f"bins must be at least 1, got {bins}")
            self.bins, self.dr = int(bins), (float(r_max) - float(r_min)) / int(bins)
        else:
            if not (np.isfinite(dr) and dr > 0):
                raise ValueError(f"dr must be a positive bin width (Å), got {dr}")
            self.dr = float(dr)
            self.bins = int(np.ceil((float(r_max) - float(r_min)) / self.dr - 1e-9))
        self.r_min = float(r_min)
        self.edges = self.r_min + self.dr * np.arange(self.bins + 1)
        self.r_max = float(self.edges[-1])
        self._pairs = None if pairs is None else [tuple(p) for p in pairs]
        super().__init__()

    def _reset(self) -> None:
        self._counts: dict[tuple[str, str], np.ndarray] = {}
        self._norm: dict[tuple[str, str], float] = {}
        self._centres: dict[tuple[str, str], float] = {}
        self._total = np.zeros(self.bins)
        self._total_norm = 0.0
        self._density = 0.0
        self._composition: dict[str, float] = {}

    def _accumulate(self, snap: Snapshot) -> None:
        i, j, d = neighbor_pairs(snap, self.r_max, "ijd")
        species = list(dict.fromkeys(snap.symbols.tolist()))
        pairs = self._pairs or species_pairs(sorted(species))   # Li, P, S: one column order for every input
        missing = {s for pair in pairs for s in pair} - set(species)
        if missing:
            raise ValueError(f"pairs {pairs}: species {sorted(missing)} not present (have {species})")
        volume = snap.volume
        codes = {s: k for k, s in enumerate(species)}
        sym_code = np.array([codes[s] for s in snap.symbols])
        ns = len(species)
        # one histogram of (species of i, species of j, distance bin) by a single bincount
        bin_index = np.floor((d - self.r_min) / self.dr).astype(np.int64)
        keep = (bin_index >= 0) & (bin_index < self.bins)
        key = (sym_code[i[keep]] * ns + sym_code[j[keep]]) * self.bins + bin_index[keep]
        hist = np.bincount(key, minlength=ns * ns * self.bins).reshape(ns, ns, self.bins)
        counts_of = {s: int(np.sum(sym_code == codes[s])) for s in species}
        for a, b in pairs:
            na, nb = counts_of[a], counts_of[b]
            self._counts[(a, b)] = self._counts.get((a, b), 0.0) + hist[codes[a], codes[b]]
            self._norm[(a, b)] = self._norm.get((a, b), 0.0) + na * (nb - (a == b)) / volume
            self._centres[(a, b)] = self._centres.get((a, b), 0.0) + na
        n = len(snap.symbols)
        self._total += hist.sum(axis=(0, 1))
        self._total_norm += n * (n - 1) / volume
        self._density += n / volume
        for s in species:
            self._composition[s] = self._composition.get(s, 0.0) + counts_of[s] / n

    def _finalize(self) -> None:
        shell = 4.0 / 3.0 * np.pi * (self.edges[1:] ** 3 - self.edges[:-1] ** 3)
        r = 0.5 * (self.edges[1:] + self.edges[:-1])
        g, n = {}, {}
        for pair, counts in self._counts.items():
            g[pair] = counts / (self._norm[pair] * shell)
            n[pair] = np.cumsum(counts) / self._centres[pair]
        self.results.r = r
        self.results.edges = self.edges
        self.results.g = g
        self.results.n = n
        self.results.g_total = self._total / (self._total_norm * shell)
        self.results.density = self._density / self.n_frames
        self.results.composition = {s: c / self.n_frames for s, c in self._composition.items()}


def coordination_numbers(system, center: str, neighbor: str, cutoff: float) -> np.ndarray:
    """Number of ``neighbor`` atoms within ``cutoff`` of every ``center`` atom (one frame)."""
    snap = as_snapshot(system)
    centres = snap.indices(center)
    i, j = neighbor_pairs(snap, cutoff, "ij")
    mask = snap.symbols[j] == neighbor
    counts = np.bincount(i[mask], minlength=len(snap.symbols))
    return counts[centres]


def coordination_number(rdf_results, pair: tuple[str, str], cutoff: float) -> float:
    """Mean number of j within ``cutoff`` of an i, n_ij(cutoff), from :class:`RDF` results: the
    running coordination at the last bin edge not beyond the cutoff."""
    upper = rdf_results.edges[1:]
    if cutoff > upper[-1] * (1 + 1e-12):
        raise ValueError(f"cutoff {cutoff} Å is beyond the g(r) range (r_max {upper[-1]:g} Å)")
    k = int(np.searchsorted(upper, cutoff * (1 + 1e-12), side="right")) - 1
    return float(rdf_results.n[pair][k]) if k >= 0 else 0.0


def mean_bond_length(rdf_results, pair: tuple[str, str], cutoff: float) -> float:
    """Mean i–j distance below ``cutoff`` from the pair-count histogram of :class:`RDF` results."""
    counts = np.diff(np.r_[0.0, rdf_results.n[pair]])
    inside = rdf_results.r <= cutoff
    if counts[inside].sum() == 0:
        return float("nan")
    return float(np.sum(rdf_results.r[inside] * counts[inside]) / counts[inside].sum())
