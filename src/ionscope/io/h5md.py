"""H5MD (de Buyl et al., Comput. Phys. Commun. 185, 1546 (2014)), ionscope's native format.

ionscope stores each frame as the MD code wrote it, as the standard has it: positions in
``/particles/all/position`` with integer periodic ``/particles/all/image`` flags, the cell of
every frame in ``/particles/all/box/edges`` (3×3, rows = box vectors), atomic numbers in
``/particles/all/species`` and its provenance in ``/parameters/ionscope``. A frame read back is
its exact geometry under NPT too; time-continuous positions for transport are summed from the
flags the NPT-correct way when a block is read (:func:`ionscope.io.unwrap.tor_offsets`).
Position and image data are chunked over both frames and atoms, so a block of atoms over all
frames (MSD) and a block of frames over all atoms (structure) are both cheap.

Files of ionscope's earlier layout (``positions = "unwrapped"``: time-continuous positions, no
flags) are still read; under a changing box their frames are not exact (:class:`NPTGeometryWarning`).

The reader also takes the H5MD that other programs write: the one particle group under
``/particles`` (or ``all``), positions wrapped or not with optional ``image`` flags (LAMMPS
``dump h5md``), box edges as a vector or matrix, fixed or per frame, ``species`` fixed or per
frame as atomic numbers, chemical symbols or LAMMPS types (files whose creator is LAMMPS, or
when a ``type_map`` is given), and the H5MD ``unit`` attributes (nm, pm; fs, ns).
"""

from __future__ import annotations

import json
import os
import warnings
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import h5py
import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from .. import __version__
from ..provenance import atomic_path
from .frame import Frame, TrajectoryFormatError
from .species import check_symbols, symbols_from_types


class H5MDWriter:
    """Append frames to a new H5MD file; the file appears at ``path`` only on a clean close."""

    def __init__(self, path: str | os.PathLike, symbols: Sequence[str], precision: str = "float64",
                 compression: int = 1, attributes: dict | None = None) -> None:
        self.path = Path(path)
        self._symbols = list(symbols)
        self._dtype = np.dtype(precision)
        self._compression = compression
        self._attributes = attributes or {}
        self._context = atomic_path(self.path)
        self._file: h5py.File | None = None
        self._n = 0

    def __enter__(self) -> "H5MDWriter":
        tmp = self._context.__enter__()
        self._file = h5py.File(tmp, "w")
        self._create(self._file)
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()
        self._context.__exit__(*exc)

    def _create(self, f: h5py.File) -> None:
        n = len(self._symbols)
        h5 = f.create_group("h5md")
        h5.attrs["version"] = np.array([1, 1])
        h5.create_group("author").attrs["name"] = "ionscope user"
        creator = h5.create_group("creator")
        creator.attrs["name"] = "ionscope"
        creator.attrs["version"] = __version__
        part = f.create_group("particles/all")
        part.create_dataset("species", data=np.array([atomic_numbers[s] for s in self._symbols],
                                                     dtype=np.int32))
        box = part.create_group("box")
        box.attrs["dimension"] = 3
        box.attrs["boundary"] = np.array([b"periodic"] * 3)
        # chunks of 256 frames × 64 atoms: a block of atoms over all frames (MSD) and a block of
        # frames over all atoms (structure) both read little beyond what they need
        self._position = self._series(part, "position", (n, 3), self._dtype,
                                      chunks=(256, min(n, 64), 3))
        self._image = self._series(part, "image", (n, 3), np.int32, chunks=(256, min(n, 64), 3),
                                   unit=None)
        self._edges = self._series(box, "edges", (3, 3), np.float64, chunks=(1024, 3, 3))
        params = f.create_group("parameters/ionscope")
        params.attrs["positions"] = "wrapped"
        for key, value in self._attributes.items():
            params.attrs[key] = json.dumps(value) if not isinstance(value, str) else value

    def _series(self, parent, name, shape, dtype, chunks, unit: str | None = "Angstrom"):
        group = parent.create_group(name)
        kw = {"compression": "gzip", "compression_opts": self._compression, "shuffle": True} \
            if self._compression else {}
        value = group.create_dataset("value", shape=(0, *shape), maxshape=(None, *shape),
                                     dtype=dtype, chunks=chunks, **kw)
        if unit:
            value.attrs["unit"] = unit
        group.create_dataset("step", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(4096,))
        time = group.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64,
                                    chunks=(4096,))
        time.attrs["unit"] = "ps"
        return group

    def append(self, positions: np.ndarray, cells: np.ndarray, steps: Iterable[int],
               times: Iterable[float], image: np.ndarray | None = None) -> None:
        """Append a block of frames: positions (nf, N, 3), cells (nf, 3, 3) and the positions'
        image flags (nf, N, 3); without flags the positions are taken as they are (flags 0:
        continuous positions stay continuous)."""
        positions = np.asarray(positions)
        image = np.zeros(positions.shape, np.int32) if image is None else image
        steps, times = np.asarray(list(steps)), np.asarray(list(times), dtype=float)
        nf = len(positions)
        for group, values in ((self._position, positions), (self._image, np.asarray(image)),
                              (self._edges, np.asarray(cells))):
            for key, data in (("value", values), ("step", steps), ("time", times)):
                dset = group[key]
                dset.resize(self._n + nf, axis=0)
                dset[self._n:self._n + nf] = data
        self._n += nf


