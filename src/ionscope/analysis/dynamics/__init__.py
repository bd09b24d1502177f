"""Transport analysis: MSD, α₂, collective MSD, van Hove functions, D, Arrhenius, σ, Haven
ratio, regions, VDOS, anion reorientation. Every analysis class is a
:class:`~ionscope.analysis.base.TrajectoryAnalysis`:
``Analysis(parameters).run(trajectory, start, stop, step, **options).results``, with the fields
of ``results`` and their units in the ``Results`` section of the class docstring."""

from .diffusion import (
                        A2_PER_PS_TO_CM2_PER_S,
                        DiffusionCoefficient,
                        NotDiffusiveWarning,
                        arrhenius,
                        brownian_msd_covariance,
                        diffusion_coefficient,
                        fit_msd,
                        nernst_einstein,
)
from .maps import DisplacementMap, displacement_map, ion_trajectories
from .msd import MSD, log_lags
from .regions import REGIONS, SlabRegions, region_fractions
from .reorientation import AnionReorientation, NoUnitsError
from .vanhove import DistinctVanHove, SelfVanHove
from .vdos import VibrationalDOS

__all__ = ["A2_PER_PS_TO_CM2_PER_S", "AnionReorientation", "DiffusionCoefficient", "DisplacementMap",
           "DistinctVanHove", "MSD", "NoUnitsError", "NotDiffusiveWarning", "REGIONS", "SelfVanHove",
           "SlabRegions", "VibrationalDOS", "arrhenius", "brownian_msd_covariance",
           "diffusion_coefficient", "displacement_map", "fit_msd", "ion_trajectories", "log_lags",
           "nernst_einstein", "region_fractions"]
