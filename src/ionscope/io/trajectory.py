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
from tqdm.auto import tqdm

from ..provenance import provenance
from .ase_reader import AseReader
from .deepmd_npy import DeepmdNpyReader
from .frame import Frame, TrajectoryFormatError
from .h5md import H5MDReader, H5MDWriter, is_ionscope_h5md
from .lammps_dump import READ_ERRORS, LammpsDumpReader, compression_opener
from .species import species_indices
from .unwrap import Carry, ImageTracker, Unwrapper, tor_offsets

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
        if frame_interval is not None and not (np.isfinite(frame_interval) and frame_interval > 0):
            raise ValueError(f"{self.path}: frame_interval must be a positive number of ps, "
                             f"got {frame_interval}")

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
        return species_indices(self.symbols, species, str(self.path))

    def __getitem__(self, k: int) -> Frame:
        k = range(len(self))[k]
        frame = self.reader.read(k)
        self._check_finite(frame.positions, frame.cell, k)
        return self._timed(frame, k)

    def _check_finite(self, positions: np.ndarray, cells: np.ndarray, first: int) -> None:
        """A NaN or inf coordinate or box is an error naming the frame and atoms (it would
        otherwise flow silently into every analysis)."""
        if np.isfinite(positions).all() and np.isfinite(cells).all():
            return
        bad = ~np.isfinite(positions).all(axis=-1)
        if positions.ndim == 3:  # a block of frames
            frame = first + int(np.flatnonzero(bad.any(axis=1) | ~np.isfinite(cells).all(axis=(1, 2)))[0])
            bad = bad[frame - first]
        else:
            frame = first
        atoms = np.flatnonzero(bad)
        what = f"atom index(es) {atoms[:5].tolist()}{' …' if len(atoms) > 5 else ''}" if len(atoms) \
            else "the box"
        raise TrajectoryFormatError(f"{self.path}: frame {frame}: non-finite coordinates (NaN or "
                                    f"inf) for {what}")

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
        if isinstance(self.reader, H5MDReader) and (self.reader.unwrapped or self.reader.has_images):
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
        """Blocks read straight from an H5MD file; positions made continuous from the image
        flags (:func:`~ionscope.io.unwrap.tor_offsets`), or stored continuous (earlier layout)."""
        reader: H5MDReader = self.reader
        atom_sel = None if atoms is None else np.sort(np.asarray(atoms))
        carry, summed_to = None, wanted.start
        for first in range(0, len(wanted), chunk_frames):
            block = wanted[first:first + chunk_frames]
            sl = slice(block.start, block[-1] + 1, block.step)
            positions, cells = reader.read_block(sl, atom_sel)
            self._check_finite(positions, cells, block.start)
            if reader.unwrapped:     # the earlier layout: stored continuous
                pass
            elif reader.box_fixed:   # o = n·H
                image = reader.read_images(sl, atom_sel)
                if image.any():
                    positions = positions + np.einsum("fai,fij->faj", image, cells)
            else:                    # the TOR sum needs every frame's flags and cell
                offsets, carry = self._summed_offsets(range(summed_to, block[-1] + 1), block,
                                                      atom_sel, carry)
                positions = positions + offsets
                summed_to = block[-1] + 1
            if atoms is not None and not np.array_equal(atom_sel, atoms):
                positions = positions[:, np.searchsorted(atom_sel, atoms)]
            times = None
            if reader.times is not None:
                times = reader.times[sl]
            elif self.frame_interval is not None:
                times = np.asarray(block) * self.frame_interval
            yield Chunk(np.asarray(positions, dtype), np.asarray(cells), np.asarray(block),
                        reader.steps[sl], times)

    def _summed_offsets(self, frames: range, keep: range, atoms, carry: Carry | None,
                        span: int = 4096) -> tuple[np.ndarray, Carry]:
        """TOR offsets over consecutive ``frames`` (in spans, to bound memory), kept at ``keep``."""
        kept = []
        for lo in range(frames.start, frames.stop, span):
            hi = min(lo + span, frames.stop)
            offsets, carry = tor_offsets(self.reader.read_images(slice(lo, hi), atoms),
                                         self.reader.read_cells(slice(lo, hi)), carry)
            kept.append(offsets[[k - lo for k in keep if lo <= k < hi]])
        return np.concatenate(kept), carry

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
                chunk_frames: int = 256, progress: bool = False, force: bool = False) -> Path:
        """Write the frames to an H5MD file (atomically): positions with image flags, and boxes.

        Never over the trajectory itself or a directory; over another existing file only if it
        is an ionscope H5MD file, or with ``force=True``.
        """
        path = Path(path)
        if path.is_dir():
            raise ValueError(f"{path}: is a directory; give the output file name (e.g. {path / 'traj.h5'})")
        if path.exists():
            if path.samefile(self.path):
                raise ValueError(f"{path}: is the input trajectory; refusing to overwrite it")
            if not force and not is_ionscope_h5md(path):
                raise ValueError(f"{path}: exists and is not an ionscope H5MD file; refusing to "
                                 f"overwrite it (use force=True, or --force on the command line)")

        record = provenance(inputs={"source": self.path},
                            parameters={"format": self.reader.format, "precision": precision,
                                        "frame_interval": self.frame_interval})
        with H5MDWriter(path, self.symbols, precision=precision,
                        attributes={"provenance": record}) as writer, \
                tqdm(total=len(self), disable=None if progress else True, desc="convert", unit="frame") as bar:
            images = ImageTracker()
            block: list[tuple] = []
            for k in range(len(self)):
                frame = self[k]
                wrapped, image = images(frame)
                block.append((wrapped, frame.cell, k if frame.step is None else frame.step,
                              np.nan if frame.time is None else frame.time, image))
                if len(block) == chunk_frames or k == len(self) - 1:
                    writer.append(*(np.asarray(column) for column in zip(*block)))
                    bar.update(len(block))
                    block = []
        return Path(path)


