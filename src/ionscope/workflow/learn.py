"""Active learning (DP-GEN style; Zhang et al., Comput. Phys. Commun. 253, 107206, 2020).

One iteration: **explore** with LAMMPS MD of the committee's first member at the conditions
studies visit; compute the committee's force deviation on every explored frame,

    ε_F = max_i √⟨‖F_i − ⟨F_i⟩‖²⟩     (over members, for every atom i; max over atoms);

**select** the frames with ``trust_lo ≤ ε_F < trust_hi`` (below: already known; above: unphysical,
the model has left the data), at most ``max_select`` per exploration task, spread over the run;
**label** them with CP2K (:func:`ionscope.dft.label_frames`; a task's first frame starts from the
wavefunction of an earlier task with the same atoms); **refit** the committee on the data
plus every label so far. Every phase writes its result before the next starts, so a killed loop
resumes where it stopped; ``iterations.csv`` has one row per iteration (explored, accurate,
candidate, failed, selected, labelled, label failures, committee force error on the new labels
before and after the refit).
"""

from __future__ import annotations

import csv
import json
import tomllib
from dataclasses import asdict, dataclass
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np
from ase import Atoms
from ase.io import read as ase_read
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..dft import CP2KSettings, get_preset, label_frames, restart_file
from ..io import open_trajectory
from ..md import DEFAULT_TIMESTEP_FS, LAMMPSFailed, Stage, protocols, run_stage
from ..potential import Potential, potential_from_dict
from ..potential.dataset import find_systems
from ..potential.ensemble import force_deviation
from ..potential.lammps_eval import committee_forces
from ..potential.linear import Pod, linear_committee
from ..potential.pod import pod_committee
from ..provenance import atomic_path, task_seed, write_json
from ..structures import crystal_supercell

Refit = Callable[[Sequence[Path], Path, int], list[Potential]]
"""``refit(systems, workdir, seed) -> members``: a new committee from DeePMD npy systems."""


@dataclass
class ExploreTask:
    """One exploration MD run: a starting structure at T (K), and P (bar) for NPT or None."""

    name: str
    atoms: Atoms
    T: float
    ps: float
    P: float | None = None
    dump_every_ps: float = 0.1


@dataclass
class LearnSettings:
    trust_lo: float = 0.10          # eV/Å
    trust_hi: float = 0.60          # eV/Å
    max_select: int = 5             # per task and iteration
    timestep_fs: float = DEFAULT_TIMESTEP_FS
    seed: int = 1
    mpi: int = 1                    # CP2K ranks per frame
    timeout: float | None = None    # s per CP2K frame


class ExploreSpec(BaseModel):
    """One ``[[explore]]`` table of a learning plan."""

    model_config = ConfigDict(extra="forbid")
    name: str
    crystal: str | None = Field(None, description="bundled crystal name or CIF")
    structure: Path | None = Field(None, description="extxyz/traj/CIF start structure")
    repeat: tuple[int, int, int] = (1, 1, 1)
    volume: float = Field(1.0, gt=0.5, lt=1.5, description="isotropic volume factor of the start "
                          "(an equation of state at finite T: the data hold one volume per crystal)")
    T: float = Field(gt=0, le=5000)
    ps: float = Field(gt=0)
    P: float | None = Field(None, description="bar; NPT when given, NVT otherwise")
    dump_every_ps: float = Field(0.5, gt=0)

    def task(self) -> ExploreTask:
        if (self.crystal is None) == (self.structure is None):
            raise ValueError(f"explore {self.name!r}: give exactly one of crystal or structure")
        if self.crystal is not None:
            atoms = crystal_supercell(self.crystal, repeat=self.repeat)
        else:
            atoms = ase_read(self.structure).repeat(self.repeat)
        atoms.set_cell(atoms.cell * self.volume ** (1 / 3), scale_atoms=True)
        return ExploreTask(self.name, atoms, self.T, self.ps, self.P, self.dump_every_ps)


