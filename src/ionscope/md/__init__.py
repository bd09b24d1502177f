"""Molecular dynamics in LAMMPS: protocols, stages with restart/resume and MPI (the potentials
come from :mod:`ionscope.potential`).

:mod:`~ionscope.md.stage` says what a stage runs, :mod:`~ionscope.md.inputs` writes its LAMMPS
input, :mod:`~ionscope.md.engine` runs LAMMPS, :mod:`~ionscope.md.lammps` takes a stage folder
from preparation to its checked results.
"""

from . import protocols
from .engine import LAMMPSFailed, parse_thermo
from .inputs import render_input
from .lammps import StageResult, load_stage, prepare_stage, run_stage
from .pressure import reference_pressure
from .series import prepare_temperature_series, run_series
from .stage import DEFAULT_TIMESTEP_FS, Stage, repoint_potential

__all__ = ["DEFAULT_TIMESTEP_FS", "LAMMPSFailed", "Stage", "StageResult", "load_stage", "parse_thermo",
           "prepare_stage", "prepare_temperature_series", "protocols", "reference_pressure",
           "render_input", "repoint_potential", "run_series", "run_stage"]
