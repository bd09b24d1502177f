"""Where the default potential's melt leaves its data: a 64-atom Li3PS4 cell (two β cells) melted
and quenched on nnsnap with the validation study's temperatures (1500 K for 50 ps, 10 K/ps to
500 K), every 2 ps the committee's force deviation, the density and the thiophosphate units.

    python validation/dft/explore_melt.py runs/melt64-nvt                 # at the crystal's volume
    python validation/dft/explore_melt.py runs/melt64-npt --npt --seed 8  # at 1 bar, as the study
    python validation/dft/explore_melt.py runs/melt64-v144 --volume 1.44 --seed 9 --t-low 900
                                            # at the volume of the study's 768-atom NPT melt

Frames are read from LAMMPS's own dump (wrapped positions and the box of each frame), which is
each frame's exact geometry under NPT too, and are what `ionscope dft label` should label.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ionscope.analysis.structure.speciation import classify_units
from ionscope.io import open_trajectory
from ionscope.io.tables import write_csv
from ionscope.md import Stage, prepare_stage, protocols, run_stage
from ionscope.potential import bundled_potential
from ionscope.potential.bundled import committee_members
from ionscope.potential.ensemble import force_deviation
from ionscope.potential.lammps_eval import committee_forces
from ionscope.structures import crystal_supercell

AMU_PER_A3_IN_G_CM3 = 1.66053906660


def main(out: Path, npt: bool, seed: int, potential_name: str, volume: float, t_low: float) -> None:
    potential = bundled_potential(potential_name)
    segments = protocols.melt_quench(T_high=1500, hold_ps=50, cool_rate=10, T_low=t_low, relax_ps=10,
                                     ensemble="npt" if npt else "nvt")
    cell = crystal_supercell("beta-Li3PS4", target_atoms=64)
    cell.set_cell(cell.cell * volume ** (1 / 3), scale_atoms=True)
    prepare_stage(out, Stage(segments, timestep_fs=2.0, seed=seed, dump_every_ps=2.0), potential, cell)
    run_stage(out, mpi_ranks=1)
    traj = open_trajectory(out / "dump.lammpstrj", type_map=potential.species, md_timestep=0.002)
    frames = [traj.atoms(k) for k in range(len(traj))]
    deviation = force_deviation(committee_forces(committee_members(potential), frames))["max_devi_f"]
    units = [classify_units(a)["p_fraction"] for a in frames]
    density = np.array([a.get_masses().sum() / a.get_volume() * AMU_PER_A3_IN_G_CM3 for a in frames])
    write_csv(out / "melt.csv", ["time_ps", "density_g_cm3", "max_devi_f_eV_A", "PS4", "P2S7", "P2S6",
                                 "other"],
              [traj.times(), density, deviation, *(np.array([u[k] for u in units])
                                                   for k in ("PS4", "P2S7", "P2S6", "other"))])
    for t, rho, d, u in zip(traj.times(), density, deviation, units):
        print(f"{t:6.0f} ps  {rho:5.2f} g/cm³  max deviation {d:5.2f} eV/Å  PS4 {u['PS4']:.2f}  "
              f"other {u['other']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--npt", action="store_true", help="at 1 bar (the study's protocol)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--potential", default="nnsnap")
    parser.add_argument("--volume", type=float, default=1.0, help="the cell's volume over the crystal's")
    parser.add_argument("--t-low", type=float, default=500.0, help="where the quench ends (K)")
    args = parser.parse_args()
    main(args.out, args.npt, args.seed, args.potential, args.volume, args.t_low)
