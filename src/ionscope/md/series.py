"""Temperature series for diffusion: one independent stage per temperature (NPT
equilibration, then production), each prepared in its own directory so that it can run in any
process or on any node (``ionscope md run DIR``, or :func:`ionscope.md.cluster.slurm_script`)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ase import Atoms

from ..potential import Potential
from ..provenance import task_seed
from .lammps import StageResult, prepare_stage, run_stage
from .protocols import diffusion_run
from .stage import Stage


def prepare_temperature_series(workdir: str | Path, atoms: Atoms, potential: Potential,
                               temperatures: Sequence[float], equilibrate_ps: float,
                               production_ps: float, seed: int = 1,
                               production_ensemble: str = "nvt", **stage_options) -> list[Path]:
    """Prepare ``workdir/T{T}K`` for every temperature; each temperature's seed derives from
    ``seed`` and the temperature itself (:func:`ionscope.provenance.task_seed`), so adding a
    temperature changes no other stage."""
    dirs = []
    for T in temperatures:
        stage = Stage(diffusion_run(T, equilibrate_ps, production_ps,
                                    production_ensemble=production_ensemble),
                      seed=task_seed(seed, "series", f"{T:g}"), **stage_options)
        dirs.append(prepare_stage(Path(workdir) / f"T{T:g}K", stage, potential, atoms))
    return dirs


def run_series(stage_dirs: Sequence[str | Path], mpi_ranks: int = 1,
               progress: bool = True) -> list[StageResult]:
    """Run (or resume) prepared stages one after the other in this process."""
    return [run_stage(d, mpi_ranks=mpi_ranks, progress=progress) for d in stage_dirs]
