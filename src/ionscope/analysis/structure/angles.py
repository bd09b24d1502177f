"""Bond-angle distributions B–A–C around centre atoms A, with distance cutoffs per pair."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..base import FrameAnalysis, Snapshot, groups_pairs, neighbor_pairs


class BondAngles(FrameAnalysis):
    """Distributions of angles ``(B, A, C)`` (A is the vertex), e.g. ``("S", "P", "S")``.

    ``cutoffs`` maps a species pair (A, B) to the bond cutoff in Å (either order); a pair
    missing from it uses ``default_cutoff``. Results: ``angles`` (bin centres, degrees) and, per
    triplet, the normalised distribution ``p`` (1/degree), the mean and the most probable angle.
    """

    def __init__(self, triplets: Sequence[tuple[str, str, str]],
                 cutoffs: Mapping[tuple[str, str], float] | None = None,
                 default_cutoff: float = 3.0, bins: int = 180) -> None:
        self.triplets = [tuple(t) for t in triplets]
        self.cutoffs = {}
        for (a, b), value in (cutoffs or {}).items():
            self.cutoffs[(a, b)] = self.cutoffs[(b, a)] = float(value)
        self.default_cutoff = float(default_cutoff)
        self.edges = np.linspace(0.0, 180.0, bins + 1)
        super().__init__()

    def _cutoff(self, a: str, b: str) -> float:
        return self.cutoffs.get((a, b), self.default_cutoff)

    def _reset(self) -> None:
        self._hist = {t: np.zeros(len(self.edges) - 1) for t in self.triplets}
        self._sum = {t: 0.0 for t in self.triplets}
        self._n = {t: 0 for t in self.triplets}

    def _accumulate(self, snap: Snapshot) -> None:
        r_max = max(self._cutoff(t[1], s) for t in self.triplets for s in (t[0], t[2]))
        i, j, d, vec = neighbor_pairs(snap, r_max)
        for triplet in self.triplets:
            angles = triplet_angles(snap, triplet, i, j, d, vec,
                                    self._cutoff(triplet[1], triplet[0]),
                                    self._cutoff(triplet[1], triplet[2]))
            self._hist[triplet] += np.histogram(angles, self.edges)[0]
            self._sum[triplet] += angles.sum()
            self._n[triplet] += len(angles)

    def _finalize(self) -> None:
        width = np.diff(self.edges)
        centres = 0.5 * (self.edges[1:] + self.edges[:-1])
        self.results.angles = centres
        self.results.p, self.results.mean, self.results.peak, self.results.count = {}, {}, {}, {}
        for t, hist in self._hist.items():
            total = hist.sum()
            self.results.p[t] = hist / (total * width) if total else hist
            self.results.mean[t] = self._sum[t] / self._n[t] if self._n[t] else np.nan
            self.results.peak[t] = float(centres[np.argmax(hist)]) if total else np.nan
            self.results.count[t] = int(self._n[t])


def triplet_angles(snap: Snapshot, triplet: tuple[str, str, str], i, j, d, vec,
                   cut_ab: float, cut_ac: float) -> np.ndarray:
    """All angles B–A–C (degrees) for one frame from a neighbour list sorted by i."""
    b, a, c = triplet
    sym = snap.symbols
    is_a = sym[i] == a
    arm_b = is_a & (sym[j] == b) & (d <= cut_ab)
    arm_c = is_a & (sym[j] == c) & (d <= cut_ac)
    arms = arm_b | arm_c
    ii, jj, vv = i[arms], j[arms], vec[arms]
    p, q = groups_pairs(ii)
    if len(p) == 0:
        return np.empty(0)
    pb, pc = arm_b[arms], arm_c[arms]
    if b == c:
        keep = pb[p] & pb[q]
    else:
        keep = (pb[p] & pc[q]) | (pc[p] & pb[q])
    p, q = p[keep], q[keep]
    keep = jj[p] != jj[q]
    p, q = p[keep], q[keep]
    u, w = vv[p], vv[q]
    cos = np.einsum("ij,ij->i", u, w) / (np.linalg.norm(u, axis=1) * np.linalg.norm(w, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