_LENGTH_UNITS = {"angstrom": 1.0, "a": 1.0, "å": 1.0, "nm": 10.0, "pm": 0.01}
_TIME_UNITS = {"ps": 1.0, "fs": 1e-3, "ns": 1e3}
_LAYOUT = ("ionscope reads H5MD 1.x: one group /particles/<name> (or 'all') with position "
           "(value, step, time), box (periodic; edges as 3-vector or 3x3 matrix, fixed or per "
           "frame), species (atomic numbers, symbols, or LAMMPS types with type_map) and "
           "optionally image")


def is_ionscope_h5md(path: str | os.PathLike) -> bool:
    """True for an H5MD file written by ionscope (so that it may be replaced by a new one)."""
    try:
        with open(path, "rb") as handle:
            if handle.read(8) != b"\x89HDF\r\n\x1a\n":
                return False
        with h5py.File(path, "r") as f:
            creator = f.get("h5md/creator")
            return creator is not None and _text(creator.attrs.get("name")) == "ionscope"
    except OSError:
        return False


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NPTGeometryWarning(UserWarning):
    """Frames of an unwrapped H5MD file with a changing box do not give back their geometry."""


class _Element:
    """An H5MD element: a time series (group with value/step/time) or a fixed dataset."""

    def __init__(self, node, path: Path, name: str) -> None:
        self.fixed = isinstance(node, h5py.Dataset)
        self.value = node if self.fixed else node["value"]
        self.steps = self.times = None
        if not self.fixed:
            n = len(self.value)
            self.steps = self._sampling(node, "step", n, int)
            self.times = self._sampling(node, "time", n, float)
            if self.times is not None:
                unit = _text(node["time"].attrs.get("unit", "ps")).strip().lower()
                if unit not in _TIME_UNITS:
                    raise TrajectoryFormatError(f"{path}: {name}/time: unsupported time unit "
                                                f"{unit!r} (ps, fs or ns)")
                self.times = self.times * _TIME_UNITS[unit]

    @staticmethod
    def _sampling(node, key: str, n: int, dtype):
        """Per-frame steps or times: a dataset, or a scalar interval with an ``offset``."""
        if key not in node:
            return None
        data = node[key]
        if data.shape == ():
            return (np.arange(n) * data[()] + data.attrs.get("offset", 0)).astype(dtype)
        return np.asarray(data[()], dtype)

    def __len__(self) -> int:
        return 1 if self.fixed else len(self.value)

    def at(self, k):
        return self.value[()] if self.fixed else self.value[k]


