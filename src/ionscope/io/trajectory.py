"""``Trajectory``: one interface over every supported file format.

Frames stream from disk; ``iter_chunks`` yields blocks of unwrapped positions of chosen atoms,
so analyses hold one block at a time, never the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

from .ase_reader import AseReader
from .deepmd_npy import DeepmdNpyReader
from .frame import Frame, TrajectoryFormatError
from .h5md import H5MDReader, H5MDWriter
from .lammps_dump import LammpsDumpReader
from .unwrap import Unwrapper

_MAX_TIMESTEP_PS = 0.01


@dataclass
class Chunk:
    """A block of consecutive (strided) frames: unwrapped positions (nf, na, 3), cells
    (nf, 3, 3), frame indices, MD step numbers and times (ps, or None when the source has no
    times)."""

    positions: np.ndarray
    cells: np.ndarray
    frames: np.ndarray
    steps: np.ndarray
    times: np.ndarray | None


class Trajectory:
    """A trajectory on disk: species, box per frame, times and unwrapped positions.

    Open one with :func:`open_trajectory`. ``frame_interval`` (ps between stored frames) gives
    times to formats that store none.
    """

    def __init__(self, reader, frame_interval: float | None = None) -> None:
        self.reader = reader
        self.path = Path(reader.path)
        self.frame_interval = frame_interval
        if frame_interval is not None and frame_interval <= 0:
            raise ValueError(f"{self.path}: frame_interval must be positive (ps), got {frame_interval}")

    # --------------------------------------------------------------- basics
    @property
    def symbols(self) -> np.ndarray:
        return self.reader.symbols

    @property
    def species(self) -> list[str]:
        """Distinct species in order of first appearance."""
        return list(dict.fromkeys(self.symbols.tolist()))

    @property
    def n_atoms(self) -> int:
        return len(self.symbols)

    def __len__(self) -> int:
        return len(self.reader)

    @property
    def n_frames(self) -> int:
        return len(self.reader)

    def indices(self, species: str | Sequence[str] | None = None) -> np.ndarray:
        """Indices of the atoms of one or several species (all atoms for None)."""
        if species is None:
            return np.arange(self.n_atoms)
        wanted = [species] if isinstance(species, str) else list(species)
        unknown = set(wanted) - set(self.species)
        if unknown:
            raise ValueError(f"{self.path}: unknown species {sorted(unknown)}; "
                             f"the trajectory has {self.species}")
        return np.flatnonzero(np.isin(self.symbols, wanted))

    def __getitem__(self, k: int) -> Frame:
        k = range(len(self))[k]
        frame = self.reader.read(k)
        return self._timed(frame, k)

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Frame]:
        """Frames ``start:stop:step`` (positions as stored, not unwrapped)."""
        for k in range(*slice(start, stop, step).indices(len(self))):
            yield self[k]

    def _timed(self, frame: Frame, k: int) -> Frame:
        if frame.time is None and self.frame_interval is not None:
            frame.time = k * self.frame_interval
        return frame

    def atoms(self, k: int):
        """Frame ``k`` as an ASE ``Atoms``."""
        return self[k].to_atoms(self.symbols)

    # --------------------------------------------------------------- unwrapped blocks
    def iter_chunks(self, chunk_frames: int = 256, start: int = 0, stop: int | None = None,
                    step: int = 1, atoms: np.ndarray | None = None,
                    dtype=np.float64) -> Iterator[Chunk]:
        """Unwrapped positions of ``atoms`` over frames ``start:stop:step``, in blocks.

        Every frame between ``start`` and ``stop`` is read so that unwrapping sees each step;
        only the strided frames are kept.
        """
        wanted = range(*slice(start, stop, step).indices(len(self)))
        if len(wanted) == 0:
            return
        if isinstance(self.reader, H5MDReader):
            yield from self._h5md_chunks(wanted, chunk_frames, atoms, dtype)
            return
        unwrap = Unwrapper()
        pos, cells, idx, steps, times = [], [], [], [], []
        for k in range(wanted.start, wanted[-1] + 1):
            frame = self[k]
            unwrapped = unwrap(frame)
            if (k - wanted.start) % wanted.step:
                continue
            pos.append(unwrapped if atoms is None else unwrapped[atoms])
            cells.append(frame.cell)
            idx.append(k)
            steps.append(k if frame.step is None else frame.step)
            times.append(frame.time)
            if len(pos) == chunk_frames:
                yield self._chunk(pos, cells, idx, steps, times, dtype)
                pos, cells, idx, steps, times = [], [], [], [], []
        if pos:
            yield self._chunk(pos, cells, idx, steps, times, dtype)

    def _h5md_chunks(self, wanted: range, chunk_frames: int, atoms, dtype) -> Iterator[Chunk]:
        reader: H5MDReader = self.reader
        atom_sel = None if atoms is None else np.sort(np.asarray(atoms))
        for first in range(0, len(wanted), chunk_frames):
            block = wanted[first:first + chunk_frames]
            sl = slice(block.start, block[-1] + 1, block.step)
            positions, cells = reader.read_block(sl, atom_sel)
            if atoms is not None and not np.array_equal(atom_sel, atoms):
                positions = positions[:, np.searchsorted(atom_sel, atoms)]
            times = None
            if reader.times is not None:
                times = reader.times[sl]
            elif self.frame_interval is not None:
                times = np.asarray(block) * self.frame_interval
            yield Chunk(np.asarray(positions, dtype), np.asarray(cells), np.asarray(block),
                        reader.steps[sl], times)

    @staticmethod
    def _chunk(pos, cells, idx, steps, times, dtype) -> Chunk:
        t = None if any(x is None for x in times) else np.asarray(times, float)
        return Chunk(np.asarray(pos, dtype), np.asarray(cells), np.asarray(idx),
                     np.asarray(steps, np.int64), t)

    def unwrapped(self, atoms: np.ndarray | None = None, start: int = 0, stop: int | None = None,
                  step: int = 1, dtype=np.float64) -> np.ndarray:
        """All unwrapped positions of ``atoms`` as one (nf, na, 3) array (mind the memory)."""
        blocks = [c.positions for c in self.iter_chunks(start=start, stop=stop, step=step,
                                                          atoms=atoms, dtype=dtype)]
        return np.concatenate(blocks) if blocks else np.empty((0, 0, 3), dtype)

    def times(self, start: int = 0, stop: int | None = None, step: int = 1) -> np.ndarray:
        """Frame times in ps; an error when neither the file nor ``frame_interval`` gives them."""
        idx = np.arange(*slice(start, stop, step).indices(len(self)))
        if isinstance(self.reader, H5MDReader) and self.reader.times is not None:
            return self.reader.times[idx]
        if self.frame_interval is not None:
            return idx * self.frame_interval
        if isinstance(self.reader, LammpsDumpReader) and self.reader.md_timestep is not None:
            return np.array([self.reader.step(k) for k in idx]) * self.reader.md_timestep
        raise ValueError(f"{self.path}: frame times unknown; give md_timestep (LAMMPS dump) or "
                         f"frame_interval (ps between frames)")

    # --------------------------------------------------------------- conversion
    def to_h5md(self, path: str | os.PathLike, precision: str = "float64",
                chunk_frames: int = 256, progress: bool = False) -> Path:
        """Write unwrapped positions and boxes to an H5MD file (atomically)."""
        from tqdm.auto import tqdm

        from ..provenance import provenance

        record = provenance(inputs={"source": self.path},
                            parameters={"format": self.reader.format, "precision": precision,
                                        "frame_interval": self.frame_interval})
        with H5MDWriter(path, self.symbols, precision=precision,
                        attributes={"provenance": record}) as writer, \
                tqdm(total=len(self), disable=None if progress else True, desc="convert", unit="frame") as bar:
            for chunk in self.iter_chunks(chunk_frames=chunk_frames):
                times = chunk.times if chunk.times is not None else np.full(len(chunk.frames), np.nan)
                writer.append(chunk.positions, chunk.cells, chunk.steps, times)
                bar.update(len(chunk.frames))
        return Path(path)


def detect_format(path: Path) -> str:
    if path.is_dir():
        return "deepmd-npy"
    suffix = path.suffix.lower()
    if suffix in (".h5", ".h5md", ".hdf5"):
        return "h5md"
    if suffix in (".xyz", ".extxyz", ".traj"):
        return "ase"
    if suffix in (".dump", ".lammpstrj") or ".dump" in path.name or path.name.startswith("dump"):
        return "lammps-dump"
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(b"ITEM: TIMESTEP"):
        return "lammps-dump"
    if head.startswith(b"\x89HDF"):
        return "h5md"
    return "ase"


def open_trajectory(path: str | os.PathLike, format: str | None = None,
                    type_map: Sequence[str] | Mapping[int, str] | None = None,
                    md_timestep: float | None = None,
                    frame_interval: float | None = None) -> Trajectory:
    """Open a trajectory: LAMMPS dump, H5MD, DeePMD npy system directory, extxyz or ASE .traj.

    ``md_timestep`` is the MD timestep in ps (LAMMPS metal units) for dumps, whose frames carry
    step numbers; ``frame_interval`` is the time in ps between stored frames for the others.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such trajectory")
    if md_timestep is not None and md_timestep > _MAX_TIMESTEP_PS:
        raise ValueError(f"{path}: md_timestep={md_timestep} ps is implausibly long; times are in "
                         f"ps (LAMMPS metal units): did you give fs? 0.5 fs is 0.0005 ps")
    fmt = format or detect_format(path)
    if fmt == "lammps-dump":
        reader = LammpsDumpReader(path, type_map=type_map, md_timestep=md_timestep)
    elif fmt == "h5md":
        reader = H5MDReader(path)
    elif fmt == "deepmd-npy":
        reader = DeepmdNpyReader(path)
    elif fmt in ("ase", "extxyz", "traj"):
        reader = AseReader(path, format=None if fmt == "ase" else fmt)
    else:
        raise ValueError(f"{path}: unknown trajectory format {fmt!r}")
    return Trajectory(reader, frame_interval=frame_interval)


__all__ = ["Chunk", "Frame", "Trajectory", "TrajectoryFormatError", "open_trajectory"]
