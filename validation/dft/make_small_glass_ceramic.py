"""The 64-atom β-Li3PS4 | glass cell that the learning plan explores as its glass-ceramic.

The 32-atom glass (``small-glass.extxyz``, melted in β-Li3PS4's unit cell) stacked on the
crystal's unit cell along c, so both interfaces match in a and b: a crystal slab and a glass
slab of 6.1 Å each, 12.2 Å along c (k-points 1×2×1 at ``lips-pbe-d3-12A``). The glass is
periodic in its cell, so it is first translated (a 6×6×6 grid of fractional shifts) to keep
its atoms farthest from the crystal's across the two interfaces. Written to
``small-glass-ceramic.extxyz`` beside this script (symbols, positions and cell only: the CIF's
``type`` column would become LAMMPS types); prints the shortest interatomic distance.

    python validation/dft/make_small_glass_ceramic.py
"""

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import stack
from ase.io import read, write

from ionscope.structures import crystal_supercell

here = Path(__file__).parent
crystal = crystal_supercell("beta-Li3PS4", repeat=(1, 1, 1))
glass = read(here / "small-glass.extxyz")
glass.set_cell(crystal.cell, scale_atoms=True)      # the same cell to rounding


def shortest(shift):
    moved = glass.copy()
    moved.translate(shift @ glass.cell)
    moved.wrap()
    return stack(crystal, moved, axis=2)


grid = np.stack(np.meshgrid(*[np.arange(6) / 6] * 3, indexing="ij"), -1).reshape(-1, 3)
best = max(grid, key=lambda s: shortest(s).get_all_distances(mic=True)[:32, 32:].min())
stacked = shortest(best)
cell = Atoms(stacked.get_chemical_symbols(), stacked.positions, cell=stacked.cell, pbc=True)
distances = cell.get_all_distances(mic=True)[np.triu_indices(len(cell), 1)]
print(f"{len(cell)} atoms, cell {cell.cell.lengths().round(2)} Å, shortest distance "
      f"{distances.min():.2f} Å")
write(here / "small-glass-ceramic.extxyz", cell)
