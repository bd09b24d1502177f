"""Label frames with CP2K and store them as a DeePMD npy system with their provenance.

``label_frames`` runs one single point per frame in ``OUT/work/frame-NNNNN/`` — locally, each frame
starting from the previous frame's wavefunction, or as dpdispatcher tasks (SLURM, PBS, LSF) —
keeps every finished label in that folder (so a killed run resumes where it stopped and a frame
whose geometry or settings changed is recomputed), and writes ``OUT/`` as a DeePMD npy system
(``type.raw``, ``type_map.raw``, ``set.000/{coord,box,energy,force,virial}.npy``) plus
``labels.json``: the settings and level of theory, each frame's source, SCF steps and time, and
every frame that failed (not converged, crashed, timed out) — failed frames are never stored.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms
from tqdm.auto import tqdm

from ..provenance import atomic_path, provenance, write_json
from .cp2k import (CP2KError, SinglePoint, cp2k_command, parse_output, render_input, restart_file,
                   run_single_point)
from .settings import (GAMMA_ONLY_MIN_WIDTH, LATER_FIELDS, SCF_FALLBACK_SMEARING_K, CP2KSettings,
                       cell_widths)

TYPE_MAP = ("Li", "P", "S")


@dataclass
class LabelReport:
    """What a labelling run produced: stored frames, failures (index → reason), the system."""

    out_dir: Path
    labelled: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    reused: int = 0


def frame_key(atoms: Atoms, settings: CP2KSettings) -> str:
    """SHA-256 of a frame's species, positions, cell and the settings: a stored label is reused
    only when all of them are unchanged."""
    # settings at the values of fields added later hash as before, so committed labels stay reusable
    exclude = {name for name, value in LATER_FIELDS.items() if getattr(settings, name) == value}
    digest = hashlib.sha256(settings.model_dump_json(exclude=exclude or None).encode())
    digest.update(" ".join(atoms.get_chemical_symbols()).encode())
    digest.update(np.ascontiguousarray(atoms.positions, float).tobytes())
    digest.update(np.ascontiguousarray(atoms.cell.array, float).tobytes())
    return digest.hexdigest()


def _frame_dir(workdir: Path, index: int) -> Path:
    return workdir / f"frame-{index:05d}"


def _stored_labels(out_dir: Path) -> dict[str, SinglePoint]:
    """Labels already in the system at ``out_dir`` by frame key (a committed system resumes
    without its work folders)."""
    meta_path = out_dir / "labels.json"
    if not meta_path.exists() or not (out_dir / "set.000" / "energy.npy").exists():
        return {}
    rows = json.loads(meta_path.read_text()).get("frames", [])
    data = {k: np.load(out_dir / "set.000" / f"{k}.npy") for k in ("energy", "force", "virial")}
    if len(rows) != len(data["energy"]):
        return {}
    return {row["key"]: SinglePoint(energy=float(data["energy"][j]),
                                    forces=data["force"][j].reshape(-1, 3).astype(float),
                                    virial=data["virial"][j].reshape(3, 3).astype(float),
                                    scf_steps=row["scf_steps"], seconds=row["seconds"],
                                    smearing_K=row.get("smearing_K", 0.0))
            for j, row in enumerate(rows) if "key" in row}


def _load_label(directory: Path, key: str) -> SinglePoint | None:
    path = directory / "label.npz"
    if not path.exists():
        return None
    data = np.load(path)
    if str(data["key"]) != key:
        return None
    return SinglePoint(energy=float(data["energy"]), forces=data["forces"], virial=data["virial"],
                       scf_steps=int(data["scf_steps"]), seconds=float(data["seconds"]),
                       smearing_K=float(data["smearing_K"]) if "smearing_K" in data else 0.0)


def _save_label(directory: Path, key: str, label: SinglePoint) -> None:
    with atomic_path(directory / "label.npz") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, key=key, energy=label.energy, forces=label.forces, virial=label.virial,
                 scf_steps=label.scf_steps, seconds=label.seconds, smearing_K=label.smearing_K)


def label_frames(frames: Sequence[Atoms], out_dir: str | os.PathLike, settings: CP2KSettings,
                 mpi: int = 1, timeout: float | None = None, sources: Sequence[str] | None = None,
                 dispatch: dict | None = None, workdir: str | os.PathLike | None = None,
                 progress: bool = True, guess_wfn: str | os.PathLike | None = None) -> LabelReport:
    """Label ``frames`` (ASE ``Atoms`` of one species list) with CP2K into the system ``out_dir``.

    ``sources`` names where each frame came from (kept in ``labels.json``); ``dispatch`` is
    ``{"machine": {...}, "resources": {...}}`` for dpdispatcher (frames then run in parallel,
    each from ``guess_wfn`` or the atomic guess), ``None`` to run here with ``mpi`` ranks per
    frame. CP2K runs in ``workdir`` (default ``OUT/work``), which may be deleted once the system
    is written. ``guess_wfn``: a CP2K wavefunction (``.wfn``, or ``.kp`` with k-points) of a
    similar frame with the same atoms, for the first SCF run here to start from (later frames
    start from their predecessor's); the converged result does not depend on it, only the number
    of SCF steps.
    """
    out_dir = Path(out_dir).resolve()
    workdir = Path(workdir).resolve() if workdir is not None else out_dir / "work"
    frames = list(frames)
    if not frames:
        raise ValueError(f"{out_dir}: no frames to label")
    symbols = frames[0].get_chemical_symbols()
    for i, atoms in enumerate(frames):
        if atoms.get_chemical_symbols() != symbols:
            raise ValueError(f"frame {i}: species differ from frame 0; a DeePMD system holds "
                             "frames of one species list (label them into separate systems)")
        if not atoms.pbc.all() or atoms.cell.rank != 3:
            raise ValueError(f"frame {i}: needs a periodic 3-D cell")
    settings.check_species(symbols, str(out_dir))
    grid = settings.kpoint_grid(frames[0].cell.array)
    width = cell_widths(frames[0].cell.array).min()
    if grid == (1, 1, 1) and width < GAMMA_ONLY_MIN_WIDTH:
        warnings.warn(f"{out_dir}: the cell is only {width:.1f} Å wide and CP2K settings "
                      f"{settings.name!r} sample Γ only; at 6-8 Å that puts forces 40-100 meV/Å "
                      "off the converged ones (docs/dft.md): use a preset with supercell_width, "
                      "e.g. lips-pbe-d3-12A", stacklevel=2)
    keys = [frame_key(a, settings) for a in frames]
    report = LabelReport(out_dir)
    labels: dict[int, SinglePoint] = {}
    stored = _stored_labels(out_dir)
    todo = []
    for i, key in enumerate(keys):
        label = stored.get(key) or _load_label(_frame_dir(workdir, i), key)
        if label is None:
            todo.append(i)
        else:
            labels[i] = label
            report.reused += 1

    if not todo and list(stored) == keys:   # the system holds exactly these labels already
        report.labelled = list(range(len(keys)))
        return report

    def publish() -> None:
        """Write the system and labels.json as they stand (after every frame: a kill loses
        at most the frame in progress)."""
        report.labelled = sorted(labels)
        _write_system(out_dir, frames, labels, symbols)
        write_json(out_dir / "labels.json", provenance(
            parameters={"settings": settings.model_dump(), "mpi": mpi, "timeout_s": timeout,
                        "kpoint_grid_frame_0": grid},
            level_of_theory=settings.level_of_theory, program=f"CP2K ({cp2k_command()[0]})",
            frames=[{"index": i, "key": keys[i], "source": (sources[i] if sources else None),
                     "scf_steps": labels[i].scf_steps, "seconds": labels[i].seconds,
                     "smearing_K": labels[i].smearing_K}
                    for i in report.labelled],
            failed=[{"index": i, "reason": r} for i, r in sorted(report.failed.items())],
            units={"energy": "eV", "force": "eV/A", "virial": "eV (stress x volume, + = expand)",
                   "coord": "A", "box": "A"}))

    if labels:
        publish()             # reused labels are in the system before any new run starts
    if dispatch is not None and todo:
        _run_dispatched(frames, todo, keys, workdir, settings, mpi, dispatch, labels, report,
                        guess_wfn)
    else:
        _run_here(frames, todo, keys, workdir, settings, mpi, timeout, labels, report, progress,
                  publish, guess_wfn)
    publish()
    return report


def _run_here(frames, todo, keys, workdir, settings, mpi, timeout, labels, report, progress,
              publish, guess_wfn=None):
    """Frames one after the other, each from its predecessor's wavefunction when there is one;
    a frame whose restarted SCF fails is retried once from the atomic guess, and one whose SCF
    still does not converge with integer occupations, with Fermi-Dirac smearing
    (``SCF_FALLBACK_SMEARING_K``) from where it stopped."""
    bar = tqdm(todo, desc=f"CP2K {settings.level_of_theory}", unit="frame", disable=not progress)
    for i in bar:
        directory = _frame_dir(workdir, i)
        previous = restart_file(_frame_dir(workdir, i - 1)) if i > 0 else None
        restart = previous or guess_wfn
        atoms = frames[i]
        args = (atoms.get_chemical_symbols(), atoms.positions, atoms.cell.array, settings)
        try:
            try:
                label = run_single_point(directory, *args, mpi=mpi, timeout=timeout,
                                         restart_wfn=restart)
            except CP2KError:
                if restart is None:
                    raise
                label = run_single_point(directory, *args, mpi=mpi, timeout=timeout)
        except CP2KError as exc:
            try:
                label = _smeared_retry(directory, args, mpi, timeout, exc)
            except CP2KError as final:
                report.failed[i] = str(final)
                continue
        _save_label(directory, keys[i], label)
        labels[i] = label
        publish()
        bar.set_postfix(scf=label.scf_steps, s=f"{label.seconds:.0f}")


def _smeared_retry(directory: Path, args: tuple, mpi: int, timeout: float | None,
                   exc: CP2KError) -> SinglePoint:
    """The frame of ``args`` (symbols, positions, cell, settings) again with Fermi-Dirac
    smearing, from the wavefunction where its SCF stopped; ``exc`` again when that does not
    apply (a crash or a timeout, or smearing on already)."""
    *frame, settings = args
    if settings.smearing_K or "SCF did not converge" not in str(exc):
        raise exc
    smeared = settings.model_copy(update={"smearing_K": SCF_FALLBACK_SMEARING_K,
                                          "max_scf": max(settings.max_scf, 100)})
    return run_single_point(directory, *frame, smeared, mpi=mpi, timeout=timeout,
                            restart_wfn=restart_file(directory))


def _run_dispatched(frames, todo, keys, workdir, settings, mpi, dispatch, labels, report,
                    guess_wfn=None):
    """Frames as dpdispatcher tasks (one CP2K run each) on the given machine and resources;
    ``guess_wfn`` travels with every task as ``guess.wfn`` and starts its SCF."""
    from dpdispatcher import Machine, Resources, Submission, Task  # optional dependency

    command = " ".join(cp2k_command(mpi)) + " -i cp2k.inp -o cp2k.out"
    tasks = []
    for i in todo:
        directory = _frame_dir(workdir, i)
        directory.mkdir(parents=True, exist_ok=True)
        atoms = frames[i]
        forward = ["cp2k.inp"]
        guess = directory / f"guess{Path(guess_wfn).suffix}" if guess_wfn else None
        text = render_input(atoms.get_chemical_symbols(), atoms.positions, atoms.cell.array,
                            settings, restart_wfn=guess)
        if guess is not None and str(guess.resolve()) in text:   # a wavefunction of this kind
            shutil.copyfile(guess_wfn, guess)
            text = text.replace(str(guess.resolve()), guess.name)  # beside cp2k.inp, remotely too
            forward.append(guess.name)
        (directory / "cp2k.inp").write_text(text)
        tasks.append(Task(command=command, task_work_path=directory.name,
                          forward_files=forward, backward_files=["cp2k.out"],
                          outlog="cp2k.log", errlog="cp2k.err"))
    machine = Machine.load_from_dict(dispatch.get("machine") or {
        "batch_type": "Shell", "context_type": "LazyLocalContext", "local_root": str(workdir)})
    resources = Resources.load_from_dict(dispatch.get("resources") or {
        "number_node": 1, "cpu_per_node": mpi, "gpu_per_node": 0, "queue_name": "",
        "group_size": max(1, math.ceil(len(tasks) / max(1, dispatch.get("workers", 1))))})
    Submission(work_base=".", machine=machine, resources=resources,
               task_list=tasks).run_submission(check_interval=5)
    for i in todo:
        directory = _frame_dir(workdir, i)
        try:
            label = parse_output(directory / "cp2k.out", len(frames[i]), frames[i].cell.array)
        except CP2KError as exc:
            report.failed[i] = str(exc)
            continue
        _save_label(directory, keys[i], label)
        labels[i] = label


def _write_system(out_dir: Path, frames, labels: dict[int, SinglePoint], symbols) -> None:
    """The labelled frames as a DeePMD npy system, replaced as a whole: energies float64, the
    rest float32 (1e-7 relative: far below DFT's own convergence)."""
    extra = sorted(set(symbols) - set(TYPE_MAP))
    type_map = list(TYPE_MAP) + extra
    order = sorted(labels)
    set_dir = out_dir / "set.000"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "type.raw").write_text("\n".join(str(type_map.index(s)) for s in symbols) + "\n")
    (out_dir / "type_map.raw").write_text("\n".join(type_map) + "\n")
    if not order:
        shutil.rmtree(set_dir, ignore_errors=True)
        return
    arrays = {
        "coord": np.array([frames[i].positions.ravel() for i in order], np.float32),
        "box": np.array([frames[i].cell.array.ravel() for i in order], np.float32),
        "energy": np.array([labels[i].energy for i in order], np.float64),
        "force": np.array([labels[i].forces.ravel() for i in order], np.float32),
        "virial": np.array([labels[i].virial.ravel() for i in order], np.float32),
    }
    staging = out_dir / ".set.000.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, array in arrays.items():
        np.save(staging / f"{name}.npy", array)
    old = out_dir / ".set.000.old"
    shutil.rmtree(old, ignore_errors=True)
    if set_dir.exists():
        set_dir.rename(old)
    staging.rename(set_dir)
    shutil.rmtree(old, ignore_errors=True)


def read_labels(system: str | os.PathLike) -> dict:
    """``labels.json`` of a labelled system (settings, level of theory, frames, failures)."""
    path = Path(system) / "labels.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: not a system labelled by ionscope (no labels.json)")
    return json.loads(path.read_text())