class LearnPlan(BaseModel):
    """A learning plan (TOML): data, committee, DFT preset, trust levels, exploration tasks."""

    model_config = ConfigDict(extra="forbid")
    data: list[Path] = Field(min_length=1, description="DeePMD npy data folders (one or more)")
    iterations: int = Field(1, ge=1)
    members: int = Field(4, ge=2)
    refit: Literal["ridge", "fitpod"] = Field(
        "ridge", description="ridge: bootstrap ridge fits to energies, forces and virials "
        "(linear_committee); fitpod: LAMMPS fitpod (energies and forces only)")
    pod_preset: str = "fast"
    cutoffs: list[float] | None = Field(None, description="Å, one per member: members differ in "
                                        "cutoff as well as in their bootstrap data")
    stride: int = Field(3, ge=1)
    dft_preset: str = "lips-pbe-d3"
    mpi: int = Field(1, ge=1)
    timeout_s: float | None = Field(None, gt=0)
    trust_lo: float = Field(0.10, ge=0)
    trust_hi: float = Field(0.60, gt=0)
    max_select: int = Field(5, ge=1)
    seed: int = 1
    explore: list[ExploreSpec] = Field(min_length=1)

    @field_validator("data", mode="before")
    @classmethod
    def _one_or_more(cls, value):
        return [value] if isinstance(value, (str, Path)) else value

    @classmethod
    def load(cls, path: str | Path) -> "LearnPlan":
        path = Path(path)
        try:
            plan = cls.model_validate(tomllib.loads(path.read_text()))
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        if plan.cutoffs is not None and len(plan.cutoffs) != plan.members:
            raise ValueError(f"{path}: {len(plan.cutoffs)} cutoffs for {plan.members} members")
        if plan.trust_hi <= plan.trust_lo:
            raise ValueError(f"{path}: trust_hi ({plan.trust_hi}) must exceed trust_lo "
                             f"({plan.trust_lo})")
        plan.data = [(path.parent / d).resolve() for d in plan.data]
        plan.explore = [spec.model_copy(update={"structure": (path.parent / spec.structure)
                                                .resolve()}) if spec.structure else spec
                        for spec in plan.explore]
        return plan


def run_plan(plan: LearnPlan, workdir: str | Path, log=print) -> list[dict]:
    """Fit the starting POD committee on ``plan.data`` (once) and run the loop; the committee is
    refitted by ridge regression on energies, forces and virials (``refit = "ridge"``, the
    default) or by LAMMPS ``fitpod`` (energies and forces)."""
    workdir = Path(workdir)
    systems = [s for d in plan.data for s in find_systems(d)]
    if plan.refit == "fitpod":
        refit = partial(pod_committee, n_members=plan.members, preset=plan.pod_preset,
                        stride=plan.stride, cutoffs=plan.cutoffs)
    else:
        refit = partial(linear_committee, n_members=plan.members, stride=plan.stride,
                        descriptors=Pod.from_preset(plan.pod_preset), cutoffs=plan.cutoffs)
    start = workdir / "committee-0" / "members.json"
    if start.exists():
        members = _load_members(start)
    else:
        log(f"fitting the starting committee ({plan.members} POD members) on {plan.data}")
        members = refit(systems, workdir / "committee-0", plan.seed)
        write_json(start, [m.as_dict() for m in members])
    settings = LearnSettings(trust_lo=plan.trust_lo, trust_hi=plan.trust_hi,
                             max_select=plan.max_select, seed=plan.seed, mpi=plan.mpi,
                             timeout=plan.timeout_s)
    tasks = [spec.task() for spec in plan.explore]
    return learn(tasks, members, refit, systems, workdir, get_preset(plan.dft_preset),
                 iterations=plan.iterations, settings=settings, log=log)


def select(deviation: np.ndarray, lo: float, hi: float, max_select: int) -> np.ndarray:
    """Indices of at most ``max_select`` candidate frames (lo ≤ ε < hi), evenly spread in time."""
    candidates = np.flatnonzero((deviation >= lo) & (deviation < hi))
    if len(candidates) <= max_select:
        return candidates
    return candidates[np.linspace(0, len(candidates) - 1, max_select).round().astype(int)]


