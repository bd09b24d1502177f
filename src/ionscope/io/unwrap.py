"""Unwrapping periodic coordinates so that they are continuous in time, correct under NPT.

Naive unwrapping ``x + n·L(t)`` multiplies the whole history of boundary crossings by the
*current* box and adds box fluctuations to the displacement, which inflates diffusion
coefficients from NPT runs. ionscope accumulates displacements instead (the "TOR" scheme of
Bullerjahn, von Bülow & Hummer, J. Chem. Phys. 153, 024116 (2020)):

    u(t+1) = u(t) + [w(t+1) − w(t)] + Δn(t+1) · H(t+1)

where w are wrapped positions, H the cell (rows = box vectors) and Δn the change of the image
flags; without image flags Δn is the minimum-image correction −round(H⁻¹Δw), which assumes no
atom moves more than half a box length between frames. Equivalently u(t) = w(t) + o(t) with the
offset o(t) = o(t−1) + Δn(t)·H(t), o(0) = n(0)·H(0): what :func:`tor_offsets` sums for a block of
frames at once. Under a fixed box o(t) = n(t)·H.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frame import Frame


class ImageTracker:
    """Wrapped positions and integer image flags of a stream of frames: the source's flags, the
    split of unwrapped coordinates, or flags counted from minimum-image steps."""

    def __init__(self) -> None:
        self._wrapped: np.ndarray | None = None
        self._image: np.ndarray | None = None

    def __call__(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        cell = np.asarray(frame.cell, float)
        if frame.unwrapped:
            wrapped, image = images_from_unwrapped(np.asarray(frame.positions, float), cell,
                                                   np.asarray(frame.origin, float))
        elif frame.image is not None:
            wrapped, image = np.asarray(frame.positions, float), np.asarray(frame.image, np.int64)
        else:
            wrapped = np.asarray(frame.positions, float)
            if self._wrapped is None:
                image = np.zeros(wrapped.shape, np.int64)
            else:
                frac = (wrapped - self._wrapped) @ np.linalg.inv(cell)
                image = self._image - np.round(frac).astype(np.int64)
        self._wrapped, self._image = wrapped, image
        return wrapped, image


@dataclass
class Carry:
    """Where the TOR sum of :func:`tor_offsets` stands after a block: image flags and offsets
    (na, 3) of its last frame."""

    image: np.ndarray
    offset: np.ndarray


def tor_offsets(image: np.ndarray, cells: np.ndarray,
                carry: Carry | None = None) -> tuple[np.ndarray, Carry]:
    """The offsets o (nf, na, 3) that make wrapped positions w of consecutive frames
    time-continuous, u = w + o, summed as o(t) = o(t−1) + Δn(t)·H(t) from ``carry`` (the previous
    block's last frame), or from o = n·H at the first frame when there is none."""
    image = np.asarray(image, np.int64)
    if carry is None:
        steps, start = np.concatenate([image[:1], np.diff(image, axis=0)]), 0.0
    else:
        steps, start = np.diff(image, axis=0, prepend=carry.image[None]), carry.offset
    offset = start + np.cumsum(np.einsum("fai,fij->faj", steps, np.asarray(cells, float)), axis=0)
    return offset, Carry(image[-1], offset[-1])


class Unwrapper:
    """Turns a stream of frames into time-continuous positions, one frame at a time."""

    def __init__(self) -> None:
        self._images = ImageTracker()
        self._carry: Carry | None = None

    def __call__(self, frame: Frame) -> np.ndarray:
        if frame.unwrapped:         # already continuous (ionscope's earlier, unwrapped H5MD layout)
            return np.array(frame.positions, dtype=float)
        wrapped, image = self._images(frame)
        offset, self._carry = tor_offsets(image[None], np.asarray(frame.cell, float)[None],
                                          self._carry)
        return wrapped + offset[0]


def images_from_unwrapped(positions: np.ndarray, cell: np.ndarray,
                          origin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split unwrapped coordinates (e.g. LAMMPS ``xu``) into wrapped positions and image flags,
    so that they can be re-unwrapped the NPT-correct way."""
    frac = (positions - origin) @ np.linalg.inv(cell)
    image = np.floor(frac)
    wrapped = origin + (frac - image) @ cell
    return wrapped, image.astype(np.int64)
