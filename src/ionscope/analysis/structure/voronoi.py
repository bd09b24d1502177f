"""Periodic Voronoi tessellation (voro++ through freud) for cell volumes and face-weighted
neighbours; any triclinic cell is rotated into freud's convention first."""

from __future__ import annotations

import freud
import numpy as np

from ...io.frame import lammps_form
from ..base import FrameAnalysis, Snapshot


def _freud_voronoi(positions: np.ndarray, cell: np.ndarray):
    lower, rotation = lammps_form(cell)
    box = freud.box.Box.from_matrix(lower.T)
    points = box.wrap(np.ascontiguousarray(positions @ rotation, dtype=np.float32) - 0.5 * lower.sum(0))
    voro = freud.locality.Voronoi()
    voro.compute((box, points))
    return voro, rotation


def voronoi_volumes(positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Volume (Å³) of the Voronoi cell of every atom; they sum to the cell volume."""
    voro, _ = _freud_voronoi(positions, cell)
    return np.asarray(voro.volumes, float)


def voronoi_bonds(positions: np.ndarray, cell: np.ndarray):
    """Voronoi neighbour pairs (i, j), bond vectors r_j − r_i (Å) and shared face areas (Å²)."""
    voro, rotation = _freud_voronoi(positions, cell)
    nl = voro.nlist
    vectors = np.asarray(nl.vectors, float) @ rotation.T
    return (np.asarray(nl.query_point_indices, int), np.asarray(nl.point_indices, int), vectors,
            np.asarray(nl.weights, float))


class VoronoiVolume(FrameAnalysis):
    """Voronoi volume per atom (last frame) and its mean and distribution per species."""

    def __init__(self, bins: int = 100, v_max: float = 60.0) -> None:
        self.edges = np.linspace(0.0, v_max, bins + 1)
        super().__init__()

    def _reset(self) -> None:
        self._sum, self._count, self._hist = {}, {}, {}

    def _accumulate(self, snap: Snapshot) -> None:
        volumes = voronoi_volumes(snap.positions, snap.cell)
        for s in dict.fromkeys(snap.symbols.tolist()):
            v = volumes[snap.symbols == s]
            self._sum[s] = self._sum.get(s, 0.0) + v.sum()
            self._count[s] = self._count.get(s, 0) + len(v)
            self._hist[s] = self._hist.get(s, 0) + np.histogram(v, self.edges)[0]
        self.results.volumes = volumes
        self.results.symbols = snap.symbols

    def _finalize(self) -> None:
        self.results.mean = {s: self._sum[s] / self._count[s] for s in self._sum}
        self.results.edges = self.edges
        self.results.histogram = self._hist
