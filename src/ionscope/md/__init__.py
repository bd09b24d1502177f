"""Molecular dynamics in LAMMPS: protocols, stages with restart/resume and MPI (the potentials
come from :mod:`ionscope.potential`)."""

from . import protocols
from .lammps import (Stage, StageResult, load_stage, parse_thermo, prepare_stage, render_input,
                     run_stage)
from .pressure import reference_pressure
from .series import prepare_temperature_series, run_series

__all__ = ["Stage", "StageResult", "load_stage", "parse_thermo", "prepare_stage",
           "prepare_temperature_series", "protocols", "reference_pressure", "render_input",
           "run_series", "run_stage"]
