"""A minimal LAMMPS dump writer for tests: the reader must parse what LAMMPS writes."""

from __future__ import annotations

import numpy as np


def write_dump(path, steps, cells, columns: dict[str, list], origin=(0.0, 0.0, 0.0),
               triclinic: bool = False, shuffle_rng=None) -> None:
    """Write frames; ``columns`` maps a column name to a per-frame list of (N,) arrays.

    Cells must be LAMMPS-form (lower triangular rows a, b, c); the bounding box and tilt
    factors are written as LAMMPS does.
    """
    names = list(columns)
    with open(path, "w") as handle:
        for f, step in enumerate(steps):
            cell = np.asarray(cells[f])
            xlo, ylo, zlo = origin
            lx, ly, lz = cell[0, 0], cell[1, 1], cell[2, 2]
            xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
            n = len(columns[names[0]][f])
            handle.write(f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{n}\n")
            if triclinic:
                handle.write("ITEM: BOX BOUNDS xy xz yz pp pp pp\n")
                xlo_b = xlo + min(0.0, xy, xz, xy + xz)
                xhi_b = xlo + lx + max(0.0, xy, xz, xy + xz)
                ylo_b = ylo + min(0.0, yz)
                yhi_b = ylo + ly + max(0.0, yz)
                handle.write(f"{xlo_b:.10f} {xhi_b:.10f} {xy:.10f}\n{ylo_b:.10f} {yhi_b:.10f} "
                             f"{xz:.10f}\n{zlo:.10f} {zlo + lz:.10f} {yz:.10f}\n")
            else:
                handle.write(f"ITEM: BOX BOUNDS pp pp pp\n{xlo} {xlo + lx}\n{ylo} {ylo + ly}\n"
                             f"{zlo} {zlo + lz}\n")
            handle.write("ITEM: ATOMS " + " ".join(names) + "\n")
            order = np.arange(n) if shuffle_rng is None else shuffle_rng.permutation(n)
            for a in order:
                handle.write(" ".join(_fmt(columns[c][f][a]) for c in names) + "\n")


def _fmt(value) -> str:
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, str):
        return value
    return f"{float(value):.10f}"
