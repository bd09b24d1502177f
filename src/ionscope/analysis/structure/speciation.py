"""Thiophosphate anion speciation: which P-centred unit every P and S atom belongs to.

P–S and P–P bonds are found with distance cutoffs. P atoms linked by P–P bonds or by bridging S
(bonded to two P) form one unit, classified as

* ``PS4``  — ortho-thiophosphate PS4³⁻: one P, four terminal S;
* ``P2S7`` — pyro-thiophosphate P2S7⁴⁻: two corner-sharing PS4 (one bridging S, no P–P bond);
* ``P2S6`` — hypo-thiophosphate P2S6⁴⁻: two PS3 groups joined by a P–P bond;
* ``other`` — anything else, with its formula kept in ``other_formulas`` (e.g. edge-sharing
  P2S6²⁻, chains, under-coordinated P), so nothing is silently forced into a class.

S atoms bonded to no P are labelled ``S2-`` (isolated sulfide).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..base import FrameAnalysis, Snapshot, as_snapshot, neighbor_pairs

UNITS = ("PS4", "P2S7", "P2S6", "other")


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
