"""Where the default potential's melt leaves its data: a 64-atom Li3PS4 cell (two β cells) melted
and quenched on nnsnap with the validation study's temperatures (1500 K for 50 ps, 10 K/ps to
500 K), every 2 ps the committee's force deviation, the density and the thiophosphate units.

    python validation/dft/explore_melt.py runs/melt64-nvt                 # at the crystal's volume
    python validation/dft/explore_melt.py runs/melt64-npt --npt --seed 8  # at 1 bar, as the study
    python validation/dft/explore_melt.py runs/melt64-v144 --volume 1.44 --seed 9 --t-low 900
                                            # at the volume of the study's 768-atom NPT melt
    python validation/dft/explore_melt.py --analyse runs/validation/glass/prepare   # the study's

Frames are read from LAMMPS's own dump (wrapped positions and the box of each frame), which is
each frame's exact geometry under NPT too, and are what `ionscope dft label` should label.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import freud
import numpy as np

from ionscope.analysis.structure.speciation import classify_units
from ionscope.io import open_trajectory
from ionscope.io.tables import write_csv
from ionscope.md import Stage, prepare_stage, protocols, run_stage
from ionscope.potential import resolve_potential
from ionscope.potential.bundled import committee_members
from ionscope.potential.ensemble import force_deviation
from ionscope.potential.lammps_eval import committee_forces
from ionscope.structures import crystal_supercell

AMU_PER_A3_IN_G_CM3 = 1.66053906660


def main(out: Path, npt: bool, seed: int, potential_name: str, volume: float, t_low: float) -> None:
    potential = resolve_potential(potential_name)
    segments = protocols.melt_quench(T_high=1500, hold_ps=50, cool_rate=10, T_low=t_low, relax_ps=10,
                                     ensemble="npt" if npt else "nvt")
    cell = crystal_supercell("beta-Li3PS4", target_atoms=64)
    cell.set_cell(cell.cell * volume ** (1 / 3), scale_atoms=True)
    prepare_stage(out, Stage(segments, timestep_fs=2.0, seed=seed, dump_every_ps=2.0), potential, cell)
    run_stage(out, mpi_ranks=1)
    analyse(out, potential)


def void_fraction(atoms, probe_radius: float = 3.0, n_probes: int = 20000, seed: int = 0) -> float:
    """The share of random points of the cell farther than ``probe_radius`` from every atom:
    cavities in a liquid that the barostat has expanded (freud's periodic neighbour query)."""
    box = freud.box.Box.from_matrix(atoms.cell.array.T)
    probes = box.wrap(np.random.default_rng(seed).random((n_probes, 3)) @ atoms.cell.array)
    query = freud.locality.AABBQuery(box, box.wrap(atoms.positions))
    distance = np.full(n_probes, np.inf)
    bonds = query.query(probes, {"r_max": probe_radius}).toNeighborList()
    distance[np.unique(bonds.query_point_indices)] = 0.0
    return float(np.mean(np.isinf(distance)))


def analyse(out: Path, potential, trust: float = 0.6) -> None:
    """``melt.csv``: every dumped frame's density, cavities, committee deviation (the largest
    over atoms, and the share of atoms beyond the trust level) and units."""
    traj = open_trajectory(out / "dump.lammpstrj", type_map=potential.species, md_timestep=0.002)
    frames = [traj.atoms(k) for k in range(len(traj))]
    deviation = force_deviation(committee_forces(committee_members(potential), frames))
    untrusted = (deviation["per_atom_devi_f"] > trust).mean(axis=1)
    units = [classify_units(a)["p_fraction"] for a in frames]
    density = np.array([a.get_masses().sum() / a.get_volume() * AMU_PER_A3_IN_G_CM3 for a in frames])
    voids = np.array([void_fraction(a) for a in frames])
    write_csv(out / "melt.csv", ["time_ps", "density_g_cm3", "void_fraction_3A", "max_devi_f_eV_A",
                                 f"untrusted_fraction_{trust}", "PS4", "P2S7", "P2S6", "other"],
              [traj.times(), density, voids, deviation["max_devi_f"], untrusted,
               *(np.array([u[k] for u in units]) for k in ("PS4", "P2S7", "P2S6", "other"))])
    for t, rho, v, d, u in zip(traj.times(), density, voids, deviation["max_devi_f"], units):
        print(f"{t:6.0f} ps  {rho:5.2f} g/cm³  voids {v:.3f}  max deviation {d:5.2f} eV/Å  "
              f"PS4 {u['PS4']:.2f}  other {u['other']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--analyse", action="store_true",
                        help="only analyse the dump of a finished run in OUT (e.g. a study's quench)")
    parser.add_argument("--npt", action="store_true", help="at 1 bar (the study's protocol)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--potential", default="nnsnap", help="a bundled name or a fitted model's folder")
    parser.add_argument("--volume", type=float, default=1.0, help="the cell's volume over the crystal's")
    parser.add_argument("--t-low", type=float, default=500.0, help="where the quench ends (K)")
    args = parser.parse_args()
    if args.analyse:
        analyse(args.out, resolve_potential(args.potential))
    else:
        main(args.out, args.npt, args.seed, args.potential, args.volume, args.t_low)
