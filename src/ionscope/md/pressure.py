"""The potential's own pressure in a reference structure: the constant pressure correction.

Lee & Wan (Phys. Rev. B 78, 224103, 2008): a potential whose equation of state is off by a
nearly constant pressure reproduces the experimental density when NPT runs at the target
pressure plus the potential's own pressure of the experimental structure at that temperature,

    P_NPT,αα(T) = P_target + ⟨P_αα(T)⟩_NVT, experimental cell          (α = x, y, z),

measured per axis so that an anisotropic crystal keeps its experimental lattice, not only its
volume.
"""

from __future__ import annotations

import numpy as np

BAR_PER_GPA = 1.0e4


def reference_pressure(thermo: dict[str, np.ndarray], discard: float = 0.5) -> np.ndarray:
    """Mean pxx, pyy, pzz (bar) of an NVT run's thermo (``parse_thermo``), after discarding the
    first ``discard`` fraction as equilibration."""
    missing = {"pxx", "pyy", "pzz"} - set(thermo)
    if missing:
        raise ValueError(f"thermo output lacks {sorted(missing)}: rerun the reference stage")
    n = len(thermo["pxx"])
    if n < 4:
        raise ValueError(f"{n} thermo rows: too few to average the reference pressure")
    start = int(discard * n)
    return np.array([thermo[k][start:].mean() for k in ("pxx", "pyy", "pzz")])
