"""Steinhardt bond-orientational order: q_l, w_l, Lechner–Dellago q̄_l, Voronoi-weighted q_l.

Steinhardt, Nelson & Ronchetti, Phys. Rev. B 28, 784 (1983):

    q_lm(i) = Σ_j w_ij Y_lm(r̂_ij) / Σ_j w_ij,     q_l(i) = √(4π/(2l+1) Σ_m |q_lm(i)|²)
    ŵ_l(i)  = Σ_{m1+m2+m3=0} (l l l; m1 m2 m3) q_lm1 q_lm2 q_lm3 / (Σ_m |q_lm|²)^{3/2}

with w_ij = 1 for cutoff or k-nearest neighbours, or w_ij = A_ij (the area of the shared Voronoi
face; Mickel et al., J. Chem. Phys. 138, 044501 (2013); Chen et al. 2025 Eq. 9). The averaged
q̄_l of Lechner & Dellago, J. Chem. Phys. 129, 114707 (2008) (Chen et al. Eq. 10) replaces
q_lm(i) by (q_lm(i) + Σ_{k∈N(i)} q_lm(k)) / (N(i) + 1) before forming the invariant; every
neighbour k carries its own q_lm(k), from its own neighbours of ``neighbor_species``, also when
it is not of ``species`` (P centres averaged with the q_lm of their S neighbours).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import factorial, sqrt
from typing import Sequence

import numpy as np
from numpy.polynomial import legendre, polynomial
from scipy.sparse import csr_matrix

from ..base import FrameAnalysis, Snapshot, neighbor_pairs
from .voronoi import voronoi_bonds


@lru_cache(maxsize=None)
def wigner3j_lll(l: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero Wigner 3j symbols (l l l; m1 m2 −m1−m2) by the Racah formula, as index pairs
    (m1 + l, m2 + l) and their values."""
    f = factorial
    delta = Fraction(f(l) ** 3, f(3 * l + 1))
    pairs, values = [], []
    for m1 in range(-l, l + 1):
        for m2 in range(-l, l + 1):
            m3 = -m1 - m2
            if abs(m3) > l:
                continue
            pref = delta * f(l + m1) * f(l - m1) * f(l + m2) * f(l - m2) * f(l + m3) * f(l - m3)
            total = Fraction(0)
            for k in range(0, 3 * l + 1):
                terms = (k, l - k, l - m1 - k, l + m2 - k, m1 + k, k - m2)
                if min(terms) < 0:
                    continue
                denom = 1
                for t in terms:
                    denom *= f(t)
                total += Fraction((-1) ** k, denom)
            value = (-1) ** (m3 % 2) * sqrt(float(pref)) * float(total)
            if abs(value) > 1e-15:
                pairs.append((m1 + l, m2 + l))
                values.append(value)
    return np.array(pairs, int), np.array(values)


@lru_cache(maxsize=None)
def _legendre_factors(l: int) -> list[tuple[float, np.ndarray]]:
    """For m = 0…l: the normalisation N_lm (with the Condon–Shortley phase) and the power-series
    coefficients of d^m P_l / dx^m, so that Y_lm = N_lm (d^m P_l/dx^m)(cos θ) (sin θ e^{iφ})^m."""
    series = legendre.leg2poly([0] * l + [1])
    out = []
    for m in range(l + 1):
        coef = polynomial.polyder(series, m) if m else series
        norm = (-1) ** m * sqrt((2 * l + 1) / (4 * np.pi) * factorial(l - m) / factorial(l + m))
        out.append((norm, np.asarray(coef, float)))
    return out


def spherical_harmonics(l: int, vectors: np.ndarray) -> np.ndarray:
    """Y_lm(r̂) for m = 0…l, shape (len(vectors), l + 1), without trigonometric functions:
    sin θ e^{iφ} = (x + iy)/r and cos θ = z/r (same convention as scipy's ``sph_harm_y``)."""
    r = np.linalg.norm(vectors, axis=1)
    cos_theta = vectors[:, 2] / r
    sin_phase = (vectors[:, 0] + 1j * vectors[:, 1]) / r
    out = np.empty((len(vectors), l + 1), complex)
    power = np.ones(len(vectors), complex)
    for m, (norm, coef) in enumerate(_legendre_factors(l)):
        if m:
            power = power * sin_phase
        out[:, m] = norm * np.polynomial.polynomial.polyval(cos_theta, coef) * power
    return out


def qlm_from_bonds(l: int, centre: np.ndarray, vectors: np.ndarray, weights: np.ndarray,
                   n_atoms: int) -> np.ndarray:
    """q_lm (n_atoms, 2l+1) for m = −l…l from bond vectors, weights normalised per centre."""
    norm = np.bincount(centre, weights=weights, minlength=n_atoms)
    norm[norm == 0] = 1.0
    ylm = spherical_harmonics(l, vectors) * weights[:, None]
    out = np.zeros((n_atoms, 2 * l + 1), complex)
    for m in range(0, l + 1):
        y = ylm[:, m]
        q = (np.bincount(centre, y.real, n_atoms) + 1j * np.bincount(centre, y.imag, n_atoms)) / norm
        out[:, l + m] = q
        if m:
            out[:, l - m] = (-1) ** m * np.conj(q)
    return out


