"""Streaming reader of LAMMPS ``dump custom`` / ``dump atom`` text files, plain or compressed.

Supports wrapped (``x y z``, with or without ``ix iy iz``), unwrapped (``xu yu zu``) and scaled
(``xs ys zs``, ``xsu ysu zsu``) coordinates, orthogonal, restricted-triclinic (``xy xz yz``) and
general-triclinic (``abc origin``) boxes, and a box that changes every frame (NPT). Frames are
located once by a byte scan, so frames can be read in any order without loading the file.
gzip, bzip2 and xz dumps (LAMMPS ``dump custom/gz``, ``*.lammpstrj.bz2``) are read by the same
parser through a decompressing stream.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import threading
import warnings
import zlib
from contextlib import nullcontext
from itertools import islice
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

from .frame import Frame, TrajectoryFormatError, lammps_cell
from .species import check_symbols, symbols_from_types
from .unwrap import images_from_unwrapped

_POSITION_SETS = (("xu", "yu", "zu"), ("x", "y", "z"), ("xsu", "ysu", "zsu"), ("xs", "ys", "zs"))
_MARK = b"ITEM: TIMESTEP"
_COMPRESSED = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))
READ_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error)  # unreadable or damaged streams


def compression_opener(path: Path):
    """``gzip.open``, ``bz2.open`` or ``lzma.open`` for a compressed file (by its magic bytes),
    None for a plain one."""
    with open(path, "rb") as handle:
        head = handle.read(6)
    return next((opener for magic, opener in _COMPRESSED if head.startswith(magic)), None)


class _Truncated(Exception):
    pass


class LammpsDumpReader:
    """Frames of a LAMMPS text dump, sorted by atom id.

    Parameters
    ----------
    path: the dump file (optionally gzip/bzip2/xz compressed).
    type_map: symbols of LAMMPS types 1, 2, … (or a mapping); not needed with an ``element``
        column.
    md_timestep: the MD timestep in ps (LAMMPS metal units), so that frame times are
        ``step × md_timestep``.

    Every frame must hold the atoms (ids) and types of the first; a last frame that the writer
    did not finish is dropped with a warning, and frames superseded by a restarted run appended
    to the same file (timesteps going back) are dropped with a warning, the later frames kept.
    """

    format = "lammps-dump"

    def __init__(self, path: str | os.PathLike, type_map: Sequence[str] | Mapping[int, str] | None = None,
                 md_timestep: float | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such LAMMPS dump file")
        if md_timestep is not None and not (np.isfinite(md_timestep) and md_timestep > 0):
            raise ValueError(f"{self.path}: md_timestep must be a positive number of ps, got {md_timestep}")
        self.type_map = type_map
        self.md_timestep = md_timestep
        self._opener = compression_opener(self.path)
        self._stream, self._lock = None, threading.Lock()
        self._reference: dict | None = None
        self._offsets = self._scan()
        if not self._offsets:
            raise TrajectoryFormatError(f"{self.path}: not a LAMMPS dump (no 'ITEM: TIMESTEP')")
        self.read(0)  # sets the species and atom count, or says what is wrong
        self._check_last()
        self._steps = self._order()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_stream"], state["_lock"] = None, None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ files
    def _open(self):
        """A binary handle on the (decompressed) text."""
        return self._opener(self.path, "rb") if self._opener else open(self.path, "rb")

    def _at(self, offset: int):
        """A binary handle positioned at ``offset`` of the decompressed text: a fresh one for a
        plain file, the shared stream for a compressed one (forward seeks are cheap there)."""
        if self._opener is None:
            handle = open(self.path, "rb")
            handle.seek(offset)
            return handle
        if self._stream is None:
            self._stream = self._open()
        self._stream.seek(offset)
        return nullcontext(self._stream)

    # ------------------------------------------------------------------ index
    def _scan(self) -> list[int]:
        """Byte offsets of every line that starts with ``ITEM: TIMESTEP``."""
        pattern = b"\n" + _MARK
        try:
            with self._open() as handle:
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
        except READ_ERRORS as exc:
            raise TrajectoryFormatError(f"{self.path}: cannot read the dump ({exc})") from None
        return offsets

    def _check_last(self) -> None:
        """Drop (with a warning) a last frame that the writer did not finish."""
        if len(self._offsets) == 1:
            return
        try:
            with self._lock:
                self._parse(len(self._offsets) - 1)
        except _Truncated as exc:
            warnings.warn(f"{self.path}: last frame truncated ({exc}); reading the "
                          f"{len(self._offsets) - 1} complete frame(s)", stacklevel=3)
            self._offsets.pop()

    def _order(self) -> np.ndarray:
        """Steps of every frame; frames whose step is not below every later frame's step were
        superseded by a restart that appended to the file: they are dropped (with a warning)."""
        steps = np.empty(len(self._offsets), np.int64)
        with self._open() as handle:
            for k, offset in enumerate(self._offsets):
                handle.seek(offset)
                handle.readline()
                steps[k] = self._int(handle.readline(), f"{self.path}: frame {k}", "timestep")
        later_min = np.minimum.accumulate(np.r_[steps[1:], np.iinfo(np.int64).max][::-1])[::-1]
        keep = steps < later_min
        if not keep.all():
            first = int(np.flatnonzero(steps[1:] <= steps[:-1])[0]) + 1
            warnings.warn(
                f"{self.path}: timesteps go back at frame {first} (step {steps[first]} after "
                f"{steps[first - 1]}): a restarted run appended to the dump; keeping the later "
                f"frames, dropping {int((~keep).sum())} superseded frame(s)", stacklevel=3)
            self._offsets = [o for o, k in zip(self._offsets, keep) if k]
        return steps[keep]

    def __len__(self) -> int:
        return len(self._offsets)

    # ------------------------------------------------------------------ frames
    @property
    def symbols(self) -> np.ndarray:
        return self._reference["symbols"]

    def __iter__(self) -> Iterator[Frame]:
        for k in range(len(self)):
            yield self.read(k)

    def step(self, k: int) -> int:
        """The MD step of frame ``k`` (read from the headers when the file is opened)."""
        return int(self._steps[k])

    def read(self, k: int) -> Frame:
        try:
            with self._lock:
                return self._parse(k)
        except _Truncated as exc:
            raise TrajectoryFormatError(f"{self.path}: frame {k} truncated ({exc})") from None

    def _parse(self, k: int) -> Frame:
        try:
            with self._at(self._offsets[k]) as handle:
                return self._parse_frame(handle, k)
        except READ_ERRORS as exc:
            raise TrajectoryFormatError(f"{self.path}: frame {k}: cannot read ({exc})") from None

    @staticmethod
    def _line(handle, what: str) -> str:
        line = handle.readline()
        if not line:
            raise _Truncated(f"file ends while reading {what}")
        return line.decode("utf-8", errors="replace")

    @staticmethod
    def _int(line, where: str, what: str) -> int:
        text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
        try:
            return int(text.split()[0])
        except (ValueError, IndexError):
            raise TrajectoryFormatError(f"{where}: the {what} is not an integer: {text.strip()!r}") from None

    def _parse_frame(self, handle, k: int) -> Frame:
        where = f"{self.path}: frame {k}"
        self._line(handle, "ITEM: TIMESTEP")
        step = self._int(self._line(handle, "the timestep"), where, "timestep")
        where = f"{where} (step {step})"
        if not self._line(handle, "ITEM: NUMBER OF ATOMS").startswith("ITEM: NUMBER OF ATOMS"):
            raise TrajectoryFormatError(f"{where}: expected 'ITEM: NUMBER OF ATOMS'")
        n_atoms = self._int(self._line(handle, "the number of atoms"), where, "number of atoms")
        header = self._line(handle, "ITEM: BOX BOUNDS")
        if not header.startswith("ITEM: BOX BOUNDS"):
            raise TrajectoryFormatError(f"{where}: expected 'ITEM: BOX BOUNDS'")
        flags = [t for t in header.split()[3:] if t not in ("xy", "xz", "yz", "abc", "origin")]
        if any(f != "pp" for f in flags):
            raise TrajectoryFormatError(f"{where}: boundary '{' '.join(flags)}' is not periodic in "
                                        f"every direction; ionscope analyses need a periodic box")
        box_lines = [self._line(handle, "the box").split() for _ in range(3)]
        try:
            if "abc" in header:
                rows = np.array(box_lines, float)
                cell, origin = rows[:, :3], rows[:, 3]
            else:
                bounds = np.array([row[:2] for row in box_lines], float)
                tilts = tuple(float(row[2]) for row in box_lines) if "xy" in header else None
                cell, origin = lammps_cell(bounds, tilts)
        except (ValueError, IndexError):
            raise TrajectoryFormatError(
                f"{where}: box bounds are not numbers: {[' '.join(r) for r in box_lines]}") from None
        if not (np.isfinite(cell).all() and np.isfinite(origin).all()):
            raise TrajectoryFormatError(f"{where}: box bounds are not finite")
        atoms_header = self._line(handle, "ITEM: ATOMS")
        if not atoms_header.startswith("ITEM: ATOMS"):
            raise TrajectoryFormatError(f"{where}: expected 'ITEM: ATOMS'")
        columns = atoms_header.split()[2:]
        if not any(all(c in columns for c in s) for s in _POSITION_SETS):
            raise TrajectoryFormatError(
                f"{where}: missing position columns; found {columns}, need one of "
                f"'x y z', 'xu yu zu', 'xs ys zs' or 'xsu ysu zsu'")
        lines = list(islice(handle, n_atoms))
        lines += [b""] * (n_atoms - len(lines))
        # readline gives b"" only at the end of the file; a last line without a newline is
        # complete when it has every column (files need not end in a newline), a short one is
        # a write cut off mid-line
        if n_atoms and (not lines[-1] or (not lines[-1].endswith(b"\n")
                                          and len(lines[-1].split()) != len(columns))):
            complete = sum(1 for line in lines if line.strip())
            raise _Truncated(f"step {step}: {complete} of {n_atoms} atom lines")
        table = self._table(b"".join(lines).decode("utf-8", errors="replace"), columns, n_atoms, where)
        return self._frame(table, columns, cell, origin, step, n_atoms, where)

    @staticmethod
    def _table(text: str, columns: list[str], n_atoms: int, where: str) -> dict[str, np.ndarray]:
        ncol = len(columns)
        if "ITEM:" in text:
            got = text[:text.index("ITEM:")].count("\n")
            raise TrajectoryFormatError(
                f"{where}: the header says {n_atoms} atoms but {got} atom lines follow")
        if "element" in columns:
            tokens = np.array(text.split(), dtype=object)
        else:
            try:
                with warnings.catch_warnings():  # a non-number ends the parse (or raises)
                    warnings.simplefilter("ignore", DeprecationWarning)
                    tokens = np.fromstring(text, sep=" ")  # noqa: NPY fast C parser
            except ValueError:
                tokens = np.empty(0)
            if tokens.size != n_atoms * ncol:
                for number, line in enumerate(text.splitlines()):
                    for token in line.split():
                        try:
                            float(token)
                        except ValueError:
                            raise TrajectoryFormatError(
                                f"{where}: atom line {number + 1}: {token!r} is not a number "
                                f"({line.strip()!r})") from None
        if tokens.size != n_atoms * ncol:
            raise TrajectoryFormatError(
                f"{where}: expected {n_atoms} atoms × {ncol} numeric columns "
                f"({' '.join(columns)}), found {tokens.size} values")
        tokens = tokens.reshape(n_atoms, ncol)
        return {c: tokens[:, i] for i, c in enumerate(columns)}

    def _frame(self, table: dict[str, np.ndarray], columns: list[str], cell: np.ndarray,
               origin: np.ndarray, step: int, n_atoms: int, where: str) -> Frame:
        def integers(name: str) -> np.ndarray:
            try:
                values = table[name].astype(float)
            except ValueError:
                raise TrajectoryFormatError(f"{where}: column '{name}' is not numeric") from None
            if not (np.isfinite(values).all() and np.all(values == np.round(values))):
                raise TrajectoryFormatError(f"{where}: column '{name}' holds non-integer values")
            return values.astype(np.int64)

        ids = integers("id") if "id" in table else None
        order = np.argsort(ids, kind="stable") if ids is not None else None

        def col(name: str, dtype=float) -> np.ndarray:
            try:
                values = table[name].astype(dtype) if dtype is not np.int64 else integers(name)
            except ValueError:
                raise TrajectoryFormatError(f"{where}: column '{name}' is not numeric") from None
            return values[order] if order is not None else values

        position_set = next(s for s in _POSITION_SETS if all(c in table for c in s))
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
        self._check_atoms(table, columns, col, None if ids is None else ids[order], n_atoms, where)
        arrays = {}
        for name, keys in (("velocities", ("vx", "vy", "vz")), ("forces", ("fx", "fy", "fz"))):
            if all(c in table for c in keys):
                arrays[name] = np.stack([col(c) for c in keys], axis=1)
        time = step * self.md_timestep if self.md_timestep is not None else None
        return Frame(positions=positions, cell=cell, origin=origin, image=image, step=step,
                     time=time, arrays=arrays)

    def _check_atoms(self, table, columns: list[str], col, ids: np.ndarray | None, n_atoms: int, where: str) -> None:
        """The first frame read fixes ids, types and species; every other must match them."""
        if ids is not None and np.any(ids[1:] == ids[:-1]):  # ids arrive sorted
            raise TrajectoryFormatError(f"{where}: duplicate atom ids")
        if "element" in table:
            labels = check_symbols(col("element", str), where)
        elif "type" in table:
            labels = col("type", np.int64)
        else:
            raise TrajectoryFormatError(f"{where}: no 'type' or 'element' column to identify species")
        ref = self._reference
        if ref is None:
            symbols = labels if "element" in table else symbols_from_types(labels, self.type_map, where)
            self._reference = {"ids": ids, "labels": labels, "symbols": symbols, "n_atoms": n_atoms,
                               "columns": columns}
            return
        if columns != ref["columns"]:
            raise TrajectoryFormatError(f"{where}: columns {columns} differ from the first frame's "
                                        f"{ref['columns']}")
        if n_atoms != ref["n_atoms"]:
            raise TrajectoryFormatError(
                f"{where}: inconsistent atom count: {n_atoms} atoms, the first frame has "
                f"{ref['n_atoms']}")
        if ids is not None and ref["ids"] is not None and not np.array_equal(ids, ref["ids"]):
            raise TrajectoryFormatError(f"{where}: the atom ids differ from the first frame's")
        if not np.array_equal(labels, ref["labels"]):
            bad = np.flatnonzero(labels != ref["labels"])
            atom = ids[bad[0]] if ids is not None else bad[0] + 1
            raise TrajectoryFormatError(
                f"{where}: the species of atom {atom} changed from {ref['labels'][bad[0]]} "
                f"(first frame) to {labels[bad[0]]}")

