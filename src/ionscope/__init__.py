"""ionscope: from DFT data to lithium-ion transport in disordered thiophosphate electrolytes.

Subpackages follow the workflow: :mod:`ionscope.io` (trajectories), :mod:`ionscope.structures`,
:mod:`ionscope.potential`, :mod:`ionscope.md`, :mod:`ionscope.analysis` (structure, dynamics,
softness), :mod:`ionscope.workflow`, :mod:`ionscope.report` and :mod:`ionscope.cli`.
"""

__version__ = "0.1.0"
