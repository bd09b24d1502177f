"""CP2K single points: the input of one frame, the program run, and its energy, forces and stress.

Units stored: energy eV, forces eV/Å, virial eV in the DeePMD/dpdata convention
(virial = stress × volume with CP2K's sign, positive when the cell wants to expand), so that
``virial / volume × 160.2177`` is CP2K's printed stress in GPa.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from ase.units import Bohr, Hartree

from ..provenance import atomic_write
from .settings import CP2KSettings

EV_PER_A3_IN_GPA = 160.21766208
"""1 eV/Å³ in GPa."""


class CP2KError(RuntimeError):
    """A CP2K run that gave no usable label (crash, timeout, SCF not converged); names the run."""


@dataclass
class SinglePoint:
    """The DFT label of one frame."""

    energy: float            # eV
    forces: np.ndarray       # (n, 3) eV/Å
    virial: np.ndarray       # (3, 3) eV, dpdata sign convention
    scf_steps: int
    seconds: float
    smearing_K: float = 0.0  # Fermi-Dirac electronic temperature of the run (0: integer occupations)

    def stress_gpa(self, cell: np.ndarray) -> np.ndarray:
        """The stress tensor (GPa, positive = the cell wants to expand) back from the virial."""
        return self.virial / abs(np.linalg.det(cell)) * EV_PER_A3_IN_GPA


def render_input(symbols, positions, cell, settings: CP2KSettings, project: str = "frame",
                 restart_wfn: str | os.PathLike | None = None) -> str:
    """The CP2K input of an energy + forces + analytical stress single point of one frame."""
    settings.check_species(symbols)
    cell = np.asarray(cell, float)
    grid = settings.kpoint_grid(cell)
    if restart_wfn is not None and Path(restart_wfn).suffix != restart_suffix(grid):
        restart_wfn = None          # a Γ wavefunction cannot start a k-point run, nor vice versa
    guess = "RESTART" if restart_wfn is not None else "ATOMIC"
    wfn = (f"\n    WFN_RESTART_FILE_NAME {Path(restart_wfn).resolve()}"
           if restart_wfn is not None else "")
    d3 = """
      &VDW_POTENTIAL
        POTENTIAL_TYPE PAIR_POTENTIAL
        &PAIR_POTENTIAL
          TYPE DFTD3
          PARAMETER_FILE_NAME dftd3.dat
          REFERENCE_FUNCTIONAL PBE
        &END PAIR_POTENTIAL
      &END VDW_POTENTIAL""" if settings.d3 else ""
    kinds = "".join(f"""
    &KIND {el}
      BASIS_SET {settings.basis[el]}
      POTENTIAL {settings.pseudopotential[el]}
    &END KIND""" for el in sorted(set(symbols)))
    coords = "\n".join(f"      {s} {x:.10f} {y:.10f} {z:.10f}"
                       for s, (x, y, z) in zip(symbols, np.asarray(positions, float)))
    vec = "\n".join(f"      {name} {a:.10f} {b:.10f} {c:.10f}"
                    for name, (a, b, c) in zip("ABC", cell))
    if settings.smearing_K:     # fractional occupations: diagonalisation, gentler mixing
        solver = f"""
      ADDED_MOS {added_mos(symbols, settings)}
      &SMEAR ON
        METHOD FERMI_DIRAC
        ELECTRONIC_TEMPERATURE [K] {settings.smearing_K:g}
      &END SMEAR{_diagonalisation(0.2)}"""
    elif grid == (1, 1, 1):     # Γ only: orbital transformation, as the stored data
        solver = f"""
      &OT
        MINIMIZER DIIS
        PRECONDITIONER FULL_SINGLE_INVERSE
      &END OT
      &OUTER_SCF
        EPS_SCF {settings.eps_scf:g}
        MAX_SCF {settings.max_outer_scf}
      &END OUTER_SCF"""
    else:                       # k-points need diagonalisation (OT is Γ only)
        solver = _diagonalisation(0.4)
    kpoints = ""
    if grid != (1, 1, 1):
        points = "".join(f"\n      KPOINT {k[0]:.10f} {k[1]:.10f} {k[2]:.10f} {w}"
                         for k, w in gamma_centred_kpoints(grid))
        kpoints = f"""
    &KPOINTS
      SCHEME GENERAL{points}
      SYMMETRY .FALSE.
      FULL_GRID .FALSE.
    &END KPOINTS"""
    return f"""&GLOBAL
  PROJECT {project}
  RUN_TYPE ENERGY_FORCE
  PRINT_LEVEL LOW