def detect_format(path: Path) -> str:
    """The format from the name, else from the first bytes (of the decompressed text for
    gzip/bzip2/xz files: a compressed LAMMPS dump is read by the same dump parser)."""
    if path.is_dir():
        return "deepmd-npy"
    opener = compression_opener(path)
    name = path.name.lower()
    stem = name.rsplit(".", 1)[0] if opener is not None else name
    suffix = Path(stem).suffix
    if opener is None and suffix in (".h5", ".h5md", ".hdf5"):
        return "h5md"
    if suffix in (".xyz", ".extxyz", ".traj"):
        return "ase"
    if suffix in (".dump", ".lammpstrj") or ".dump" in stem or stem.startswith("dump"):
        return "lammps-dump"
    try:
        with (opener or open)(path, "rb") as handle:
            head = handle.read(64)
    except READ_ERRORS as exc:
        raise TrajectoryFormatError(f"{path}: cannot read ({exc})") from None
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
    if md_timestep is not None and not (np.isfinite(md_timestep) and md_timestep > 0):
        raise ValueError(f"{path}: md_timestep must be a positive number of ps, got {md_timestep}")
    if md_timestep is not None and md_timestep > _MAX_TIMESTEP_PS:
        raise ValueError(f"{path}: md_timestep={md_timestep} ps is implausibly long; times are in "
                         f"ps (LAMMPS metal units): did you give fs? 0.5 fs is 0.0005 ps")
    fmt = format or detect_format(path)
    if fmt == "lammps-dump":
        reader = LammpsDumpReader(path, type_map=type_map, md_timestep=md_timestep)
    elif fmt == "h5md":
        reader = H5MDReader(path, type_map=type_map)
    elif fmt == "deepmd-npy":
        reader = DeepmdNpyReader(path)
    elif fmt in ("ase", "extxyz", "traj"):
        reader = AseReader(path, format=None if fmt == "ase" else fmt)
    else:
        raise ValueError(f"{path}: unknown trajectory format {fmt!r}")
    return Trajectory(reader, frame_interval=frame_interval)


__all__ = ["Chunk", "Frame", "Trajectory", "TrajectoryFormatError", "open_trajectory"]
