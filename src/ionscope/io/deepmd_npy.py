"""Reader of DeePMD-kit npy systems (``type.raw``, ``type_map.raw``, ``set.*/coord.npy``…)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .frame import Frame, TrajectoryFormatError
from .species import check_symbols


class DeepmdNpyReader:
    """Frames of one DeePMD npy system; energies and forces travel in ``Frame.info/arrays``."""

    format = "deepmd-npy"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        type_file = self.path / "type.raw"
        if not type_file.is_file():
            raise FileNotFoundError(f"{self.path}: not a DeePMD npy system (no type.raw)")
        types = np.loadtxt(type_file, dtype=int, ndmin=1)
        map_file = self.path / "type_map.raw"
        if not map_file.is_file():
            raise TrajectoryFormatError(f"{self.path}: no type_map.raw, species unknown")
        type_map = map_file.read_text().split()
        if types.max() >= len(type_map):
            raise TrajectoryFormatError(f"{self.path}: unknown species: type {types.max()} is not "
                                        f"in type_map.raw {type_map}")
        self.symbols = check_symbols([type_map[t] for t in types], str(self.path))
        self._sets = sorted(self.path.glob("set.*"))
        if not self._sets:
            raise TrajectoryFormatError(f"{self.path}: no set.* directories")
        self._coord = [np.load(s / "coord.npy", mmap_mode="r") for s in self._sets]
        self._box = [np.load(s / "box.npy", mmap_mode="r") for s in self._sets]
        for s, c, b in zip(self._sets, self._coord, self._box):
            if c.shape[1] != 3 * len(types):
                raise TrajectoryFormatError(f"{s}/coord.npy: {c.shape[1] // 3} atoms per frame, "
                                            f"type.raw has {len(types)}")
            if len(b) != len(c):
                raise TrajectoryFormatError(f"{s}: {len(c)} coordinate frames, {len(b)} boxes")
        self._optional = {key: [np.load(s / f"{key}.npy", mmap_mode="r") for s in self._sets]
                          for key in ("energy", "force")
                          if all((s / f"{key}.npy").exists() for s in self._sets)}
        self._index = [(i, j) for i, c in enumerate(self._coord) for j in range(len(c))]

    def __len__(self) -> int:
        return len(self._index)

    def read(self, k: int) -> Frame:
        i, j = self._index[k]
        frame = Frame(positions=np.array(self._coord[i][j], float).reshape(-1, 3),
                      cell=np.array(self._box[i][j], float).reshape(3, 3), step=k)
        if "energy" in self._optional:
            frame.info["energy"] = float(self._optional["energy"][i][j])
        if "force" in self._optional:
            frame.arrays["forces"] = np.array(self._optional["force"][i][j]).reshape(-1, 3)
        return frame

    def __iter__(self):
        for k in range(len(self)):
            yield self.read(k)
