"""Shared plumbing of analyses: snapshots, neighbour lists and the compute/run pattern.

Every analysis follows freud's style for one frame (``compute(system)``, plain NumPy results)
and MDAnalysis's for trajectories (``run(trajectory)``, then ``results``): parameters go to
``__init__``, ``compute``/``run`` return the analysis, and ``results`` (a :class:`Results`
namespace whose fields each analysis documents with units) can be read only once computed.
:class:`FrameAnalysis` averages frame by frame (structure); :class:`TrajectoryAnalysis` needs
the whole trajectory at once (dynamics).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Sequence

import numpy as np
from matscipy.neighbours import neighbour_list
from tqdm.auto import tqdm

from ..io.frame import wrap_positions
from ..io.species import species_indices


@dataclass
class Snapshot:
    """Symbols (N,), Cartesian positions (N, 3) wrapped into the cell, cell rows (3, 3)."""

    symbols: np.ndarray
    positions: np.ndarray
    cell: np.ndarray

    @property
    def volume(self) -> float:
        return float(abs(np.linalg.det(self.cell)))

    def indices(self, species: str | Sequence[str] | None) -> np.ndarray:
        """Indices of the atoms of one or several species (all atoms for None)."""
        return species_indices(self.symbols, species, "the structure")


def as_snapshot(system, symbols: Sequence[str] | None = None) -> Snapshot:
    """A :class:`Snapshot` from an ASE ``Atoms``, an ionscope ``Frame`` (with ``symbols``), a
    ``(symbols, positions, cell)`` tuple, or a Snapshot."""
    if isinstance(system, Snapshot):
        return system
    if hasattr(system, "get_chemical_symbols"):
        if not all(system.pbc):
            raise ValueError("structure analyses need a fully periodic cell (pbc=True)")
        syms, pos, cell = system.get_chemical_symbols(), system.get_positions(), system.cell.array
    elif hasattr(system, "positions") and hasattr(system, "cell"):
        if symbols is None:
            raise ValueError("a Frame needs its symbols: compute(frame, symbols=traj.symbols)")
        syms, pos, cell = symbols, system.positions, system.cell
    else:
        syms, pos, cell = system
    cell = np.asarray(cell, float)
    if abs(np.linalg.det(cell)) < 1e-9:
        raise ValueError("the cell is degenerate (zero volume); a periodic 3D cell is required")
    return Snapshot(np.asarray(syms), wrap_positions(pos, cell), cell)


def neighbor_pairs(snap: Snapshot, cutoff: float, quantities: str = "ijdD"):
    """All ordered pairs (i, j), i ≠ j, within ``cutoff`` over periodic images (matscipy's
    linked-cell list; any triclinic cell, any cutoff, sorted by i)."""
    return neighbour_list(quantities, positions=snap.positions, cell=snap.cell,
                          pbc=[True, True, True], cutoff=float(cutoff))


class ResultsNotComputedError(AttributeError):
    """``results`` of an analysis read before ``compute``/``run`` produced them."""


class Results(SimpleNamespace):
    """The results of one analysis, read as attributes (``analysis.results.msd``). Every
    analysis lists its fields, with units, in the ``Results`` section of its class docstring."""


class Analysis:
    """Parameters go to ``__init__``; ``results`` exist only once computed and reading them
    earlier raises :class:`ResultsNotComputedError` (freud's guard on uncomputed properties)."""

    _results: Results | None = None
    _entry = "run(trajectory)"

    @property
    def results(self) -> Results:
        if self._results is None:
            raise ResultsNotComputedError(f"{type(self).__name__}.results: nothing computed yet; "
                                          f"call {self._entry} first")
        return self._results


class FrameAnalysis(Analysis):
    """Base class of analyses of single frames: ``compute`` one frame, or ``run`` over a
    trajectory to average frame by frame (``_reset``, ``_accumulate`` per frame, ``_finalize``:
    MDAnalysis's ``_prepare``/``_single_frame``/``_conclude``); then read ``results``."""

    _entry = "compute(system) or run(trajectory)"

    def __init__(self) -> None:
        self.n_frames = 0

    def _reset(self) -> None:
        raise NotImplementedError

    def _accumulate(self, snap: Snapshot) -> None:
        raise NotImplementedError

    def _finalize(self) -> None:
        raise NotImplementedError

    def _start(self) -> None:
        self.n_frames = 0
        self._results = Results()
        self._reset()

    def compute(self, system, symbols: Sequence[str] | None = None, reset: bool = True):
        """Analyse one structure; with ``reset=False`` it is added to the frames seen so far
        (a structure refused as input then leaves them as they were)."""
        if reset:
            self._results = None
        snap = as_snapshot(system, symbols)
        if self._results is None:
            self._start()
        try:
            self._accumulate(snap)
            self.n_frames += 1
            self._finalize()
        except BaseException:
            self._results = None
            raise
        return self

    def run(self, trajectory, start: int = 0, stop: int | None = None, step: int = 1,
            progress: bool = True):
        """Average over frames ``start:stop:step`` of a :class:`~ionscope.io.Trajectory`."""
        self._start()
        frames = range(*slice(start, stop, step).indices(len(trajectory)))
        try:
            for k in tqdm(frames, desc=type(self).__name__, unit="frame",
                          disable=None if progress and len(frames) >= 20 else True):
                frame = trajectory[k]
                self._accumulate(as_snapshot(frame, trajectory.symbols))
                self.n_frames += 1
            if self.n_frames == 0:
                raise ValueError(f"{trajectory.path}: no frames in {start}:{stop}:{step}")
            self._finalize()
        except BaseException:
            self._results = None
            raise
        return self


class TrajectoryAnalysis(Analysis):
    """Base class of analyses that need the whole trajectory at once (time correlations,
    transport): MDAnalysis's ``AnalysisBase`` with one whole-trajectory hook.

    ``__init__`` stores the parameters only; ``run(trajectory, start, stop, step, **options)``
    hands frames ``start:stop:step`` of a :class:`~ionscope.io.Trajectory` (and the options
    the analysis documents) to ``_compute``, keeps the :class:`Results` it returns as
    ``results`` and returns ``self``. Each subclass documents every field of its results, with
    units, in the ``Results`` section of its docstring.
    """

    def run(self, trajectory, start: int = 0, stop: int | None = None, step: int = 1,
            **options):
        """Analyse frames ``start:stop:step`` of ``trajectory``; returns ``self``."""
        self._results = None
        self._results = self._compute(trajectory, start, stop, step, **options)
        return self

    def _compute(self, trajectory, start: int, stop: int | None, step: int, **options) -> Results:
        raise NotImplementedError


def species_pairs(species: Sequence[str]) -> list[tuple[str, str]]:
    """Unordered species pairs (A, B) with A ≤ B in the given order."""
    return [(a, b) for i, a in enumerate(species) for b in species[i:]]


def groups_pairs(first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pair arrays sorted by their first index ``first``, the indices (p, q), p < q, of every
    two pairs that share the same first index (the arms of every bond angle)."""
    starts = np.flatnonzero(np.r_[True, first[1:] != first[:-1]])
    counts = np.diff(np.r_[starts, len(first)])
    out_p, out_q = [], []
    for n in np.unique(counts):
        if n < 2:
            continue
        sel = starts[counts == n]
        a, b = np.triu_indices(n, k=1)
        out_p.append((sel[:, None] + a[None, :]).ravel())
        out_q.append((sel[:, None] + b[None, :]).ravel())
    if not out_p:
        return np.empty(0, int), np.empty(0, int)
    return np.concatenate(out_p), np.concatenate(out_q)
