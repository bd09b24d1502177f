"""The files LAMMPS reads for a stage: ``data.lmp`` (the start) and ``in.lammps`` (the
schedule of a :class:`~ionscope.md.stage.Stage`, from the start or from a restart file)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms
from ase.io import write

from ..potential import Potential
from .stage import Stage

DUMP_COLUMNS = "id type x y z ix iy iz"


def write_data(atoms: Atoms, path: Path, type_order: Sequence[str]) -> None:
    """``atoms`` as a LAMMPS data file (metal units, atom style atomic), types in ``type_order``."""
    write(path, atoms, format="lammps-data", specorder=list(type_order), masses=True,
          units="metal", atom_style="atomic")


def render_input(stage: Stage, potential: Potential, type_order: Sequence[str],
                 resume_from: tuple[Path, int] | None, has_frozen: bool) -> str:
    """The LAMMPS input of a stage, starting at the restart step when resuming."""
    dt_ps = stage.timestep_ps
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
    lines += potential.lammps_lines(type_order)
    lines += ["neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes",
              f"timestep {dt_ps:.10g}"]
    lines += potential.setup_lines()
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
                      f"{DUMP_COLUMNS}", "dump_modify traj sort id append yes"]
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