class H5MDReader:
    """Frames of an H5MD file, ionscope's own or another program's, read in blocks of frames
    and atoms (positions, cells and image flags; the trajectory unwraps them).

    ``type_map`` names LAMMPS types 1, 2, … when ``species`` holds types (LAMMPS ``dump h5md``;
    ignored for ionscope's own files, whose species are atomic numbers).
    """

    format = "h5md"

    def __init__(self, path: str | os.PathLike,
                 type_map: Sequence[str] | Mapping[int, str] | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such H5MD file")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise TrajectoryFormatError(f"{self.path}: not a readable HDF5 file ({exc})") from None
        try:
            self._open(type_map)
        except KeyError as exc:
            raise TrajectoryFormatError(f"{self.path}: missing H5MD group or dataset {exc}; "
                                        f"{_LAYOUT}") from None
        except OSError as exc:
            raise TrajectoryFormatError(f"{self.path}: cannot read ({exc})") from None

    def _open(self, type_map) -> None:
        f = self._file
        groups = list(f["particles"]) if "particles" in f else []
        if not groups:
            raise TrajectoryFormatError(f"{self.path}: no /particles group: not H5MD; {_LAYOUT}")
        name = "all" if "all" in groups else groups[0]
        if len(groups) > 1 and name != "all":
            raise TrajectoryFormatError(f"{self.path}: several particle groups {groups} and none "
                                        f"is 'all'; {_LAYOUT}")
        where = f"{self.path}: /particles/{name}"
        part = f["particles"][name]
        params = f.get("parameters/ionscope")
        self.attributes = dict(params.attrs) if params is not None else {}
        self.unwrapped = _text(self.attributes.get("positions", "")) == "unwrapped"
        self._warned = False
        series = _Element(part["position"], self.path, f"/particles/{name}/position")
        self._position = series.value
        if series.fixed or self._position.ndim != 3 or self._position.shape[2] != 3:
            raise TrajectoryFormatError(f"{where}/position: expected a time series of (atoms, 3) "
                                        f"positions, got shape {self._position.shape}; {_LAYOUT}")
        n_frames, n_atoms = self._position.shape[:2]
        self._scale = self._length_unit(self._position, f"{where}/position")
        boundary = [_text(b).strip() for b in np.atleast_1d(part["box"].attrs.get("boundary", []))]
        if any(b != "periodic" for b in boundary):
            raise TrajectoryFormatError(f"{where}/box: boundary {boundary}: ionscope needs a "
                                        f"periodic box in every direction")
        self._edges = _Element(part["box/edges"], self.path, f"/particles/{name}/box/edges")
        if self._edges.value.shape[-2:] != (3, 3) and self._edges.value.shape[-1:] != (3,):
            raise TrajectoryFormatError(f"{where}/box/edges: shape {self._edges.value.shape} is "
                                        f"neither a 3-vector nor a 3x3 matrix per frame")
        if not self._edges.fixed and len(self._edges) != n_frames:
            raise TrajectoryFormatError(f"{self.path}: {n_frames} position frames but "
                                        f"{len(self._edges)} box frames")
        self._edge_scale = self._length_unit(self._edges.value, f"{where}/box/edges")
        self._image = _Element(part["image"], self.path, f"/particles/{name}/image") \
            if "image" in part and not self.unwrapped else None
        if self._image is not None and len(self._image) not in (1, n_frames):
            raise TrajectoryFormatError(f"{where}/image: {len(self._image)} frames, position has {n_frames}")
        if "species" not in part:
            raise TrajectoryFormatError(f"{where}: no species: the elements of the atoms are "
                                        f"unknown; {_LAYOUT}")
        self._species = _Element(part["species"], self.path, f"/particles/{name}/species")
        creator = _text(f["h5md/creator"].attrs.get("name", "")).lower() if "h5md/creator" in f else ""
        # integer species: LAMMPS types from LAMMPS (or when a type_map says so), else atomic
        # numbers (ionscope's own files always)
        self._types = creator == "lammps" or (type_map is not None and creator != "ionscope")
        self._type_map = type_map
        self._species0 = self._species.at(0)
        if self._species0.shape != (n_atoms,):
            raise TrajectoryFormatError(f"{where}/species: shape {self._species.value.shape} does "
                                        f"not match {n_atoms} atoms")
        self.symbols = self._symbols(self._species0, f"{where}/species")
        self._steps = np.arange(n_frames) if series.steps is None else series.steps
        times = series.times
        self._times = times if times is not None and np.isfinite(times).all() else None
        if np.any(np.diff(self._steps) <= 0):
            bad = int(np.flatnonzero(np.diff(self._steps) <= 0)[0]) + 1
            raise TrajectoryFormatError(f"{where}/position/step: steps do not increase (frame "
                                        f"{bad}: step {self._steps[bad]} after {self._steps[bad - 1]})")

    def _length_unit(self, dataset, where: str) -> float:
        unit = _text(dataset.attrs.get("unit", "Angstrom")).strip()
        scale = _LENGTH_UNITS.get(unit.lower())
        if scale is None:
            raise TrajectoryFormatError(f"{where}: unsupported length unit {unit!r} (Angstrom, nm or pm)")
        return scale

    def _symbols(self, species: np.ndarray, where: str) -> np.ndarray:
        """Symbols from species stored as text, LAMMPS types or atomic numbers."""
        if species.dtype.kind in "SUO":
            return check_symbols([_text(s) for s in species], where)
        if species.dtype.kind not in "iuf" or not np.all(np.isfinite(species)) \
                or not np.all(species == np.round(species)):
            raise TrajectoryFormatError(f"{where}: species must be integers or chemical symbols, "
                                        f"got {species.dtype} values")
        species = species.astype(np.int64)
        if self._types:
            if self._type_map is None:
                raise TrajectoryFormatError(
                    f"{where}: written by LAMMPS, species are LAMMPS types; pass type_map, e.g. "
                    f"type_map=['Li', 'P', 'S'] for types 1, 2, 3")
            return symbols_from_types(species, self._type_map, where)
        if species.min() < 1 or species.max() >= len(chemical_symbols):
            raise TrajectoryFormatError(f"{where}: species {sorted(set(species.tolist()))[:5]} are "
                                        f"not atomic numbers (LAMMPS types? pass type_map)")
        return np.array([chemical_symbols[z] for z in species])

    def __len__(self) -> int:
        return len(self._position)

    def _cell(self, edges: np.ndarray) -> np.ndarray:
        edges = np.asarray(edges, float) * self._edge_scale
        return np.diag(edges) if edges.shape == (3,) else edges

    @cached_property
    def geometry_inexact(self) -> bool:
        """Whether a frame's own geometry cannot be read back exactly: a file of ionscope's
        earlier layout, positions stored unwrapped the NPT-correct way (continuous in time,
        :mod:`ionscope.io.unwrap`), under a box that changes. An atom that crossed the boundary
        while the box changed keeps the crossing in the box of that time, so folding it into a
        later frame's box misplaces it."""
        return self.unwrapped and not self.box_fixed

    def read(self, k: int) -> Frame:
        if k > 0 and self.geometry_inexact and not self._warned:
            self._warned = True
            warnings.warn(f"{self.path}: positions stored unwrapped under a changing box (NPT): "
                          "the geometry of frames after the first is inexact for atoms that crossed "
                          "the boundary while the box changed (transport is right; for structure "
                          "or DFT labels use the run's LAMMPS dump, or convert it again)",
                          NPTGeometryWarning, stacklevel=3)
        try:
            positions = np.asarray(self._position[k], float) * self._scale
            cell = self._cell(self._edges.at(k))
            image = None if self._image is None else np.asarray(self._image.at(k), np.int64)
            self._check_species(slice(k, k + 1))
        except OSError as exc:
            raise TrajectoryFormatError(f"{self.path}: frame {k}: cannot read ({exc})") from None
        return Frame(positions=positions, cell=cell, image=image, step=int(self._steps[k]),
                     time=None if self._times is None else float(self._times[k]),
                     unwrapped=self.unwrapped)

    def __iter__(self):
        for k in range(len(self)):
            yield self.read(k)

    def _select(self, dataset, frames: slice, atoms: np.ndarray | None) -> np.ndarray:
        """A frame slice of a per-atom dataset for a sorted atom subset: only the chunks that
        hold those atoms are read."""
        if atoms is None:
            return dataset[frames]
        lo, hi = int(atoms[0]), int(atoms[-1]) + 1
        if hi - lo <= 4 * len(atoms):  # nearly contiguous (one species): read the range
            return dataset[frames, lo:hi][:, atoms - lo]
        return dataset[frames, atoms]

    def read_block(self, frames: slice, atoms: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Positions (nf, na, 3) as stored and cells (nf, 3, 3) of a frame slice and a sorted
        atom subset."""
        try:
            positions = self._select(self._position, frames, atoms)
            cells = self.read_cells(frames)
            self._check_species(frames)
        except OSError as exc:
            raise TrajectoryFormatError(f"{self.path}: frames {frames.start}–{frames.stop}: cannot "
                                        f"read ({exc})") from None
        return positions * self._scale if self._scale != 1.0 else positions, cells

    def _check_species(self, frames: slice) -> None:
        if self._species.fixed:
            return
        changed = np.flatnonzero((self._species.value[frames] != self._species0).any(axis=1))
        if len(changed):
            k = range(len(self))[frames][changed[0]]
            raise TrajectoryFormatError(f"{self.path}: frame {k}: the species of the atoms differ "
                                        f"from frame 0's (a changing particle set is not supported)")

    def read_cells(self, frames: slice) -> np.ndarray:
        """The cells (nf, 3, 3) of a frame slice."""
        if self._edges.fixed:
            return np.repeat(self._cell(self._edges.at(0))[None], len(range(len(self))[frames]), 0)
        return np.stack([self._cell(e) for e in self._edges.value[frames]])

    def read_images(self, frames: slice, atoms: np.ndarray | None) -> np.ndarray | None:
        """Image flags (nf, na, 3) of a frame slice and a sorted atom subset (None without flags)."""
        if self._image is None:
            return None
        if self._image.fixed:
            image = self._image.at(0)
            image = image if atoms is None else image[atoms]
            return np.repeat(image[None], len(range(len(self))[frames]), 0).astype(np.int64)
        try:
            return np.asarray(self._select(self._image.value, frames, atoms), np.int64)
        except OSError as exc:
            raise TrajectoryFormatError(f"{self.path}: image flags of frames {frames.start}–"
                                        f"{frames.stop}: cannot read ({exc})") from None

    @property
    def has_images(self) -> bool:
        return self._image is not None

    @cached_property
    def box_fixed(self) -> bool:
        """Whether every frame has the same cell (NVT)."""
        if self._edges.fixed:
            return True
        edges = np.asarray(self._edges.value[:], float)
        return bool(np.allclose(edges, edges[0], rtol=0, atol=1e-9))

    @property
    def steps(self) -> np.ndarray:
        return self._steps

    @property
    def times(self) -> np.ndarray | None:
        return self._times

    def close(self) -> None:
        self._file.close()
