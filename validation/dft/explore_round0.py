"""Exploration round 0: MD of small β-Li3PS4 and 75Li2S–25P2S5 glass cells with the bundled
default potential at 300, 600 and 900 K, frames written for CP2K labelling.

The frames are what a study visits (crystal and glass, 300–900 K) and small enough (64 atoms)
to label in minutes; their CP2K labels (``ionscope dft label``, ``lips-pbe-d3``) become
``src/ionscope/data/dft/md-*`` — new training data and the held-out test frames of the fast
potential. Run from the repository root: ``python validation/dft/explore_round0.py runs/explore0``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ase.io import write

from ionscope.io import open_trajectory
from ionscope.md import Stage, protocols, run_stage
from ionscope.potential import resolve_potential
from ionscope.structures import crystal_supercell

TEMPERATURES = (300, 600, 900)
PICK_PS = (3, 6, 9)           # frames taken from each 10 ps run, 3 ps apart (decorrelated)


def main(out: Path) -> None:
    potential = resolve_potential("pod-fast")
    beta = crystal_supercell("beta-Li3PS4", repeat=(1, 1, 2))        # 64 atoms, as the DFT data
    glass = run_stage(out / "glass-quench", Stage(
        protocols.melt_quench(T_high=1500, hold_ps=20, cool_rate=10, T_low=300, relax_ps=5,
                              ensemble="nvt"), timestep_fs=1.0, seed=11, dump_every_ps=5.0),
        potential, beta, progress=False).atoms
    for name, start in (("beta-Li3PS4", beta), ("glass-75Li2S", glass)):
        frames = []
        for k, T in enumerate(TEMPERATURES):
            result = run_stage(out / f"{name}-{T}K", Stage(protocols.nvt(T, 10), timestep_fs=1.0,
                                                           seed=100 + 10 * k + len(name),
                                                           dump_every_ps=1.0),
                               potential, start, progress=False)
            traj = open_trajectory(result.trajectory, type_map=potential.species,
                                   md_timestep=0.001)
            times = traj.times()
            frames += [traj.atoms(int(abs(times - t).argmin())) for t in PICK_PS]
        for atoms in frames:
            atoms.wrap()
        write(out / f"{name}.extxyz", frames)
        print(f"{name}: {len(frames)} frames -> {out / f'{name}.extxyz'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/explore0"))
