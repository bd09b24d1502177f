"""Molecular dynamics in LAMMPS: potentials, protocols, stages with restart/resume and MPI."""

from . import protocols
from .lammps import (Stage, StageResult, load_stage, parse_thermo, prepare_stage, render_input,
                     run_stage)
from .pressure import reference_pressure
from .potentials import (Potential, bundled_potential, deepmd_potential, pod_potential,
                         resolve_potential, snap_potential)
from .series import prepare_temperature_series, run_series

__all__ = ["Potential", "Stage", "StageResult", "bundled_potential", "deepmd_potential", "load_stage",
           "parse_thermo", "pod_potential", "prepare_stage", "prepare_temperature_series",
           "protocols", "reference_pressure", "render_input", "resolve_potential", "run_series",
           "run_stage", "snap_potential"]
