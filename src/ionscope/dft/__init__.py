"""DFT inside ionscope: CP2K labels at one recorded level of theory, and data curation.

``settings`` (presets of the Li–P–S data's CP2K setup), ``cp2k`` (input, run, parse),
``label`` (frames → a DeePMD npy system with provenance, resumable), ``d3`` (analytic Grimme D3)
``curate`` (one level of theory across a data set) and ``eos`` (equations of state from labels
at several volumes).
"""

from .cp2k import CP2KError, SinglePoint, restart_file, run_single_point
from .curate import LIPS_DFT_LEVELS, curate
from .d3 import d3_terms
from .eos import EquationOfState, thermal_zero_pressure_volume
from .label import label_frames, read_labels
from .settings import PRESETS, CP2KSettings, get_preset

__all__ = ["CP2KError", "CP2KSettings", "EquationOfState", "LIPS_DFT_LEVELS", "PRESETS", "SinglePoint", "curate",
           "d3_terms", "get_preset", "label_frames", "read_labels", "restart_file",
           "run_single_point", "thermal_zero_pressure_volume"]
