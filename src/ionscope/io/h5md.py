"""H5MD (de Buyl et al., Comput. Phys. Commun. 185, 1546 (2014)), ionscope's native format.

ionscope stores *unwrapped* positions (continuous in time, NPT-correct) in
``/particles/all/position``, the cell of every frame in ``/particles/all/box/edges`` (3×3,
rows = box vectors), atomic numbers in ``/particles/all/species`` and its provenance in
``/parameters/ionscope``. Position data are chunked over both frames and atoms, so a block of
atoms over all frames (MSD) and a block of frames over all atoms (structure) are both cheap.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Sequence

import h5py
import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from .. import __version__
from ..provenance import atomic_path
from .frame import Frame, TrajectoryFormatError


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
        self._edges = self._series(box, "edges", (3, 3), np.float64, chunks=(1024, 3, 3))
        params = f.create_group("parameters/ionscope")
        params.attrs["positions"] = "unwrapped"
        for key, value in self._attributes.items():
            params.attrs[key] = json.dumps(value) if not isinstance(value, str) else value

    def _series(self, parent, name, shape, dtype, chunks):
        group = parent.create_group(name)
        kw = {"compression": "gzip", "compression_opts": self._compression, "shuffle": True} \
            if self._compression else {}
        value = group.create_dataset("value", shape=(0, *shape), maxshape=(None, *shape),
                                     dtype=dtype, chunks=chunks, **kw)
        value.attrs["unit"] = "Angstrom"
        group.create_dataset("step", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(4096,))
        time = group.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64,
                                    chunks=(4096,))
        time.attrs["unit"] = "ps"
        return group

    def append(self, positions: np.ndarray, cells: np.ndarray, steps: Iterable[int],
               times: Iterable[float]) -> None:
        """Append a block of frames: positions (nf, N, 3) unwrapped, cells (nf, 3, 3)."""
        positions = np.asarray(positions)
        nf = len(positions)
        for group, values in ((self._position, positions), (self._edges, np.asarray(cells))):
            for key, data in (("value", values), ("step", np.asarray(list(steps))),
                              ("time", np.asarray(list(times), dtype=float))):
                dset = group[key]
                dset.resize(self._n + nf, axis=0)
                dset[self._n:self._n + nf] = data
        self._n += nf


class H5MDReader:
    """Frames of an H5MD file written by ionscope (or any H5MD file with unwrapped positions)."""

    format = "h5md"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such H5MD file")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise TrajectoryFormatError(f"{self.path}: not a readable HDF5 file ({exc})") from None
        try:
            part = self._file["particles/all"]
            self._position = part["position/value"]
            self._edges = part["box/edges/value"]
            self._steps = part["position/step"][()]
            times = part["position/time"][()] if "time" in part["position"] else None
            species = part["species"][()]
        except KeyError as exc:
            raise TrajectoryFormatError(f"{self.path}: missing H5MD group or dataset {exc}") from None
        self._times = times if times is not None and np.isfinite(times).all() else None
        self.symbols = np.array([chemical_symbols[z] for z in species])
        params = self._file.get("parameters/ionscope")
        self.attributes = dict(params.attrs) if params is not None else {}
        if len(self._edges) != len(self._position):
            raise TrajectoryFormatError(f"{self.path}: {len(self._position)} position frames but "
                                        f"{len(self._edges)} box frames")

    def __len__(self) -> int:
        return len(self._position)

    def read(self, k: int) -> Frame:
        return Frame(positions=np.asarray(self._position[k], float), cell=self._edges[k],
                     step=int(self._steps[k]),
                     time=None if self._times is None else float(self._times[k]), unwrapped=True)

    def __iter__(self):
        for k in range(len(self)):
            yield self.read(k)

    def read_block(self, frames: slice, atoms: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Positions (nf, na, 3) and cells (nf, 3, 3) of a frame slice and a sorted atom subset;
        only the chunks that hold those atoms are read."""
        if atoms is None:
            positions = self._position[frames]
        else:
            lo, hi = int(atoms[0]), int(atoms[-1]) + 1
            if hi - lo <= 4 * len(atoms):  # nearly contiguous (one species): read the range
                positions = self._position[frames, lo:hi][:, atoms - lo]
            else:
                positions = self._position[frames, atoms]
        return positions, self._edges[frames]

    @property
    def steps(self) -> np.ndarray:
        return self._steps

    @property
    def times(self) -> np.ndarray | None:
        return self._times

    def close(self) -> None:
        self._file.close()
