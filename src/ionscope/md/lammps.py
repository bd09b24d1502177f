"""A stage folder from start to finish: preparing it, running or resuming it from its restart
files, and checking and converting what LAMMPS wrote.

A stage directory holds ``stage.json`` (:mod:`ionscope.md.stage`), ``in.lammps`` and
``data.lmp`` (the start; :mod:`ionscope.md.inputs`), ``restart.*`` files written every
``restart_every_ps``, ``dump.lammpstrj``, ``log.lammps`` (every run and resumed run appends to
it) and, when the stage has finished, ``final.data``, ``trajectory.h5``, ``thermo.csv`` and
``run.json`` (written last and atomically, once the trajectory has been checked: a stage without
it is unfinished and is resumed from its newest restart file).

One process at a time works in a stage directory (:func:`ionscope.md.guard.folder_lock`, held
by LAMMPS too), and LAMMPS dies with the process that started it (:mod:`ionscope.md.engine`).
"""

from __future__ import annotations

import json
import mmap
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers
from ase.io import read

from ..io import open_trajectory
from ..io.frame import TrajectoryFormatError
from ..io.tables import write_csv
from ..potential import Potential
from ..provenance import provenance, write_json
from .engine import lammps_command, parse_thermo, run_lammps
from .guard import Interrupted, folder_lock
from .inputs import render_input, write_data
from .stage import STAGE_FILE, Stage, load_stage_spec, save_stage_spec


def newest_restart(stage_dir: Path) -> tuple[Path, int] | None:
    """The newest complete restart file. A file shorter than its predecessor was being written
    when the run died, so the previous one is used (restart files of a run have equal size)."""
    found = sorted((int(m.group(1)), f) for f in stage_dir.glob("restart.*")
                   if (m := re.fullmatch(r"restart\.(\d+)", f.name)) and f.stat().st_size > 0)
    if not found:
        return None
    if len(found) >= 2 and found[-1][1].stat().st_size < found[-2][1].stat().st_size:
        found.pop()
    step, f = found[-1]
    return f, step


def _truncate_dump(dump: Path, restart_step: int) -> None:
    """Drop frames from ``restart_step`` on: LAMMPS writes them again when it resumes (the
    frame at the restart step itself is written at the start of the resumed run)."""
    if not dump.exists():
        return
    marker = b"ITEM: TIMESTEP\n"
    with open(dump, "rb") as handle:
        data = handle.read()
    pos = 0
    while (hit := data.find(marker, pos)) >= 0:
        step_line_end = data.find(b"\n", hit + len(marker))
        step = int(data[hit + len(marker):step_line_end])
        if step >= restart_step:
            with open(dump, "r+b") as handle:
                handle.truncate(hit)
            return
        pos = hit + 1