&END GLOBAL
&FORCE_EVAL
  METHOD QS
  STRESS_TENSOR ANALYTICAL
  &DFT
    BASIS_SET_FILE_NAME {settings.basis_file}
    POTENTIAL_FILE_NAME {settings.pseudopotential_file}{wfn}{kpoints}
    &MGRID
      CUTOFF {settings.cutoff:g}
      REL_CUTOFF {settings.rel_cutoff:g}
    &END MGRID
    &QS
      EPS_DEFAULT {settings.eps_default:g}
    &END QS
    &SCF
      SCF_GUESS {guess}
      EPS_SCF {settings.eps_scf:g}
      MAX_SCF {settings.max_scf}{solver}
      &PRINT
        &RESTART
          BACKUP_COPIES 0
        &END RESTART
      &END PRINT
    &END SCF
    &XC
      &XC_FUNCTIONAL {settings.functional}
      &END XC_FUNCTIONAL{d3}
    &END XC
  &END DFT
  &SUBSYS
    &CELL
{vec}
      PERIODIC XYZ
    &END CELL
    &COORD
{coords}
    &END COORD{kinds}
  &END SUBSYS
  &PRINT
    &FORCES ON
    &END FORCES
    &STRESS_TENSOR ON
    &END STRESS_TENSOR
  &END PRINT
&END FORCE_EVAL
"""


def _diagonalisation(alpha: float) -> str:
    return f"""
      &DIAGONALIZATION
        ALGORITHM STANDARD
      &END DIAGONALIZATION
      &MIXING
        METHOD BROYDEN_MIXING
        ALPHA {alpha:g}
        NBROYDEN 8
      &END MIXING"""


def added_mos(symbols, settings: CP2KSettings) -> int:
    """Empty orbitals for Fermi-Dirac smearing: a quarter of the occupied ones (at least 20),
    from the valence charges of the GTH pseudopotentials (``GTH-PBE-q5``: 5 electrons)."""
    charge = {el: int(re.search(r"q(\d+)", name).group(1))
              for el, name in settings.pseudopotential.items()}
    occupied = sum(charge[s] for s in symbols) // 2
    return max(20, occupied // 4)


def gamma_centred_kpoints(grid) -> list[tuple[np.ndarray, int]]:
    """The points m_i/n_i (reciprocal-lattice units) of a Γ-centred grid with their weights,
    k and −k merged (time reversal: same energy, forces and stress)."""
    kept: dict[tuple, int] = {}
    for m in np.ndindex(*grid):
        k = tuple(Fraction(mi, ni) for mi, ni in zip(m, grid))
        partner = tuple((-x) % 1 for x in k)
        if partner in kept:
            kept[partner] += 1
        else:
            kept[k] = 1
    return [(np.array([float(x) for x in k]), w) for k, w in kept.items()]


def restart_suffix(grid) -> str:
    """CP2K's restart file suffix: ``.wfn`` for Γ-only runs, ``.kp`` for k-point runs."""
    return ".wfn" if tuple(grid) == (1, 1, 1) else ".kp"


def restart_file(directory: str | os.PathLike) -> Path | None:
    """The converged wavefunction a finished run in ``directory`` left, if any."""
    for suffix in (".wfn", ".kp"):
        path = Path(directory) / f"frame-RESTART{suffix}"
        if path.exists():
            return path
    return None


_ENERGY = re.compile(r"ENERGY\| Total FORCE_EVAL \( QS \) energy[^:]*:\s+(\S+)")
_SCF_DONE = re.compile(r"SCF run converged in\s+(\d+) steps")
_OUTER_DONE = re.compile(r"outer SCF loop converged in\s+(\d+) iterations or\s+(\d+) steps")


def parse_output(path: str | os.PathLike, n_atoms: int, cell: np.ndarray) -> SinglePoint:
    """Energy, forces and stress of a finished CP2K output; :class:`CP2KError` (naming the file)
    when the run did not finish or its SCF did not converge — such a frame is never a label."""
    path = Path(path)
    text = path.read_text(errors="replace") if path.exists() else ""
    if "PROGRAM ENDED AT" not in text:
        raise CP2KError(f"{path}: CP2K did not finish (crash, kill or timeout)")
    if re.search(r"SCF run NOT converged|outer SCF loop FAILED to converge", text):
        raise CP2KError(f"{path}: SCF did not converge")
    energy = _ENERGY.findall(text)
    if not energy:
        raise CP2KError(f"{path}: no total energy in the output")
    outer = _OUTER_DONE.findall(text)
    scf_steps = int(outer[-1][1]) if outer else sum(int(n) for n in _SCF_DONE.findall(text))
    forces = _parse_forces(text, n_atoms, path) * Hartree / Bohr
    stress = _parse_stress(text, path)
    volume = abs(np.linalg.det(np.asarray(cell, float)))
    seconds = re.findall(r"CP2K\s+1\s+1\.0\s+\S+\s+\S+\s+\S+\s+(\S+)", text)
    return SinglePoint(energy=float(energy[-1]) * Hartree, forces=forces,
                       virial=stress * volume / EV_PER_A3_IN_GPA, scf_steps=scf_steps,
                       seconds=float(seconds[-1]) if seconds else float("nan"))


