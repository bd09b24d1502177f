"""Thiophosphate anion speciation: which P-centred unit every P and S atom belongs to.

P–S and P–P bonds are found with distance cutoffs. P atoms linked by P–P bonds or by bridging S
(bonded to two P) form one unit, classified as

* ``PS4``  — ortho-thiophosphate PS4³⁻: one P, four terminal S;
* ``P2S7`` — pyro-thiophosphate P2S7⁴⁻: two corner-sharing PS4 (one bridging S, no P–P bond);
* ``P2S6`` — hypo-thiophosphate P2S6⁴⁻: two PS3 groups joined by a P–P bond;
* ``other`` — anything else, with its formula kept in ``other_formulas`` (e.g. edge-sharing
  P2S6²⁻, chains, under-coordinated P), so nothing is silently forced into a class.

S atoms bonded to no P are labelled ``S2-`` (isolated sulfide).

:class:`BondEnvironments` adds, per frame, the bonding counts per P that tell a potential's
glass from a DFT one (S–S and P–P bonds, bridging and free S, under-coordinated P) beside the
unit fractions and the density: the fingerprint of the disproportionation
2 PS4³⁻ → P2S7⁴⁻ + S²⁻ and of polysulfide S–S bonds (Dietrich et al., J. Mater. Chem. A 5,
18111, 2017).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from ase.data import atomic_masses, atomic_numbers
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..base import FrameAnalysis, Snapshot, as_snapshot, neighbor_pairs
from .profiles import _AMU_PER_A3_TO_G_CM3

UNITS = ("PS4", "P2S7", "P2S6", "other")
BOND_COUNTS = ("bridging S", "S–S", "P–P", "S without P", "P with < 4 S")
"""Counts per P atom in :func:`bond_counts`, in this order."""
ENVIRONMENT_KEYS = ("density_g_cm3", *UNITS, "bridging_S", "S_S", "P_P", "S_without_P", "P_under_4S")
"""Machine names (CSV columns, summary keys) of the quantities of :class:`BondEnvironments`."""


def classify_units(system, ps_cutoff: float = 2.6, pp_cutoff: float = 2.6) -> dict:
    """Unit label of every atom (``''`` for non P/S atoms) and the units found in one frame."""
    snap = as_snapshot(system)
    sym = snap.symbols
    n = len(sym)
    i, j, d = neighbor_pairs(snap, max(ps_cutoff, pp_cutoff), "ijd")
    ps = (sym[i] == "P") & (sym[j] == "S") & (d <= ps_cutoff)
    pp = (sym[i] == "P") & (sym[j] == "P") & (d <= pp_cutoff)
    s_nbrs: dict[int, list[int]] = {}
    for p_atom, s_atom in zip(i[ps], j[ps]):
        s_nbrs.setdefault(int(s_atom), []).append(int(p_atom))
    # Graph on all atoms: P–P bonds and P–S bonds; a unit is a connected set of P and S.
    rows = np.r_[i[ps], i[pp]]
    cols = np.r_[j[ps], j[pp]]
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    labels = np.full(n, "", dtype=object)
    labels[sym == "S"] = "S2-"
    units, formulas = Counter(), Counter()
    p_atoms = np.flatnonzero(sym == "P")
    pp_count = Counter(map(int, i[pp]))
    for comp in np.unique(component[p_atoms]):
        members = np.flatnonzero(component == comp)
        ps_in = members[sym[members] == "P"]
        ss_in = members[sym[members] == "S"]
        n_bridging = sum(1 for s in ss_in if len(s_nbrs.get(int(s), [])) >= 2)
        n_pp_bonds = sum(pp_count.get(int(p), 0) for p in ps_in) // 2
        kind = _kind(len(ps_in), len(ss_in), n_bridging, n_pp_bonds)
        if kind == "other":
            formulas[f"P{len(ps_in)}S{len(ss_in)}"] += 1
        units[kind] += 1
        labels[members] = kind
    p_labels = labels[p_atoms]
    p_fraction = {u: float(np.mean(p_labels == u)) if len(p_atoms) else 0.0 for u in UNITS}
    return {"labels": labels.astype(str), "units": {u: units.get(u, 0) for u in UNITS},
            "p_fraction": p_fraction, "other_formulas": dict(formulas)}


def _kind(n_p: int, n_s: int, n_bridging: int, n_pp: int) -> str:
    if n_p == 1 and n_s == 4 and n_bridging == 0:
        return "PS4"
    if n_p == 2 and n_s == 7 and n_bridging == 1 and n_pp == 0:
        return "P2S7"
    if n_p == 2 and n_s == 6 and n_bridging == 0 and n_pp == 1:
        return "P2S6"
    return "other"


class AnionSpeciation(FrameAnalysis):
    """Unit fractions per frame over a trajectory (fraction of P atoms in each unit type).

    Results: ``p_fraction`` (frames × units array, columns in ``units``), its mean, ``counts``
    (units per frame), ``other_formulas`` (all frames) and ``labels`` of the last frame.
    """

    def __init__(self, ps_cutoff: float = 2.6, pp_cutoff: float = 2.6) -> None:
        self.ps_cutoff, self.pp_cutoff = ps_cutoff, pp_cutoff
        super().__init__()

    def _reset(self) -> None:
        self._fractions, self._counts, self._other = [], [], Counter()
        self._labels = None

    def _accumulate(self, snap: Snapshot) -> None:
        out = classify_units(snap, self.ps_cutoff, self.pp_cutoff)
        self._fractions.append([out["p_fraction"][u] for u in UNITS])
        self._counts.append([out["units"][u] for u in UNITS])
        self._other.update(out["other_formulas"])
        self._labels = out["labels"]

    def _finalize(self) -> None:
        self.results.units = list(UNITS)
        self.results.p_fraction = np.array(self._fractions)
        self.results.mean_p_fraction = dict(zip(UNITS, self.results.p_fraction.mean(axis=0)))
        self.results.counts = np.array(self._counts)
        self.results.other_formulas = dict(self._other)
        self.results.labels = self._labels


def bond_counts(system, cutoff: float = 2.6) -> np.ndarray:
    """Per P atom, in the order of :data:`BOND_COUNTS`: S bonded to two or more P (bridging),
    S–S bonds, P–P bonds, S bonded to no P and P bonded to fewer than four S; a bond is a pair
    within ``cutoff`` Å."""
    snap = as_snapshot(system)
    sym = snap.symbols
    i, j = neighbor_pairs(snap, cutoff, "ij")
    s_atoms, p_atoms = sym == "S", sym == "P"
    n_p = int(p_atoms.sum())
    if n_p == 0:
        raise ValueError("bond counts per P need P atoms; the structure has none")
    p_of_s = np.bincount(i[(sym[i] == "S") & (sym[j] == "P")], minlength=len(sym))
    s_of_p = np.bincount(i[(sym[i] == "P") & (sym[j] == "S")], minlength=len(sym))
    ss = ((sym[i] == "S") & (sym[j] == "S")).sum() / 2
    pp = ((sym[i] == "P") & (sym[j] == "P")).sum() / 2
    return np.array([(p_of_s[s_atoms] >= 2).sum(), ss, pp, (p_of_s[s_atoms] == 0).sum(),
                     (s_of_p[p_atoms] < 4).sum()], float) / n_p


class BondEnvironments(FrameAnalysis):
    r"""Per frame: the density, the fraction of P in each unit of :data:`UNITS` and the bond
    counts per P of :data:`BOND_COUNTS` — the quantities on which two models of the same glass
    (an MLIP's MD, DFT-labelled frames) are compared.

    Results: ``quantities`` (:data:`ENVIRONMENT_KEYS`: the density in g/cm³, the unit
    fractions, then the counts), ``per_frame`` (frames × quantities), ``mean``, ``std``, ``minimum``, ``maximum`` and
    ``sem`` (standard error of the mean from :math:`n_b = 5` contiguous blocks,
    :math:`s_b/\sqrt{n_b}`, so that correlated MD frames are not counted as independent).
    """

    def __init__(self, cutoff: float = 2.6) -> None:
        self.cutoff = cutoff
        super().__init__()

    def _reset(self) -> None:
        self._rows = []

    def _accumulate(self, snap: Snapshot) -> None:
        mass = sum(atomic_masses[atomic_numbers[s]] for s in snap.symbols)
        units = classify_units(snap, self.cutoff, self.cutoff)["p_fraction"]
        self._rows.append([mass * _AMU_PER_A3_TO_G_CM3 / snap.volume, *(units[u] for u in UNITS),
                           *bond_counts(snap, self.cutoff)])

    def _finalize(self) -> None:
        r = self.results
        r.quantities = list(ENVIRONMENT_KEYS)
        r.per_frame = np.array(self._rows)
        r.mean, r.std = r.per_frame.mean(axis=0), r.per_frame.std(axis=0)
        r.minimum, r.maximum = r.per_frame.min(axis=0), r.per_frame.max(axis=0)
        blocks = [b.mean(axis=0) for b in np.array_split(r.per_frame, min(5, len(r.per_frame)))]
        sem = (np.std(blocks, axis=0, ddof=1) / np.sqrt(len(blocks)) if len(blocks) > 1
               else np.full(len(r.quantities), np.nan))
        r.sem = np.where(r.std <= 1e-12 * np.abs(r.mean), 0.0, sem)   # constant (NVT density): 0
