"""Regions of a glass-ceramic along one axis (glass / interface / crystal) from an F(Z) profile,
and the fraction of atoms in each region over time (Chen et al. 2025, Fig. 4d)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...io.frame import fractional_positions

REGIONS = ("glass", "interface", "crystal")


@dataclass
class SlabRegions:
    """Regions by fractional coordinate along cell axis ``axis``: within ``width/2`` of an
    interface → interface; elsewhere crystal where the order profile F ≥ ``threshold``, else
    glass. Build it with :meth:`from_profile`."""

    axis: int
    grid: np.ndarray          # fractional positions of the profile samples
    crystal: np.ndarray       # bool per sample
    interfaces: np.ndarray    # fractional positions
    half_widths: np.ndarray   # fractional half widths

    @classmethod
    def from_profile(cls, profile, axis: int = 2, threshold: float = 0.5,
                     min_width: float = 2.0) -> "SlabRegions":
        """From :func:`~ionscope.analysis.structure.order_profile` output (Å units); interface
        slabs are at least ``min_width`` Å wide."""
        length = profile.length
        widths = np.maximum(np.asarray(profile.interface_widths), min_width)
        return cls(axis, np.asarray(profile.z) / length, np.asarray(profile.F) >= threshold,
                   np.asarray(profile.interfaces) / length, widths / 2 / length)

    def labels(self, positions: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Region code (index into REGIONS) of positions (nf, na, 3) given cells (nf, 3, 3)."""
        frac = fractional_positions(positions, cells)[..., self.axis]
        nearest = np.abs(frac[..., None] - self.grid).argmin(axis=-1)
        codes = np.where(self.crystal[nearest], 2, 0)
        for z0, hw in zip(self.interfaces, self.half_widths):
            d = np.abs((frac - z0 + 0.5) % 1.0 - 0.5)
            codes = np.where(d <= hw, 1, codes)
        return codes


def region_fractions(codes: np.ndarray) -> dict[str, np.ndarray]:
    """Fraction of atoms in each region per frame from codes (nf, na)."""
    return {name: np.mean(codes == k, axis=1) for k, name in enumerate(REGIONS)}