def dump_steps(dump: Path) -> list[int]:
    """The timestep of every frame of a LAMMPS dump, in file order (a scan for the headers)."""
    if not dump.exists() or not dump.stat().st_size:
        return []
    with open(dump, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return [int(m.group(1)) for m in re.finditer(rb"ITEM: TIMESTEP\n\s*(\d+)", data)]


def expected_dump_steps(stage: Stage) -> list[int]:
    """The frames a stage writes: every multiple of the dump interval in its dumped segments."""
    every = stage.steps(stage.dump_every_ps)
    steps: set[int] = set()
    for segment, first, last in stage.schedule():
        if segment["ensemble"] != "minimize" and segment.get("dump", True):
            steps.update(range(-(-first // every) * every, last + 1, every))
    return sorted(steps)


def check_dump(dump: Path, stage: Stage) -> None:
    """Refuse a finished stage's trajectory unless it holds exactly the frames the stage writes,
    once each and in order: two LAMMPS writing into one folder, or a restart gone wrong, leave
    duplicates, steps going back in time or gaps, which no analysis should see."""
    steps, expected = dump_steps(dump), expected_dump_steps(stage)
    if steps == expected:
        return
    back = np.flatnonzero(np.diff(steps) <= 0) if len(steps) > 1 else []
    missing = sorted(set(expected) - set(steps))
    if len(back):
        k = int(back[0])
        problem = (f"{len(back)} frame(s) repeat or go back in time (step {steps[k + 1]} after "
                   f"{steps[k]})")
    elif missing:
        problem = f"{len(missing)} frame(s) missing (the first at step {missing[0]})"
    else:
        extra = sorted(set(steps) - set(expected))
        problem = f"frames the stage does not write (the first at step {extra[0]})"
    span = f"steps {expected[0]}..{expected[-1]}" if expected else "no frames"
    raise TrajectoryFormatError(
        f"{dump}: {len(steps)} frames where the stage writes {len(expected)} ({span} every "
        f"{stage.steps(stage.dump_every_ps)}): {problem}. The stage is not marked finished; "
        f"delete {dump.parent} and run it again")


@dataclass
class StageResult:
    directory: Path
    atoms: Atoms
    trajectory: Path | None
    thermo: dict[str, np.ndarray]
    record: dict


def prepare_stage(stage_dir: str | os.PathLike, stage: Stage, potential: Potential,
                  atoms: Atoms) -> Path:
    """Write everything a stage needs into ``stage_dir`` (``stage.json``, ``data.lmp``), so that
    ``ionscope md run STAGE_DIR`` can run or resume it anywhere, e.g. in a cluster job."""
    stage_dir = Path(stage_dir)
    stage_dir.mkdir(parents=True, exist_ok=True)
    frozen = np.asarray(atoms.arrays.get("frozen", np.zeros(len(atoms), int))).astype(bool)
    atoms = atoms[np.argsort(~frozen, kind="stable")]  # frozen atoms first: ids 1…n_frozen
    write_data(atoms, stage_dir / "data.lmp", potential.species)
    save_stage_spec(stage_dir, stage, potential, int(frozen.sum()))
    for stale in ("dump.lammpstrj", "log.lammps"):
        (stage_dir / stale).unlink(missing_ok=True)
    return stage_dir


def _saved_stage(stage_dir: Path, stage: Stage | None) -> tuple[Stage, Potential, int]:
    """What ``stage.json`` holds; a ``stage`` given as well must be the same stage (a resumed or
    finished stage is never silently run or reused with other settings)."""
    saved, potential, n_frozen = load_stage_spec(stage_dir)
    if stage is not None and stage != saved:
        raise ValueError(
            f"{stage_dir / STAGE_FILE}: the Stage given differs from the one this folder was "
            f"prepared with in {', '.join(saved.differences(stage))}; run it without a Stage to "
            f"resume or reuse it as prepared, or delete {stage_dir} to start again")
    return saved, potential, n_frozen


def run_stage(stage_dir: str | os.PathLike, stage: Stage | None = None,
              potential: Potential | None = None, atoms: Atoms | None = None, mpi_ranks: int = 1,
              progress: bool = True, lmp: str | None = None) -> StageResult:
    """Run (or resume, or reuse) one MD stage in ``stage_dir``.

    A finished stage (``run.json`` present) is returned as it is. An unfinished one restarts
    from its newest restart file. Otherwise it starts from ``atoms`` (with ``stage`` and
    ``potential``), or from what :func:`prepare_stage` wrote. A ``stage`` given for a folder
    that already holds a different one (``stage.json``) is refused with :class:`ValueError`.
    """
    stage_dir = Path(stage_dir)
    if stage_dir.exists() and not stage_dir.is_dir():
        raise ValueError(f"{stage_dir}: a file, not a stage directory")
    stage_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(stage_dir, "an ionscope MD stage") as lock:
        if (stage_dir / "run.json").exists():
            if stage is not None and (stage_dir / STAGE_FILE).exists():
                _saved_stage(stage_dir, stage)
            return load_stage(stage_dir)
        resume = newest_restart(stage_dir)
        if atoms is not None and resume is None:
            if stage is None or potential is None:
                raise ValueError("a new stage needs its Stage and Potential")
            prepare_stage(stage_dir, stage, potential, atoms)
        if not (stage_dir / STAGE_FILE).exists():
            raise ValueError(f"{stage_dir}: nothing to resume and no starting structure given")
        stage, saved_potential, n_frozen = _saved_stage(stage_dir, stage)
        potential = potential or saved_potential
        type_order = potential.species
        # LAMMPS writes the frames from the restart step on again (all of them on a fresh start)
        _truncate_dump(stage_dir / "dump.lammpstrj", resume[1] if resume else 0)
        if resume is None:
            (stage_dir / "log.lammps").unlink(missing_ok=True)
        has_frozen = n_frozen > 0
        script = render_input(stage, potential, type_order, resume, has_frozen)
        (stage_dir / "in.lammps").write_text(script)
        launcher = lammps_command(mpi_ranks, lmp)
        arguments = ["-in", "in.lammps", "-log", "none", "-screen", "none"]  # in.lammps appends the log
        if has_frozen:
            arguments += ["-var", "n_frozen", str(n_frozen)]
        started = time.perf_counter()
        finished = False
        try:
            run_lammps(launcher, arguments, stage_dir, potential.environment(), stage,
                       resume[1] if resume else 0, lock, progress,
                       tend=lambda: _prune_restarts(stage_dir, keep=2))
            finished = True
        except Interrupted as stop:
            restart = newest_restart(stage_dir)
            raise Interrupted(f"{stop}; it resumes from step {restart[1] if restart else 0}") from None
        finally:
            _prune_restarts(stage_dir, keep=1 if finished else 2)
        wall = time.perf_counter() - started
        return _finish(stage_dir, stage, potential, type_order, mpi_ranks, launcher + arguments,
                       wall, resume)


def _prune_restarts(stage_dir: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest restart files (a long run writes thousands)."""
    found = sorted((int(m.group(1)), f) for f in stage_dir.glob("restart.*")
                   if (m := re.fullmatch(r"restart\.(\d+)", f.name)))
    for _, f in found[:-keep]:
        f.unlink(missing_ok=True)


def _finish(stage_dir, stage, potential, type_order, mpi_ranks, command, wall, resume) -> StageResult:
    atoms = read(stage_dir / "final.data", format="lammps-data", atom_style="atomic",
                 units="metal", Z_of_type={k + 1: atomic_numbers[s] for k, s in enumerate(type_order)})
    thermo = parse_thermo(stage_dir / "log.lammps")
    if thermo:
        write_csv(stage_dir / "thermo.csv", list(thermo), list(thermo.values()))
    trajectory = None
    dump = stage_dir / "dump.lammpstrj"
    check_dump(dump, stage)
    if dump.exists() and dump.stat().st_size:
        traj = open_trajectory(dump, type_map=list(type_order), md_timestep=stage.timestep_ps)
        trajectory = traj.to_h5md(stage_dir / "trajectory.h5")
    steps_run = stage.total_steps - (resume[1] if resume else 0)
    record = provenance(
        inputs={"start": stage_dir / "data.lmp", "potential": potential.files[0] if potential.files else None},
        parameters={"segments": stage.segments, "timestep_fs": stage.timestep_fs, "seed": stage.seed,
                    "T_init": stage.T_init, "dump_every_ps": stage.dump_every_ps,
                    "restart_every_ps": stage.restart_every_ps, "type_order": list(type_order)},
        potential={"name": potential.name, "pair_style": potential.pair_style,
                   "sha256": potential.sha256},
        command=" ".join(command), mpi_ranks=mpi_ranks, wall_seconds=wall,
        resumed_from_step=resume[1] if resume else None,
        ns_per_day=stage.ns_per_day(steps_run, wall) if wall > 0 else None,
        n_atoms=len(atoms), status="complete")
    write_json(stage_dir / "run.json", record)
    return StageResult(stage_dir, atoms, trajectory, thermo, record)


def load_stage(stage_dir: str | os.PathLike) -> StageResult:
    """A finished stage from its directory."""
    stage_dir = Path(stage_dir)
    record = json.loads((stage_dir / "run.json").read_text())
    order = record["parameters"]["type_order"]
    atoms = read(stage_dir / "final.data", format="lammps-data", atom_style="atomic",
                 units="metal", Z_of_type={k + 1: atomic_numbers[s] for k, s in enumerate(order)})
    thermo = parse_thermo(stage_dir / "log.lammps") if (stage_dir / "log.lammps").exists() else {}
    h5 = stage_dir / "trajectory.h5"
    return StageResult(stage_dir, atoms, h5 if h5.exists() else None, thermo, record)
