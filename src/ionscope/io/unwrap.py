"""Unwrapping periodic coordinates so that they are continuous in time, correct under NPT.

Naive unwrapping ``x + n·L(t)`` multiplies the whole history of boundary crossings by the
*current* box and adds box fluctuations to the displacement, which inflates diffusion
coefficients from NPT runs. ionscope accumulates displacements instead (the "TOR" scheme of
Bullerjahn, von Bülow & Hummer, J. Chem. Phys. 153, 024116 (2020)):

    u(t+1) = u(t) + [w(t+1) − w(t)] + Δn(t+1) · H(t+1)

where w are wrapped positions, H the cell (rows = box vectors) and Δn the change of the image
flags; without image flags Δn is the minimum-image correction −round(H⁻¹Δw), which assumes no
atom moves more than half a box length between frames.
"""

from __future__ import annotations

import numpy as np

from .frame import Frame


class Unwrapper:
    """Turns a stream of frames into time-continuous positions, one frame at a time."""

    def __init__(self) -> None:
        self._wrapped: np.ndarray | None = None
        self._image: np.ndarray | None = None
        self._unwrapped: np.ndarray | None = None

    def __call__(self, frame: Frame) -> np.ndarray:
        if frame.unwrapped:
            self._unwrapped = np.array(frame.positions, dtype=float)
            return self._unwrapped
        cell = np.asarray(frame.cell, float)
        wrapped = np.asarray(frame.positions, float)
        image = None if frame.image is None else np.asarray(frame.image, float)
        if self._unwrapped is None:
            unwrapped = wrapped + (image @ cell if image is not None else 0.0)
        else:
            delta = wrapped - self._wrapped
            if image is not None and self._image is not None:
                delta = delta + (image - self._image) @ cell
            else:
                frac = delta @ np.linalg.inv(cell)
                delta = (frac - np.round(frac)) @ cell
            unwrapped = self._unwrapped + delta
        self._wrapped, self._image, self._unwrapped = wrapped, image, unwrapped
        return unwrapped


def images_from_unwrapped(positions: np.ndarray, cell: np.ndarray,
                          origin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split unwrapped coordinates (e.g. LAMMPS ``xu``) into wrapped positions and image flags,
    so that they can be re-unwrapped the NPT-correct way."""
    frac = (positions - origin) @ np.linalg.inv(cell)
    image = np.floor(frac)
    wrapped = origin + (frac - image) @ cell
    return wrapped, image.astype(np.int64)