def _parse_forces(text: str, n_atoms: int, path: Path) -> np.ndarray:
    block = text.rsplit("ATOMIC FORCES in [a.u.]", 1)
    if len(block) != 2:
        raise CP2KError(f"{path}: no ATOMIC FORCES block")
    rows = []
    for line in block[1].splitlines():
        parts = line.split()
        if len(parts) == 6 and parts[0].isdigit():
            rows.append([float(v) for v in parts[3:6]])
        elif rows and "SUM OF ATOMIC FORCES" in line:
            break
    if len(rows) != n_atoms:
        raise CP2KError(f"{path}: {len(rows)} force rows for {n_atoms} atoms")
    return np.array(rows)


def _parse_stress(text: str, path: Path) -> np.ndarray:
    """CP2K's analytical stress tensor in GPa (its sign: positive = wants to expand)."""
    block = text.rsplit("STRESS| Analytical stress tensor [GPa]", 1)
    if len(block) != 2:
        raise CP2KError(f"{path}: no analytical stress tensor")
    rows = {}
    for line in block[1].splitlines()[1:5]:
        parts = line.split()
        if len(parts) == 5 and parts[1] in "xyz":
            rows[parts[1]] = [float(v) for v in parts[2:5]]
    if sorted(rows) != ["x", "y", "z"]:
        raise CP2KError(f"{path}: unreadable stress tensor")
    return np.array([rows["x"], rows["y"], rows["z"]])


def cp2k_command(mpi: int = 1, executable: str | None = None) -> list[str]:
    """The command line that runs CP2K on ``mpi`` ranks. ``IONSCOPE_CP2K`` overrides the program
    (e.g. ``cp2k.psmp`` or a module's path); the MPI launcher is the one CP2K was built with
    (Debian's OpenMPI ``mpirun.openmpi`` when present, which the ``mpich`` wheel's ``mpirun``
    beside Python would otherwise shadow)."""
    exe = executable or os.environ.get("IONSCOPE_CP2K") or "cp2k.popt"
    found = shutil.which(exe)
    if found is None:
        raise FileNotFoundError(f"CP2K program {exe!r} not found: install it (Debian/Ubuntu: "
                                "apt-get install cp2k) or set IONSCOPE_CP2K")
    if mpi <= 1:
        return [found]
    launcher = os.environ.get("IONSCOPE_CP2K_MPIRUN") or shutil.which("mpirun.openmpi") \
        or shutil.which("mpirun")
    if launcher is None:
        raise FileNotFoundError("no mpirun found for CP2K; set IONSCOPE_CP2K_MPIRUN")
    openmpi = os.path.basename(os.path.realpath(launcher)) in ("orterun", "prterun", "mpirun.openmpi")
    root = ["--allow-run-as-root"] if openmpi and os.geteuid() == 0 else []
    return [launcher, *root, "-np", str(mpi), found]


def run_single_point(workdir: str | os.PathLike, symbols, positions, cell,
                     settings: CP2KSettings, mpi: int = 1, timeout: float | None = None,
                     restart_wfn: str | os.PathLike | None = None) -> SinglePoint:
    """Run one CP2K single point in ``workdir`` and parse it; raises :class:`CP2KError`."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with atomic_write(workdir / "cp2k.inp") as handle:
        handle.write(render_input(symbols, positions, cell, settings, restart_wfn=restart_wfn))
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    (workdir / "cp2k.out").unlink(missing_ok=True)   # CP2K appends to an existing output file
    with open(workdir / "cp2k.log", "w") as log:
        process = subprocess.Popen([*cp2k_command(mpi), "-i", "cp2k.inp", "-o", "cp2k.out"],
                                   cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise CP2KError(f"{workdir}/cp2k.out: CP2K timed out after {timeout:g} s") from None
        except BaseException:  # Ctrl-C: no CP2K rank outlives its caller
            _kill_group(process)
            raise
    label = parse_output(workdir / "cp2k.out", len(positions), cell)
    label.smearing_K = settings.smearing_K
    return label


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