def learn(tasks: Sequence[ExploreTask], members: Sequence[Potential], refit: Refit,
          data: Sequence[str | Path], workdir: str | Path, dft: CP2KSettings,
          iterations: int = 1, settings: LearnSettings | None = None, log=print) -> list[dict]:
    """Run (or resume) ``iterations`` learning iterations in ``workdir``; returns the table rows.

    ``members`` is the starting committee (≥ 2), ``data`` the DeePMD npy systems it was fitted on;
    labelled frames go to ``workdir/labels/iter-NNN-TASK`` and join the data of later refits.
    """
    settings = settings or LearnSettings()
    workdir = Path(workdir)
    if len(members) < 2:
        raise ValueError("a committee needs at least two members")
    if len({t.name for t in tasks}) != len(tasks):
        raise ValueError("exploration task names must be unique")
    write_json(workdir / "learn.json", {"settings": asdict(settings), "dft": dft.model_dump(),
                                        "members": [m.as_dict() for m in members],
                                        "tasks": [{"name": t.name, "T": t.T, "P": t.P, "ps": t.ps,
                                                   "atoms": len(t.atoms)} for t in tasks]})
    systems = [Path(d) for d in data]
    rows = _read_table(workdir / "iterations.csv")
    for k in range(iterations):
        if k < len(rows):     # finished: its labels join the data, its refit is the committee
            systems += sorted((workdir / "labels").glob(f"iter-{k:03d}-*"))
            members = _load_members(workdir / f"iter-{k + 1:03d}" / "members.json")
            continue
        row = _iterate(k, workdir / f"iter-{k:03d}", tasks, members, refit, systems, workdir,
                       dft, settings, log)
        systems += row.pop("systems")
        members = row.pop("members")
        write_json(workdir / f"iter-{k + 1:03d}" / "members.json", [m.as_dict() for m in members])
        rows.append(row)
        _write_table(workdir / "iterations.csv", rows)
    return rows


def _iterate(k, it, tasks, members, refit, systems, workdir, dft, settings, log) -> dict:
    explored, picked = [], {}
    n_acc = n_cand = n_fail = 0
    for task in tasks:
        stage = Stage(protocols.nvt(task.T, task.ps) if task.P is None
                      else protocols.npt(task.T, task.ps, task.P),
                      timestep_fs=settings.timestep_fs, seed=task_seed(settings.seed, k, task.name),
                      dump_every_ps=task.dump_every_ps)
        frames, crashed = _explore(it / "explore" / task.name, stage, members[0], task.atoms)
        if crashed:
            log(f"iteration {k} {task.name}: LAMMPS stopped after {len(frames)} frames "
                f"({crashed}); selecting from the frames before the crash")
        if not frames:
            explored.append(0)
            continue
        deviation = _deviation(it / "explore" / task.name / "deviation.npy", members, frames)
        n_acc += int(np.sum(deviation < settings.trust_lo))
        n_fail += int(np.sum(deviation >= settings.trust_hi))
        n_cand += int(np.sum((deviation >= settings.trust_lo) & (deviation < settings.trust_hi)))
        explored.append(len(frames))
        chosen = select(deviation, settings.trust_lo, settings.trust_hi, settings.max_select)
        if len(chosen):
            picked[task.name] = [frames[i] for i in chosen]
        log(f"iteration {k} {task.name}: {len(frames)} frames, max ε_F {deviation.max():.3f} "
            f"eV/Å, {len(chosen)} selected")
    new_systems, n_labelled, n_failed = [], 0, 0
    new_frames = []
    wavefunctions = _earlier_wavefunctions(workdir, k, tasks)   # last converged one per atoms
    for name, frames in picked.items():
        out = workdir / "labels" / f"iter-{k:03d}-{name}"
        atoms_list = tuple(frames[0].get_chemical_symbols())
        report = label_frames(frames, out, dft, mpi=settings.mpi, timeout=settings.timeout,
                              workdir=it / "dft" / name, progress=False,
                              sources=[f"iter {k} {name}"] * len(frames),
                              guess_wfn=wavefunctions.get(atoms_list))
        last = _last_wavefunction(it / "dft" / name)
        if last is not None:    # tasks that share the atoms (a crystal at several T and volumes)
            wavefunctions[atoms_list] = last     # start from it: 30-35 SCF steps instead of 65-80
        n_labelled += len(report.labelled)
        n_failed += len(report.failed)
        if report.labelled:
            new_systems.append(out)
            new_frames += [frames[i] for i in report.labelled]
    rmse_before = rmse_after = float("nan")
    new_members = members
    if new_systems:
        reference = np.concatenate([np.load(s / "set.000" / "force.npy").ravel()
                                    for s in new_systems])
        rmse_before = _force_rmse(members[0], new_frames, reference)
        new_members = refit([*systems, *new_systems], it / "refit", task_seed(settings.seed, k))
        rmse_after = _force_rmse(new_members[0], new_frames, reference)
    return {"iteration": k, "explored": sum(explored), "accurate": n_acc, "candidate": n_cand,
            "failed": n_fail, "selected": sum(len(f) for f in picked.values()),
            "labelled": n_labelled, "label_failures": n_failed,
            "force_rmse_before": rmse_before, "force_rmse_after": rmse_after,
            "systems": new_systems, "members": new_members}


