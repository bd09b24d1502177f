"""Softness: which Li ions are about to move, learned from structure alone."""

from .features import RadialFeatures
from .model import SoftnessModel, scan, select_softness, train_softness
from .rearrangement import cumulative_d2min, d2min, mobility_labels
from .relations import (
                        atomic_energies,
                        axis_profile,
                        barrier_distributions,
                        correlate,
                        migration_barrier,
                        unit_environment,
)

__all__ = ["RadialFeatures", "SoftnessModel", "atomic_energies", "axis_profile",
           "barrier_distributions", "correlate",
           "cumulative_d2min", "d2min", "migration_barrier", "mobility_labels", "scan",
           "select_softness", "train_softness", "unit_environment"]
