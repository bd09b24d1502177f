"""Faber–Ziman partial structure factors and neutron / X-ray total structure factors.

Chen et al. (2025), Eqs. 3–5, following Faber & Ziman, Philos. Mag. 11, 153 (1965):

    S_ij(Q) = 1 + 4πρ ∫_0^R r² [g_ij(r) − 1] sin(Qr)/(Qr) W(r) dr
    S(Q)    = Σ_ij c_i c_j w_i(Q) w_j(Q) S_ij(Q) / (Σ_i c_i w_i(Q))²

with ρ the total number density, c the atomic fractions, w = b (coherent neutron scattering
lengths) or f(Q) (X-ray atomic form factors, Cromer–Mann), and the Lorch window
W(r) = sin(πr/R)/(πr/R) against truncation ripples.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Mapping

import numpy as np

#: Coherent neutron scattering lengths (fm), Sears, Neutron News 3, 26 (1992).
NEUTRON_B = {"Li": -1.90, "P": 5.13, "S": 2.847, "O": 5.803, "Ge": 8.185, "Si": 4.1491,
             "Cl": 9.577, "Br": 6.795, "I": 5.28, "Na": 3.63}


def xray_form_factor(symbol: str, q: np.ndarray) -> np.ndarray:
    """Cromer–Mann X-ray atomic form factor f(Q) of a neutral atom (International Tables C)."""
    from periodictable.cromermann import fxrayatq

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


def structure_factors(rdf_results, q: np.ndarray | None = None, window_kind: str | None = "lorch",
                      neutron_b: Mapping[str, float] | None = None) -> SimpleNamespace:
    """Partial, neutron and X-ray structure factors from :class:`RDF` results (all pairs)."""
    q = np.linspace(0.3, 20.0, 600) if q is None else np.asarray(q, float)
    partial = partial_structure_factors(rdf_results.r, rdf_results.g, rdf_results.density, q,
                                        window_kind)
    comp = rdf_results.composition
    b = dict(NEUTRON_B, **(neutron_b or {}))
    unknown = [s for s in comp if s not in b]
    if unknown:
        raise ValueError(f"no neutron scattering length for {unknown}; pass neutron_b")
    s_n = weighted_total(partial, comp, {s: b[s] for s in comp})
    s_x = weighted_total(partial, comp, {s: xray_form_factor(s, q) for s in comp})
    return SimpleNamespace(q=q, partial=partial, neutron=s_n, xray=s_x)
