"""Structure analysis of crystalline and disordered lithium thiophosphates."""

from .angles import BondAngles
from .entropy import PairEntropy
from .profiles import composition_profile, find_interfaces, order_profile
from .rdf import RDF, coordination_number, coordination_numbers, mean_bond_length
from .speciation import (BOND_COUNTS, ENVIRONMENT_KEYS, AnionSpeciation, BondEnvironments, bond_counts,
                         classify_units)
from .steinhardt import Steinhardt
from .structure_factor import NEUTRON_B, DirectStructureFactor, structure_factors, xray_form_factor
from .voronoi import VoronoiVolume, voronoi_volumes
from .xrd import crystallinity, xrd_pattern

__all__ = ["AnionSpeciation", "BOND_COUNTS", "BondAngles", "BondEnvironments", "ENVIRONMENT_KEYS",
           "DirectStructureFactor", "NEUTRON_B", "PairEntropy", "RDF",
           "Steinhardt", "VoronoiVolume", "bond_counts", "classify_units", "composition_profile",
           "coordination_number", "coordination_numbers", "crystallinity", "find_interfaces",
           "mean_bond_length", "order_profile", "structure_factors", "voronoi_volumes",
           "xray_form_factor", "xrd_pattern"]