def invariants(qlm: np.ndarray, l: int, wl: bool) -> tuple[np.ndarray, np.ndarray | None]:
    power = np.sum(np.abs(qlm) ** 2, axis=1)
    ql = np.sqrt(4 * np.pi / (2 * l + 1) * power)
    if not wl:
        return ql, None
    idx, coef = wigner3j_lll(l)
    m1, m2 = idx[:, 0], idx[:, 1]
    m3 = 3 * l - m1 - m2  # index of −m1−m2 on the −l…l axis
    w = np.real(np.sum(coef * qlm[:, m1] * qlm[:, m2] * qlm[:, m3], axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return ql, np.where(power > 0, w / power ** 1.5, 0.0)


class Steinhardt(FrameAnalysis):
    """Per-atom q_l (and ŵ_l, q̄_l) for atoms of ``species`` with neighbours of ``neighbor_species``.

    Neighbours: within ``r_cut`` (Å), or the ``num_neighbors`` nearest, or ``"voronoi"`` (the
    Voronoi neighbours among the selected atoms, face-area weighted when ``weighted=True``).
    With ``average=True`` the neighbours' own q_lm enter q̄_l (computed with the same rule).
    ``compute`` keeps the per-atom arrays of the frame; ``run`` also averages them per frame.
    """

    def __init__(self, l: int | Sequence[int] = 6, r_cut: float | None = None,
                 num_neighbors: int | None = None, voronoi: bool = False, weighted: bool = False,
                 average: bool = False, wl: bool = False, species: str | Sequence[str] | None = None,
                 neighbor_species: str | Sequence[str] | None = None) -> None:
        modes = sum(x is not None and x is not False for x in (r_cut, num_neighbors, voronoi or None))
        if modes != 1:
            raise ValueError("choose exactly one neighbour definition: r_cut, num_neighbors or voronoi")
        if weighted and not voronoi:
            raise ValueError("weighted=True needs voronoi=True (weights are Voronoi face areas)")
        self.ls = [l] if isinstance(l, int) else list(l)
        self.r_cut, self.num_neighbors, self.voronoi = r_cut, num_neighbors, voronoi
        self.weighted, self.average, self.wl = weighted, average, wl
        self.species = species
        self.neighbor_species = neighbor_species if neighbor_species is not None else species
        super().__init__()

    def _reset(self) -> None:
        self._means: list[dict] = []

    def _bonds(self, snap: Snapshot):
        centres = snap.indices(self.species)
        nbr_ok = np.zeros(len(snap.symbols), bool)
        nbr_ok[snap.indices(self.neighbor_species)] = True
        if self.voronoi:
            sel = np.union1d(centres, np.flatnonzero(nbr_ok))
            i, j, vec, area = voronoi_bonds(snap.positions[sel], snap.cell)
            i, j = sel[i], sel[j]
            weights = area if self.weighted else np.ones(len(i))
        else:
            if self.r_cut is not None:
                i, j, d, vec = neighbor_pairs(snap, self.r_cut)
            else:
                i, j, d, vec = _nearest(snap, self.num_neighbors, nbr_ok)
            weights = np.ones(len(i))
        has_qlm = np.zeros(len(snap.symbols), bool)
        has_qlm[centres] = True
        if self.average:  # the neighbours' q_lm enter q̄_l: they need their own bonds
            has_qlm |= nbr_ok
        keep = has_qlm[i] & nbr_ok[j]
        return centres, i[keep], j[keep], vec[keep], weights[keep]

    def _accumulate(self, snap: Snapshot) -> None:
        centres, i, j, vec, w = self._bonds(snap)
        n = len(snap.symbols)
        if self.average:
            adjacency = csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
            count = 1 + np.bincount(i, minlength=n)
        ql, wl, qbar, wbar = {}, {}, {}, {}
        for l in self.ls:
            qlm = qlm_from_bonds(l, i, vec, w, n)
            ql[l], wl[l] = invariants(qlm[centres], l, self.wl)
            if self.average:
                total = qlm + adjacency @ qlm
                qbar[l], wbar[l] = invariants((total / count[:, None])[centres], l, self.wl)
        self.results.indices = centres
        self.results.ql = ql
        self.results.wl = wl if self.wl else None
        self.results.qbar = qbar if self.average else None
        self.results.wbar = wbar if self.average and self.wl else None
        self.results.num_neighbors = np.bincount(i, minlength=n)[centres]
        self._means.append({l: float(np.mean(ql[l])) for l in self.ls})

    def _finalize(self) -> None:
        self.results.mean_ql_per_frame = {l: np.array([m[l] for m in self._means]) for l in self.ls}


def _nearest(snap: Snapshot, k: int, allowed: np.ndarray):
    """The k nearest allowed neighbours of every atom (grows the search radius as needed)."""
    n_allowed = int(allowed.sum())
    if k >= n_allowed:
        raise ValueError(f"num_neighbors={k} but only {n_allowed} candidate neighbours exist")
    density = n_allowed / snap.volume
    r = (3 * (k + 2) / (4 * np.pi * density)) ** (1 / 3) * 1.3
    while True:
        i, j, d, vec = neighbor_pairs(snap, r)
        ok = allowed[j]
        i, j, d, vec = i[ok], j[ok], d[ok], vec[ok]
        counts = np.bincount(i, minlength=len(snap.symbols))
        if counts.min() >= k or r > 4 * np.cbrt(snap.volume):
            break
        r *= 1.3
    order = np.lexsort((d, i))
    i, j, d, vec = i[order], j[order], d[order], vec[order]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.arange(len(i)) - starts[i]
    keep = rank < k
    return i[keep], j[keep], d[keep], vec[keep]
