"""Softness: which Li ions are about to move, learned from structure alone."""

from .features import RadialFeatures
from .model import SoftnessModel, scan, train_softness
from .rearrangement import cumulative_d2min, d2min, mobility_labels

__all__ = ["RadialFeatures", "SoftnessModel", "cumulative_d2min", "d2min", "mobility_labels",
           "scan", "train_softness"]
