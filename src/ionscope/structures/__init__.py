"""Starting structures: crystal supercells, random melts of a composition, glass-ceramic cells."""

from .builders import (
                       composition_counts,
                       composition_ratios,
                       crystal_supercell,
                       glass_ceramic_cell,
                       random_packing,
                       xli2s_p2s5_formula,
)
from .eos import volume_series

__all__ = ["composition_counts", "composition_ratios", "crystal_supercell", "glass_ceramic_cell",
           "random_packing", "volume_series", "xli2s_p2s5_formula"]
