"""The in-memory frame shared by every trajectory reader."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase import Atoms


class TrajectoryFormatError(ValueError):
    """A trajectory file that cannot be read as asked; the message names the file and problem."""


@dataclass
class Frame:
    """One snapshot. ``cell`` rows are the box vectors (Å); ``positions`` are Cartesian (Å).

    ``image`` holds integer periodic image flags when the source has them (or when they could be
    derived from unwrapped coordinates); ``unwrapped`` is True when ``positions`` are already
    continuous in time (the project's own H5MD). ``arrays`` carries optional per-atom data such
    as forces or velocities, in the source's units.
    """

    positions: np.ndarray
    cell: np.ndarray
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))
    image: np.ndarray | None = None
    step: int | None = None
    time: float | None = None
    unwrapped: bool = False
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    @property
    def volume(self) -> float:
        return float(abs(np.linalg.det(self.cell)))

    def wrapped_positions(self) -> np.ndarray:
        """Positions folded into the box [origin, origin + cell)."""
        return wrap_positions(self.positions, self.cell, self.origin)

    def to_atoms(self, symbols):
        """An ASE ``Atoms`` with this frame's positions and periodic cell."""
        atoms = Atoms(symbols=list(symbols), positions=self.positions - self.origin,
                      cell=self.cell, pbc=True)
        if self.image is not None:
            atoms.arrays["image"] = np.asarray(self.image)
        return atoms


def fractional_positions(positions: np.ndarray, cell: np.ndarray, origin: np.ndarray | None = None,
                         wrap: bool = True) -> np.ndarray:
    """Fractional coordinates s of Cartesian ``positions`` (..., n, 3), r = origin + s·H with the
    cell rows H (3, 3), or one cell per leading index (..., 3, 3); folded into [0, 1) when
    ``wrap``. Every analysis and reader folds positions into the cell through this function."""
    pos = np.asarray(positions, float)
    if origin is not None:
        pos = pos - np.asarray(origin, float)
    cell = np.asarray(cell, float)
    frac = np.swapaxes(np.linalg.solve(np.swapaxes(cell, -1, -2), np.swapaxes(pos, -1, -2)), -1, -2)
    return frac - np.floor(frac) if wrap else frac


def wrap_positions(positions: np.ndarray, cell: np.ndarray,
                   origin: np.ndarray | None = None) -> np.ndarray:
    """Cartesian ``positions`` folded into the box [origin, origin + cell) (shapes as in
    :func:`fractional_positions`)."""
    cell = np.asarray(cell, float)
    wrapped = fractional_positions(positions, cell, origin) @ cell
    return wrapped if origin is None else wrapped + np.asarray(origin, float)


def lammps_cell(bounds: np.ndarray, tilts: tuple[float, float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """Cell matrix and origin from a LAMMPS dump's ``BOX BOUNDS`` lines (bounding box + tilts).

    LAMMPS writes the bounding box of a triclinic cell, ``xlo_bound = xlo + min(0, xy, xz,
    xy + xz)`` etc.; this inverts that (LAMMPS Howto triclinic).
    """
    (xlo_b, xhi_b), (ylo_b, yhi_b), (zlo_b, zhi_b) = bounds
    xy, xz, yz = tilts if tilts is not None else (0.0, 0.0, 0.0)
    xlo = xlo_b - min(0.0, xy, xz, xy + xz)
    xhi = xhi_b - max(0.0, xy, xz, xy + xz)
    ylo = ylo_b - min(0.0, yz)
    yhi = yhi_b - max(0.0, yz)
    cell = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi_b - zlo_b]])
    return cell, np.array([xlo, ylo, zlo_b])


def lammps_form(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate a general cell into LAMMPS/freud form (a along x, b in the xy plane).

    Returns the lower-triangular cell (rows a, b, c) and the rotation ``R`` with
    ``positions @ R`` giving positions in the rotated frame.
    """
    cell = np.asarray(cell, float)
    q, r = np.linalg.qr(cell.T)
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    q = q * signs
    r = (r.T * signs).T
    return r.T, q