def _earlier_wavefunctions(workdir: Path, k: int, tasks) -> dict[tuple, Path]:
    """The last converged CP2K wavefunction of iterations before ``k``, keyed by the task's atoms.

    A task's first label then starts from it (30-35 SCF steps) instead of the atomic guess (65-80).
    """
    found: dict[tuple, Path] = {}
    for j in range(k):
        for task in tasks:
            last = _last_wavefunction(workdir / f"iter-{j:03d}" / "dft" / task.name)
            if last is not None:
                found[tuple(task.atoms.get_chemical_symbols())] = last
    return found


def _last_wavefunction(task_dft: Path) -> Path | None:
    """The wavefunction of the last frame of a task's CP2K directory that left one."""
    wfns = [w for d in sorted(task_dft.glob("frame-*")) if (w := restart_file(d)) is not None]
    return wfns[-1] if wfns else None


def _explore(folder: Path, stage: Stage, member: Potential, atoms: Atoms) -> tuple[list[Atoms], str]:
    """The frames of one exploration run, and why LAMMPS stopped early ("" when it did not).

    A run that leaves the committee's data may crash (lost atoms, atoms too close); the frames
    dumped before the crash are the most informative of all (DP-GEN), so they are kept, and the
    crash is recorded in ``crashed.txt`` so that a resumed loop does not run it again. A run
    that fails before its first dumped step is an input error and raises."""
    crashed, kept = folder / "crashed.txt", folder / "before-crash.lammpstrj"
    if not crashed.exists():
        try:
            result = run_stage(folder, stage, member, atoms, progress=False)
            return _dump_frames(result.trajectory, member.species, stage.timestep_ps), ""
        except LAMMPSFailed as exc:
            if _frames_with_all_atoms(folder / "dump.lammpstrj", len(atoms), kept) is None:
                raise              # nothing ran: the input is wrong, not the model
            lines = [l for l in str(exc).splitlines() if "ERROR" in l] or str(exc).splitlines()[:1]
            with atomic_path(crashed) as tmp:
                Path(tmp).write_text(lines[0] + "\n")
    frames = _dump_frames(kept, member.species, stage.timestep_ps) if kept.exists() else []
    return frames, crashed.read_text().strip()


def _frames_with_all_atoms(dump: Path, n_atoms: int, out: Path) -> Path | None:
    """The leading frames of a crashed run's dump that still hold all ``n_atoms`` atoms (LAMMPS
    may go on for a while after losing atoms), written to ``out``; None without such frames."""
    if not dump.exists():
        return None
    kept = []
    for frame in dump.read_text().split("ITEM: TIMESTEP")[1:]:
        lines = frame.splitlines()
        try:
            count = int(lines[lines.index("ITEM: NUMBER OF ATOMS") + 1])
        except (ValueError, IndexError):
            break
        if count != n_atoms or len(lines) < count + 8:     # lost atoms, or a cut-off frame
            break
        kept.append("ITEM: TIMESTEP" + frame)
    if len(kept) < 2:                                       # frame 0 is the start
        return None
    with atomic_path(out) as tmp:
        Path(tmp).write_text("".join(kept))
    return out


def _dump_frames(dump: Path, species, timestep_ps: float) -> list[Atoms]:
    traj = open_trajectory(dump, type_map=species, md_timestep=timestep_ps)
    frames = []
    for j in range(1, len(traj)):          # frame 0 is the starting structure
        atoms = traj.atoms(j)
        atoms.wrap()
        frames.append(atoms)
    return frames


def _deviation(path: Path, members, frames) -> np.ndarray:
    if path.exists():
        return np.load(path)
    deviation = force_deviation(committee_forces(members, frames))["max_devi_f"]
    with atomic_path(path) as tmp:
        np.save(tmp, deviation, allow_pickle=False)
    return deviation


def _force_rmse(member: Potential, frames, reference: np.ndarray) -> float:
    """Force RMSE of ``member`` on ``frames`` against the flat ``reference``; frames of one size
    are evaluated together (the tasks of an iteration differ in size)."""
    predicted = [committee_forces([member], list(group))[0].ravel()
                 for _, group in groupby(frames, key=len)]
    return float(np.sqrt(np.mean((np.concatenate(predicted) - reference) ** 2)))


def _load_members(path: Path) -> list[Potential]:
    return [potential_from_dict(m) for m in json.loads(path.read_text())]


_COLUMNS = ("iteration", "explored", "accurate", "candidate", "failed", "selected", "labelled",
            "label_failures", "force_rmse_before", "force_rmse_after")


def _read_table(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as handle:
        return list(csv.DictReader(handle))


def _write_table(path: Path, rows: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
