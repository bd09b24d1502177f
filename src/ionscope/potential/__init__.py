"""Interatomic potentials: one model type per kind (:mod:`.model`), the bundled models and how
a user names a potential (:mod:`.bundled`), DeePMD-kit training and validation on DFT data, POD
and SNAP fits, and NN-SNAP (:mod:`.neural`)."""

from .bundled import DEFAULT, available_models, bundled_potential, model_card, resolve_potential
from .dataset import SplitSummary, find_systems, split_systems
from .deepmd import PRESETS, deepmd_input
from .model import (
                    DeepMDPotential,
                    MLIAPPotential,
                    PODPotential,
                    Potential,
                    SNAPPotential,
                    deepmd_potential,
                    mliap_potential,
                    pod_potential,
                    potential_from_dict,
                    snap_potential,
)

__all__ = ["DEFAULT", "DeepMDPotential", "MLIAPPotential", "PODPotential", "PRESETS", "Potential", "SNAPPotential",
           "SplitSummary", "available_models", "bundled_potential", "deepmd_input",
           "deepmd_potential", "find_systems", "mliap_potential", "model_card", "pod_potential",
           "potential_from_dict", "resolve_potential", "snap_potential", "split_systems"]
