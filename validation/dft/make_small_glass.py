"""The 32-atom 75Li2S-25P2S5 (Li3PS4) glass that the learning plan explores (learn.toml).

β-Li3PS4's unit cell (32 atoms) melted with the bundled default potential, NVT at the crystal's
density: 1500 K for 10 ps, cooled at 10 K/ps to 300 K, 10 ps there (the demo's glass protocol,
slower). The last frame is written to small-glass.extxyz beside this script.

    python validation/dft/make_small_glass.py runs/small-glass [SEED]

(A random packing of Li12P4S16 quenched the same way disproportionated into P-P bonded units and
free S; its CP2K SCF crawled, 42 OT steps without converging.)
"""

import sys
from pathlib import Path

from ase.io import write

from ionscope.analysis.structure import classify_units
from ionscope.md import Stage, protocols, run_stage
from ionscope.potential import resolve_potential
from ionscope.structures import crystal_supercell

workdir = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/small-glass")
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1   # seed 2 gave P2S6 dimers + free S
crystal = crystal_supercell("beta-Li3PS4", repeat=(1, 1, 1))
stage = Stage(protocols.melt_quench(T_high=1500, hold_ps=10, cool_rate=10, relax_ps=10,
                                    ensemble="nvt"), seed=seed, dump_every_ps=1.0)
glass = run_stage(workdir / f"melt-quench-{seed}", stage, resolve_potential(None), crystal).atoms
print("P units:", classify_units(glass)["p_fraction"])
write(Path(__file__).with_name("small-glass.extxyz"), glass)
