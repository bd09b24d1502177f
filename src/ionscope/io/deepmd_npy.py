"""DeePMD-kit npy systems (``type.raw``, ``type_map.raw``, ``set.*/{coord,box,energy,force,
virial}.npy``): one reader, as a stream of frames for analyses (:class:`DeepmdNpyReader`) and as
whole arrays for fitting and testing potentials (:func:`load_system`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .frame import Frame, TrajectoryFormatError
from .species import check_symbols

# values per frame: per atom for coordinates and forces, per frame for the rest
_PER_ATOM = {"coord": 3, "force": 3}
_PER_FRAME = {"box": 9, "energy": 1, "virial": 9}


class DeepmdNpyReader:
    """Frames of one DeePMD npy system; energies and forces travel in ``Frame.info/arrays``.

    ``types`` (integer type per atom), ``type_map`` (species of each type) and ``symbols`` are
    read and checked on opening; the per-frame arrays are memory-mapped.
    """

    format = "deepmd-npy"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        type_file = self.path / "type.raw"
        if not type_file.is_file():
            raise FileNotFoundError(f"{self.path}: not a DeePMD npy system (no type.raw)")
        self.types = np.loadtxt(type_file, dtype=int, ndmin=1)
        map_file = self.path / "type_map.raw"
        if not map_file.is_file():
            raise TrajectoryFormatError(f"{self.path}: no type_map.raw, species unknown")
        self.type_map = map_file.read_text().split()
        if self.types.max() >= len(self.type_map):
            raise TrajectoryFormatError(f"{self.path}: unknown species: type {self.types.max()} is "
                                        f"not in type_map.raw {self.type_map}")
        self.symbols = check_symbols([self.type_map[t] for t in self.types], str(self.path))
        self._sets = sorted(self.path.glob("set.*"))
        if not self._sets:
            raise TrajectoryFormatError(f"{self.path}: no set.* directories")
        self._coord, self._box = self.set_arrays("coord"), self.set_arrays("box")
        if self._coord is None or self._box is None:
            raise TrajectoryFormatError(f"{self.path}: every set.* needs coord.npy and box.npy")
        for s, c, b in zip(self._sets, self._coord, self._box):
            if len(b) != len(c):
                raise TrajectoryFormatError(f"{s}: {len(c)} coordinate frames, {len(b)} boxes")
        self._optional = {key: arrays for key in ("energy", "force")
                          if (arrays := self.set_arrays(key)) is not None}
        self._index = [(i, j) for i, c in enumerate(self._coord) for j in range(len(c))]

    def set_arrays(self, key: str) -> list[np.ndarray] | None:
        """``key``.npy of every set (memory-mapped) as (frames, values per frame); None when a
        set lacks it. dpdata writes energies as (n, 1), raw data as (n,): both are read."""
        files = [s / f"{key}.npy" for s in self._sets]
        if not all(f.exists() for f in files):
            return None
        width = _PER_ATOM[key] * len(self.types) if key in _PER_ATOM else _PER_FRAME[key]
        out = []
        for f in files:
            array = np.load(f, mmap_mode="r")
            per_frame = array.size // len(array) if len(array) else width
            if per_frame != width:
                atoms = f", {per_frame // _PER_ATOM[key]} atoms per frame, type.raw has " \
                        f"{len(self.types)}" if key in _PER_ATOM else ""
                raise TrajectoryFormatError(f"{f}: {per_frame} values per frame, expected "
                                            f"{width}{atoms}")
            out.append(array.reshape(-1, width))
        return out

    def __len__(self) -> int:
        return len(self._index)

    def read(self, k: int) -> Frame:
        i, j = self._index[k]
        frame = Frame(positions=np.array(self._coord[i][j], float).reshape(-1, 3),
                      cell=np.array(self._box[i][j], float).reshape(3, 3), step=k)
        if "energy" in self._optional:
            frame.info["energy"] = float(self._optional["energy"][i][j, 0])
        if "force" in self._optional:
            frame.arrays["forces"] = np.array(self._optional["force"][i][j]).reshape(-1, 3)
        return frame

    def __iter__(self):
        for k in range(len(self)):
            yield self.read(k)


def load_system(path: str | os.PathLike) -> dict:
    """One labelled DeePMD npy system as whole arrays over all sets: ``types``, ``type_map``,
    ``coord`` (n, 3N) and ``box`` (n, 9) in Å, ``energy`` (n,) in eV, ``force`` (n, 3N) in eV/Å
    and ``virial`` (n, 9) in eV when present."""
    reader = DeepmdNpyReader(path)
    data = {"types": reader.types, "type_map": reader.type_map}
    for key in ("coord", "box", "energy", "force", "virial"):
        arrays = reader.set_arrays(key)
        if arrays is not None:
            data[key] = np.concatenate([np.asarray(a) for a in arrays])
    if "energy" not in data:
        raise TrajectoryFormatError(f"{reader.path}: not a labelled system (no energy.npy in "
                                    f"every set.*)")
    data["energy"] = data["energy"].reshape(-1)
    return data
