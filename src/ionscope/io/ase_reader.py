"""Reader of anything ASE reads as a periodic trajectory (extended XYZ, ``.traj``)."""

from __future__ import annotations

import os
from pathlib import Path

import ase.io
import numpy as np
from ase.io.trajectory import Trajectory as AseTrajectory

from .frame import Frame, TrajectoryFormatError
from .species import check_symbols


class AseReader:
    """Frames through ``ase.io``; the file is indexed lazily by ASE, not loaded whole."""

    format = "ase"

    def __init__(self, path: str | os.PathLike, format: str | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such trajectory file")
        self._format = format
        try:
            first = ase.io.read(self.path, index=0, format=format)
        except Exception as exc:  # ASE raises many kinds of errors for malformed files
            raise TrajectoryFormatError(f"{self.path}: cannot read the first frame ({exc})") from None
        self.symbols = check_symbols(first.get_chemical_symbols(), str(self.path))
        if not first.cell.rank == 3:
            raise TrajectoryFormatError(f"{self.path}: frame 0 has no 3D periodic cell")
        self._length: int | None = None

    def __len__(self) -> int:
        if self._length is None:
            if self.path.suffix == ".traj":
                with AseTrajectory(str(self.path)) as traj:
                    self._length = len(traj)
            else:
                self._length = sum(1 for _ in self._iter_atoms())
        return self._length

    def _iter_atoms(self):
        return ase.io.iread(self.path, index=":", format=self._format)

    def read(self, k: int) -> Frame:
        return self._to_frame(ase.io.read(self.path, index=k, format=self._format), k)

    def __iter__(self):
        for k, atoms in enumerate(self._iter_atoms()):
            yield self._to_frame(atoms, k)

    def _to_frame(self, atoms, k: int) -> Frame:
        if len(atoms) != len(self.symbols):
            raise TrajectoryFormatError(f"{self.path}: inconsistent atom count: frame {k} has "
                                        f"{len(atoms)} atoms, frame 0 has {len(self.symbols)}")
        frame = Frame(positions=atoms.get_positions(), cell=np.array(atoms.cell), step=k,
                      time=atoms.info.get("time"))
        if "image" in atoms.arrays:
            frame.image = np.asarray(atoms.arrays["image"], np.int64)
        return frame
