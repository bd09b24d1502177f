"""Streaming reader of LAMMPS ``dump custom`` / ``dump atom`` text files.

Supports wrapped (``x y z``, with or without ``ix iy iz``), unwrapped (``xu yu zu``) and scaled
(``xs ys zs``, ``xsu ysu zsu``) coordinates, orthogonal, restricted-triclinic (``xy xz yz``) and
general-triclinic (``abc origin``) boxes, and a box that changes every frame (NPT). Frames are
located once by a byte scan, so frames can be read in any order without loading the file.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

from .frame import Frame, TrajectoryFormatError, lammps_cell
from .species import check_symbols, symbols_from_types
from .unwrap import images_from_unwrapped

_POSITION_SETS = (("xu", "yu", "zu"), ("x", "y", "z"), ("xsu", "ysu", "zsu"), ("xs", "ys", "zs"))
_MARK = b"ITEM: TIMESTEP"


class _Truncated(Exception):
    pass


class LammpsDumpReader:
    """Frames of a LAMMPS text dump, sorted by atom id.

    Parameters
    ----------
    path: the dump file.
    type_map: symbols of LAMMPS types 1, 2, … (or a mapping); not needed with an ``element``
        column.
    md_timestep: the MD timestep in ps (LAMMPS metal units), so that frame times are
        ``step × md_timestep``.
    """

    format = "lammps-dump"

    def __init__(self, path: str | os.PathLike, type_map: Sequence[str] | Mapping[int, str] | None = None,
                 md_timestep: float | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such LAMMPS dump file")
        self.type_map = type_map
        self.md_timestep = md_timestep
        self._offsets = self._scan()
        if not self._offsets:
            raise TrajectoryFormatError(f"{self.path}: not a LAMMPS dump (no 'ITEM: TIMESTEP')")
        self.read(0)  # sets the species and atom count, or says what is wrong
        self._check_last()

    # ------------------------------------------------------------------ index
    def _scan(self) -> list[int]:
        """Byte offsets of every line that starts with ``ITEM: TIMESTEP``."""
        pattern = b"\n" + _MARK
        with open(self.path, "rb") as handle:
            offsets = [0] if handle.read(len(_MARK)) == _MARK else []
            handle.seek(0)
            position, tail = 0, b""
            while block := handle.read(1 << 24):
                data = tail + block
                data_start = position - len(tail)
                hit = data.find(pattern)
                while hit >= 0:
                    offsets.append(data_start + hit + 1)
                    hit = data.find(pattern, hit + 1)
                position += len(block)
                tail = data[-(len(pattern) - 1):]
        return offsets

    def _check_last(self) -> None:
        """Drop (with a warning) a last frame that the writer did not finish."""
        try:
            self._parse(len(self._offsets) - 1)
        except _Truncated as exc:
            warnings.warn(f"{self.path}: last frame truncated ({exc}); reading the "
                          f"{len(self._offsets) - 1} complete frame(s)", stacklevel=3)
            self._offsets.pop()

    def __len__(self) -> int:
        return len(self._offsets)

    # ------------------------------------------------------------------ frames
    @property
    def symbols(self) -> np.ndarray:
        return self._symbols

    def __iter__(self) -> Iterator[Frame]:
        for k in range(len(self)):
            yield self.read(k)

    def step(self, k: int) -> int:
        """The MD step of frame ``k``, from its header alone."""
        with open(self.path, "r") as handle:
            handle.seek(self._offsets[k])
            self._line(handle, "ITEM: TIMESTEP")
            return int(self._line(handle, "the timestep").split()[0])

    def read(self, k: int) -> Frame:
        try:
            return self._parse(k)
        except _Truncated as exc:
            raise TrajectoryFormatError(f"{self.path}: frame {k} truncated ({exc})") from None

    def _parse(self, k: int) -> Frame:
        with open(self.path, "r") as handle:
            handle.seek(self._offsets[k])
            return self._parse_frame(handle, k)

    def _line(self, handle, what: str) -> str:
        line = handle.readline()
        if not line:
            raise _Truncated(f"file ends while reading {what}")
        return line

    def _parse_frame(self, handle, k: int) -> Frame:
        where = f"{self.path}: frame {k}"
        self._line(handle, "ITEM: TIMESTEP")
        step = int(self._line(handle, "the timestep").split()[0])
        if not self._line(handle, "ITEM: NUMBER OF ATOMS").startswith("ITEM: NUMBER OF ATOMS"):
            raise TrajectoryFormatError(f"{where} (step {step}): expected 'ITEM: NUMBER OF ATOMS'")
        n_atoms = int(self._line(handle, "the number of atoms"))
        header = self._line(handle, "ITEM: BOX BOUNDS")
        if not header.startswith("ITEM: BOX BOUNDS"):
            raise TrajectoryFormatError(f"{where} (step {step}): expected 'ITEM: BOX BOUNDS'")
        box_lines = [self._line(handle, "the box").split() for _ in range(3)]
        if "abc" in header:
            rows = np.array(box_lines, float)
            cell, origin = rows[:, :3], rows[:, 3]
        else:
            bounds = np.array([row[:2] for row in box_lines], float)
            tilts = tuple(float(row[2]) for row in box_lines) if "xy" in header else None
            cell, origin = lammps_cell(bounds, tilts)
        atoms_header = self._line(handle, "ITEM: ATOMS")
        if not atoms_header.startswith("ITEM: ATOMS"):
            raise TrajectoryFormatError(f"{where} (step {step}): expected 'ITEM: ATOMS'")
        columns = atoms_header.split()[2:]
        lines = [handle.readline() for _ in range(n_atoms)]
        if n_atoms and not lines[-1].endswith("\n"):
            got = sum(1 for line in lines if line.strip())
            raise _Truncated(f"step {step}: {got} of {n_atoms} atom lines")
        table = self._table(lines, columns, n_atoms, where, step)
        return self._frame(table, columns, cell, origin, step, n_atoms, where)

    def _table(self, lines: list[str], columns: list[str], n_atoms: int, where: str,
               step: int) -> dict[str, np.ndarray]:
        ncol = len(columns)
        if "element" in columns:
            tokens = np.array(" ".join(lines).split(), dtype=object)
        else:
            tokens = np.fromstring("".join(lines), sep=" ")  # noqa: NPY fast C parser
        if tokens.size != n_atoms * ncol:
            raise TrajectoryFormatError(
                f"{where} (step {step}): expected {n_atoms} atoms × {ncol} columns "
                f"({' '.join(columns)}), found {tokens.size} values")
        tokens = tokens.reshape(n_atoms, ncol)
        return {c: tokens[:, i] for i, c in enumerate(columns)}

    def _frame(self, table: dict[str, np.ndarray], columns: list[str], cell: np.ndarray,
               origin: np.ndarray, step: int, n_atoms: int, where: str) -> Frame:
        order = np.argsort(table["id"].astype(np.int64), kind="stable") if "id" in table else None

        def col(name: str, dtype=float) -> np.ndarray:
            values = table[name].astype(dtype)
            return values[order] if order is not None else values

        position_set = next((s for s in _POSITION_SETS if all(c in table for c in s)), None)
        if position_set is None:
            raise TrajectoryFormatError(
                f"{where}: missing position columns; found {columns}, need one of "
                f"'x y z', 'xu yu zu', 'xs ys zs' or 'xsu ysu zsu'")
        xyz = np.stack([col(c) for c in position_set], axis=1)
        if position_set[0].startswith("xs"):
            xyz = origin + xyz @ cell
        image_cols = [c for c in ("ix", "iy", "iz") if c in table]
        if image_cols and len(image_cols) != 3:
            raise TrajectoryFormatError(f"{where}: image flags incomplete, found {image_cols}")
        if position_set[0].endswith("u"):
            positions, image = images_from_unwrapped(xyz, cell, origin)
        else:
            positions = xyz
            image = np.stack([col(c, np.int64) for c in image_cols], 1) if image_cols else None
        symbols = self._species(table, col, where)
        if not hasattr(self, "_symbols"):
            self._symbols = symbols
            self._n_atoms = n_atoms
        elif n_atoms != self._n_atoms:
            raise TrajectoryFormatError(
                f"{where}: inconsistent atom count: {n_atoms} atoms, the first frame has "
                f"{self._n_atoms}")
        arrays = {}
        for name, keys in (("velocities", ("vx", "vy", "vz")), ("forces", ("fx", "fy", "fz"))):
            if all(c in table for c in keys):
                arrays[name] = np.stack([col(c) for c in keys], axis=1)
        time = step * self.md_timestep if self.md_timestep is not None else None
        return Frame(positions=positions, cell=cell, origin=origin, image=image, step=step,
                     time=time, arrays=arrays)

    def _species(self, table, col, where: str) -> np.ndarray | None:
        if "element" in table:
            return check_symbols(col("element", str), where)
        if "type" in table:
            if hasattr(self, "_symbols"):
                return self._symbols
            return symbols_from_types(col("type", np.int64), self.type_map, where)
        raise TrajectoryFormatError(f"{where}: no 'type' or 'element' column to identify species")
