"""Does nnsnap make Li disorder in β-Li3PS4 too cheap? Li defect energies, nnsnap against CP2K.

nnsnap gives β-Li3PS4 an activation energy of 0.24 eV (Chen et al. simulated 0.31–0.40) and a Li
sublattice that disorders between 500 and 600 K (validation/study/README.md). If the potential
puts Li off its crystal sites at too low an energy, β has too many carriers at low temperature
and too low an E_a. Measured here on the 64-atom cell of the DFT data (1×1×2, the CIF volume):

1. ``explore``: nnsnap NVT at 600 and 800 K; every 2 ps a frame is quenched to its nearest
   nnsnap minimum (FIRE, fixed cell); each minimum's Li are matched to the crystal's Li sites
   (off-site: farther than 0.7 Å from every site); the perfect crystal, relaxed the same way,
   is the zero. Writes ``minima.extxyz`` (energy, Li off-site) and ``minima.csv``; ``choose``
   picks the minima to label.
2. ``ionscope dft label WORK/chosen.extxyz --format ase --preset lips-pbe-d3 --mpi 1 --out LABELS``
   — CP2K PBE-D3 single points of the perfect crystal and of the chosen minima (Γ only: the
   64-atom cell is 8.2 Å wide along b, where a k-point error of the absolute energy is the same
   for every configuration of the cell and cancels in the differences).
3. ``compare``: ΔE = E(minimum) − E(perfect) by nnsnap against CP2K, per minimum.

    python validation/dft/beta_defects.py explore runs/beta-defects
    python validation/dft/beta_defects.py choose runs/beta-defects --names 800K-frame8 ...
    ionscope dft label runs/beta-defects/chosen.extxyz --format ase --preset lips-pbe-d3 \\
        --mpi 1 --out validation/dft/beta-defect-labels --workdir runs/beta-defects/cp2k
    python validation/dft/beta_defects.py compare runs/beta-defects validation/dft/beta-defect-labels

``validation/dft/beta-defect-labels/`` keeps the labels with ``minima.csv`` and
``chosen.extxyz`` (copy it into WORK to run ``compare`` on a new machine).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase.geometry import find_mic
from ase.io import read, write
from ase.optimize import FIRE
from tqdm import tqdm

from ionscope.io import open_trajectory
from ionscope.io.tables import write_csv
from ionscope.md import Stage, protocols, run_stage
from ionscope.potential import bundled_potential
from ionscope.potential.lammps_eval import primed_calculator
from ionscope.provenance import task_seed
from ionscope.structures import crystal_supercell

HERE = Path(__file__).resolve().parent
OFF_SITE = 0.7          # Å from every crystal Li site
SEED = 2025


def _relax(atoms, calc, fmax: float = 0.02):
    atoms = atoms.copy()
    atoms.calc = calc
    FIRE(atoms, logfile=None).run(fmax=fmax, steps=2000)
    return atoms, atoms.get_potential_energy()


def framework_drift(atoms, reference) -> np.ndarray:
    """The P atoms' mean displacement (minimum image) from ``reference``: the drift of the
    framework in MD."""
    symbols = np.array(atoms.get_chemical_symbols())
    return find_mic(atoms.positions[symbols == "P"] - reference.positions[symbols == "P"],
                    atoms.cell)[0].mean(axis=0)


def li_off_site(atoms, perfect) -> int:
    """Li farther than OFF_SITE from every Li site of ``perfect`` (minimum image), after the
    framework's drift is taken off."""
    symbols = np.array(atoms.get_chemical_symbols())
    li = atoms.positions[symbols == "Li"] - framework_drift(atoms, perfect)
    sites = perfect.positions[symbols == "Li"]
    dist = find_mic((li[:, None, :] - sites[None, :, :]).reshape(-1, 3),
                    atoms.cell)[1].reshape(len(li), len(sites))
    return int((dist.min(axis=1) > OFF_SITE).sum())


