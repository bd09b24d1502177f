"""Interatomic potentials: DeePMD-kit training/validation on DFT data, and the bundled models."""

from .dataset import SplitSummary, find_systems, split_systems
from .deepmd import PRESETS, deepmd_input

__all__ = ["PRESETS", "SplitSummary", "deepmd_input", "find_systems", "split_systems"]
