"""A fast CPU potential: linear proper-orthogonal-descriptor (POD) potentials (Nguyen & Rohskopf,
J. Comput. Phys. 480, 112030, 2023), fitted by LAMMPS' own ``fitpod`` command to energies and
forces of the same training split as the DeePMD model and run with ``pair_style pod``.
(:func:`ionscope.potential.linear.train_linear` fits the same descriptors to energies, forces
and virials by our own ridge regression, with a bootstrap committee; ``ionscope potential train
--kind pod`` uses it unless ``--fit fitpod``.)

The energy is a linear combination of one-, two- and three-body descriptors, E = Σ_i c·D_i, so
the fit is one regularised least-squares solve. The ``fast`` preset was chosen by measurement
(``benchmarks/potentials_results.md`` and the model card): a 4 Å cutoff gives the same
validation force error as 5 Å at 1.6× the speed, and four-body terms cost more than they gain.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io.deepmd_npy import load_system
from ..provenance import atomic_path, data_inputs, provenance, task_seed, write_json
from .dataset import content_digests, data_folders, split_systems
from .lammps_eval import evaluate_lammps, lammps_executable
from .model import PODPotential, pod_potential
from .validation import write_validation

#: POD descriptor settings (keywords of the ``fitpod`` parameter file).
PRESETS = {
    "fast": {"rin": 1.0, "rcut": 4.0, "bessel_polynomial_degree": 3,
             "inverse_polynomial_degree": 4, "twobody_number_radial_basis_functions": 6,
             "threebody_number_radial_basis_functions": 4, "threebody_angular_degree": 3},
    "accurate": {"rin": 1.0, "rcut": 5.0, "bessel_polynomial_degree": 4,
                 "inverse_polynomial_degree": 8, "twobody_number_radial_basis_functions": 8,
                 "threebody_number_radial_basis_functions": 6, "threebody_angular_degree": 4},
}


def write_extxyz(system: str | Path, path: str | Path, stride: int = 1) -> int:
    """Every ``stride``-th frame of a DeePMD npy system as extended XYZ with energy, forces and
    stress (−virial/V), the format ``fitpod`` reads. Returns the number of frames written."""
    data = load_system(system)
    symbols = [data["type_map"][t] for t in data["types"]]
    n = len(symbols)
    frames = range(0, len(data["energy"]), stride)
    with atomic_path(Path(path)) as tmp, open(tmp, "w") as out:
        for k in frames:
            cell = data["box"][k].reshape(3, 3)
            lattice = " ".join(f"{x:.10f}" for x in cell.ravel())
            stress = ""
            if "virial" in data:
                s = -data["virial"][k] / abs(np.linalg.det(cell))
                stress = ' stress="' + " ".join(f"{x:.10e}" for x in s) + '"'
            out.write(f'{n}\nLattice="{lattice}" Properties=species:S:1:pos:R:3:forces:R:3 '
                      f'energy={data["energy"][k]:.10f}{stress} pbc="T T T"\n')
            pos = data["coord"][k].reshape(n, 3)
            force = data["force"][k].reshape(n, 3)
            for sym, p, f in zip(symbols, pos, force):
                out.write(f"{sym} {p[0]:.8f} {p[1]:.8f} {p[2]:.8f} {f[0]:.8f} {f[1]:.8f} {f[2]:.8f}\n")
    return len(frames)


def param_text(species: Sequence[str], settings: dict) -> str:
    """The POD parameter file (descriptor definition) for ``species`` with ``settings`` (a
    :data:`PRESETS` entry or the same keywords)."""
    defaults = {"number_of_environment_clusters": 1, "number_of_principal_components": 2}
    for order in ("four", "five", "six", "seven"):
        defaults |= {f"{order}body_number_radial_basis_functions": 0,
                     f"{order}body_angular_degree": 0}
    lines = [f"species {' '.join(species)}", "pbc 1 1 1", "onebody 1"]
    lines += [f"{k} {v}" for k, v in (defaults | dict(settings)).items()]
    return "\n".join(lines) + "\n"


def fit_pod(train_systems: Sequence[str | Path], workdir: str | Path, species: Sequence[str],
            preset: str | dict = "fast", stride: int = 1, energy_weight: float = 100.0,
            force_weight: float = 1.0, regularization: float = 1e-10,
            test_systems: Sequence[str | Path] = (), lmp: str | None = None) -> dict:
    """Fit POD coefficients with ``lmp -in fit.in`` (``fitpod``) in ``workdir``.

    ``stride`` thins trajectories (systems of at least :data:`THIN_FROM` frames, whose neighbours
    are correlated); smaller systems (single-point labels, equations of state) are kept whole.
    Writes ``param.pod`` and ``coefficients.pod`` (the two files of ``pair_style pod``) and returns
    the number of descriptors, the training frames and the fitting time; with ``test_systems``,
    also ``fitpod``'s own RMSEs on them (``fitpod_test``: meV/atom and meV/Å per system).
    """
    settings = dict(PRESETS[preset]) if isinstance(preset, str) else dict(preset)
    workdir = Path(workdir).resolve()
    xyz = workdir / "train-xyz"
    xyz.mkdir(parents=True, exist_ok=True)
    n_frames = sum(write_extxyz(s, xyz / f"{Path(s).name}.xyz", _thinning(s, stride))
                   for s in train_systems)
    test_xyz = workdir / "test-xyz"
    if test_systems:
        test_xyz.mkdir(exist_ok=True)
        for s in test_systems:
            write_extxyz(s, test_xyz / f"{Path(s).name}.xyz")
    (workdir / "param.pod").write_text(param_text(species, settings))
    (workdir / "data.pod").write_text(
        "file_format extxyz\nfile_extension xyz\n"
        f'path_to_training_data_set "{xyz.name}"\n'
        + (f'path_to_test_data_set "{test_xyz.name}"\n' if test_systems else "")
        + f"fitting_weight_energy {energy_weight}\nfitting_weight_force {force_weight}\n"
        f"fitting_regularization_parameter {regularization}\n"
        "error_analysis_for_training_data_set 0\n"
        f"error_analysis_for_test_data_set {int(bool(test_systems))}\n"
        "basename_for_output_files fit\nprecision_for_pod_coefficients 10\n")
    (workdir / "fit.in").write_text("fitpod param.pod data.pod\n")
    exe = lmp or lammps_executable()
    started = time.perf_counter()
    run = subprocess.run([exe, "-in", "fit.in", "-log", "fit.log", "-screen", "none"],
                         cwd=workdir, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    fitted = workdir / "fit_coefficients.pod"
    if run.returncode != 0 or not fitted.exists():
        log = (workdir / "fit.log").read_text()[-2000:] if (workdir / "fit.log").exists() else ""
        raise RuntimeError(f"fitpod failed in {workdir}:\n{run.stderr[-2000:]}{log}")
    fitted.replace(workdir / "coefficients.pod")
    header = (workdir / "coefficients.pod").read_text().split("\n", 1)[0]
    n_coefficients = int(re.search(r"model_coefficients:\s*(\d+)", header).group(1))
    out = {"frames": n_frames, "stride": stride, "coefficients": n_coefficients,
           "fit_seconds": seconds, "energy_weight": energy_weight, "force_weight": force_weight,
           "regularization": regularization, "settings": settings}
    if test_systems:
        out["fitpod_test"] = _fitpod_errors(workdir / "fit_test_errors.pod")
    return out


THIN_FROM = 100
"""Systems with fewer frames than this are never thinned by ``stride``."""


def _thinning(system: str | Path, stride: int) -> int:
    n = len(np.load(Path(system) / "set.000" / "energy.npy", mmap_mode="r"))
    return stride if n >= THIN_FROM else 1


def _fitpod_errors(path: Path) -> dict:
    """Per-file energy (meV/atom) and force (meV/Å) RMSE from a ``fitpod`` error table."""
    errors = {}
    for line in path.read_text().splitlines():
        words = line.split()
        if len(words) == 7 and words[0].endswith(".xyz"):
            errors[words[0][:-4]] = {"energy_rmse_meV_atom": 1e3 * float(words[4]),
                                     "force_rmse_meV_A": 1e3 * float(words[6])}
    return errors


def train_pod(data: str | Path | list[str | Path], workdir: str | Path, preset: str = "fast",
              stride: int = 3, split_seed: int = 0, valid_fraction: float = 0.1,
              progress: bool = False) -> dict:
    """Split (the same time-block split as :func:`ionscope.potential.workflow.train_deepmd` for
    equal seeds), fit POD on every ``stride``-th training frame, validate on all validation
    frames through ``pair_style pod`` in LAMMPS. Products: ``param.pod``, ``coefficients.pod``,
    ``validation/`` and ``provenance.json`` in ``workdir``."""

    workdir = Path(workdir).resolve()
    roots = data_folders(data)
    split = split_systems(roots, workdir / "split", valid_fraction=valid_fraction, seed=split_seed)
    species = load_system(split.train_dirs[0])["type_map"]
    fit = fit_pod(split.train_dirs, workdir, species, preset=preset, stride=stride)
    potential = pod_potential(workdir / "param.pod", workdir / "coefficients.pod", name="pod")
    result = evaluate_lammps(potential, split.valid_dirs, progress=progress)
    write_validation(result, workdir / "validation")
    record = provenance(inputs=data_inputs(roots),
                        parameters={"preset": preset, "stride": stride, "split_seed": split_seed,
                                    "valid_fraction": valid_fraction},
                        fit=fit, split=split.table, overall=result["overall"])
    write_json(workdir / "provenance.json", record)
    return result


def pod_committee(systems: Sequence[str | Path], workdir: str | Path, seed: int,
                  n_members: int = 4, preset: str | dict = "fast", stride: int = 3,
                  cutoffs: Sequence[float] | None = None) -> list[PODPotential]:
    """A committee of POD potentials (:func:`fit_pod`), each fitted on a bootstrap resample of
    every system's frames: a ready ``refit`` for :func:`ionscope.workflow.learn.learn`. A member
    whose data (by content), seed and settings are unchanged is reused.

    ``cutoffs`` (Å, one per member) gives the members different cutoffs as well: bootstrap
    members of one linear model differ only by parameter noise, members of different cutoffs
    also by the form of the model, as the differently seeded networks of DP-GEN do."""
    workdir = Path(workdir).resolve()
    species = (Path(systems[0]) / "type_map.raw").read_text().split()
    if cutoffs is not None and len(cutoffs) != n_members:
        raise ValueError(f"{len(cutoffs)} cutoffs for {n_members} committee members")
    digests = content_digests(systems)
    members = []
    for m in range(n_members):
        member = workdir / f"member-{m}"
        settings = preset
        if cutoffs is not None:
            settings = dict(PRESETS[preset] if isinstance(preset, str) else preset,
                            rcut=float(cutoffs[m]))
        recipe = {"systems": digests, "seed": task_seed(seed, m), "preset": settings, "stride": stride}
        done = member / "member.json"
        if not (done.exists() and json.loads(done.read_text()) == recipe
                and (member / "coefficients.pod").exists()):
            data = [bootstrap_system(s, member / "data" / f"{j:03d}-{Path(s).name}",
                                     task_seed(seed, m, Path(s).name))
                    for j, s in enumerate(systems)]
            fit_pod(data, member, species, preset=settings, stride=stride)
            write_json(done, recipe)
        members.append(pod_potential(member / "param.pod", member / "coefficients.pod",
                                     name=f"pod-member-{m}"))
    return members


def bootstrap_system(system: str | Path, out: str | Path, seed: int) -> Path:
    """A bootstrap resample (frames drawn with replacement) of a DeePMD npy system: the data of
    one committee member."""
    system, out = Path(system), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("type.raw", "type_map.raw"):
        (out / name).write_bytes((system / name).read_bytes())
    arrays = {p.stem: np.load(p) for p in sorted((system / "set.000").glob("*.npy"))}
    n = len(arrays["energy"])
    pick = np.sort(np.random.default_rng(seed).integers(0, n, n))
    (out / "set.000").mkdir(exist_ok=True)
    for name, array in arrays.items():
        np.save(out / "set.000" / f"{name}.npy", array[pick])
    return out
