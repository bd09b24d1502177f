"""Where the default potential's melt leaves its data: a 64-atom Li3PS4 cell (two β cells) melted
and quenched on nnsnap with the validation study's temperatures (1500 K for 50 ps, 10 K/ps to
500 K) at the crystal's volume, every 2 ps the committee's force deviation and the thiophosphate
units.

    python validation/dft/explore_melt.py runs/melt64-nvt

NVT, not the study's NPT: ionscope's H5MD trajectories store positions unwrapped the NPT-correct
way for transport, and under a changing box those do not give back each frame's geometry (a
64-atom NPT melt read back with a 0.41 Å P–S contact that LAMMPS never had: nnsnap's energy of
the read-back frame was 41 eV above the one LAMMPS logged). Frames of NPT runs must not be
analysed for structure or labelled until that is fixed.
"""

from __future__ import annotations

import sys
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


def main(out: Path) -> None:
    potential = bundled_potential("nnsnap")
    segments = protocols.melt_quench(T_high=1500, hold_ps=50, cool_rate=10, T_low=500, relax_ps=10,
                                     ensemble="nvt")
    prepare_stage(out, Stage(segments, timestep_fs=2.0, seed=7, dump_every_ps=2.0), potential,
                  crystal_supercell("beta-Li3PS4", target_atoms=64))
    run_stage(out, mpi_ranks=1)
    traj = open_trajectory(out / "trajectory.h5")
    frames = [traj.atoms(k) for k in range(len(traj))]
    deviation = force_deviation(committee_forces(committee_members(potential), frames))["max_devi_f"]
    units = [classify_units(a)["p_fraction"] for a in frames]
    write_csv(out / "melt.csv", ["time_ps", "max_devi_f_eV_A", "PS4", "P2S7", "P2S6", "other"],
              [traj.times(), deviation, *(np.array([u[k] for u in units])
                                          for k in ("PS4", "P2S7", "P2S6", "other"))])
    for t, d, u in zip(traj.times(), deviation, units):
        print(f"{t:6.0f} ps  max deviation {d:5.2f} eV/Å  PS4 {u['PS4']:.2f}  other {u['other']:.2f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