def explore(work: Path) -> None:
    if (work / "minima.extxyz").exists():      # the MD and quenches are done: count again
        minima = read(work / "minima.extxyz", ":")
        for m in minima:
            m.info["li_off_site"] = li_off_site(m, minima[0])
        return _write_minima(work, minima)
    work.mkdir(parents=True, exist_ok=True)
    potential = bundled_potential("nnsnap")
    cell = crystal_supercell("beta-Li3PS4", repeat=(1, 1, 2))
    calc = primed_calculator(potential, cell)
    perfect, e0 = _relax(cell, calc)
    minima = [(perfect, e0, "perfect", 0)]
    for T in (600, 800):
        stage = Stage(protocols.nvt(T, 40), timestep_fs=2.0, seed=task_seed(SEED, "beta-defects", T),
                      dump_every_ps=2.0)
        result = run_stage(work / f"nvt-{T}K", stage, potential, cell)
        traj = open_trajectory(result.trajectory)
        for k in tqdm(range(1, traj.n_frames), desc=f"quench {T} K"):
            atoms, e = _relax(traj.atoms(k), calc)
            minima.append((atoms, e, f"{T}K-frame{k}", li_off_site(atoms, perfect)))
    for atoms, e, name, off in minima:
        atoms.info.update(name=name, nnsnap_energy=e, li_off_site=off)
        atoms.calc = None
    _write_minima(work, [m[0] for m in minima])


def _write_minima(work: Path, minima) -> None:
    write(work / "minima.extxyz", minima)
    e0 = minima[0].info["nnsnap_energy"]
    write_csv(work / "minima.csv", ["name", "dE_nnsnap_eV", "li_off_site"],
              [[m.info["name"] for m in minima], [m.info["nnsnap_energy"] - e0 for m in minima],
               [m.info["li_off_site"] for m in minima]])


def choose(work: Path, names: list[str]) -> None:
    """The perfect crystal and the named minima, in that order (the order CP2K labels them)."""
    minima = {m.info["name"]: m for m in read(work / "minima.extxyz", ":")}
    chosen = [minima["perfect"]] + [minima[n] for n in names if n != "perfect"]
    write(work / "chosen.extxyz", chosen)
    e0 = minima["perfect"].info["nnsnap_energy"]
    for m in chosen:
        print(f"{m.info['name']:>16}  dE(nnsnap) {m.info['nnsnap_energy'] - e0:+.3f} eV  "
              f"Li off-site {m.info['li_off_site']}")


def compare(work: Path, labels: Path) -> None:
    """ΔE by nnsnap and by CP2K for every labelled minimum, and the RMS of the CP2K forces at
    nnsnap's minima (nnsnap's own forces there are below 0.02 eV/Å): written to
    ``validation/dft/beta-defects.csv``."""
    chosen = read(work / "chosen.extxyz", ":")
    dft = np.load(labels / "set.000" / "energy.npy")
    forces = np.load(labels / "set.000" / "force.npy")
    e0 = chosen[0].info["nnsnap_energy"]
    rows = [(m.info["name"], m.info["li_off_site"], m.info["nnsnap_energy"] - e0, e - dft[0],
             float(np.sqrt(np.mean(f ** 2)))) for m, e, f in zip(chosen, dft, forces)]
    write_csv(HERE / "beta-defects.csv",
              ["name", "li_off_site", "dE_nnsnap_eV", "dE_pbe_d3_eV", "rms_force_pbe_d3_eV_A"],
              [list(c) for c in zip(*rows)])
    for name, off, en, ed, f in rows:
        print(f"{name:>16}  Li off-site {off:2d}  ΔE nnsnap {en:+.3f}  PBE-D3 {ed:+.3f}  "
              f"nnsnap − DFT {en - ed:+.3f} eV   DFT force RMS {f:.3f} eV/Å")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["explore", "choose", "compare"])
    parser.add_argument("work", type=Path)
    parser.add_argument("labels", type=Path, nargs="?")
    parser.add_argument("--names", nargs="*", default=[], help="choose: the minima to label")
    args = parser.parse_args()
    if args.action == "explore":
        explore(args.work)
    elif args.action == "choose":
        choose(args.work, args.names)
    else:
        compare(args.work, args.labels)
