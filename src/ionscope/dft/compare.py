"""Which level of theory does stored data carry? Compare it with fresh CP2K labels of its frames.

Given frames of a stored system relabelled by ionscope at PBE (``lips-pbe``), the stored labels
are PBE when they equal the fresh ones, and PBE-D3 when they equal fresh + analytic D3
(:func:`ionscope.dft.d3.d3_terms`); the distance to both is the evidence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.deepmd_npy import load_system
from .cp2k import EV_PER_A3_IN_GPA
from .d3 import d3_terms
from .label import read_labels


@dataclass
class LevelEvidence:
    """Distances of stored labels from fresh PBE and from fresh PBE + D3 (per frame, averaged)."""

    system: str
    frames: int
    atoms: int
    energy_vs_pbe: float        # meV/atom, mean |stored − PBE|
    energy_vs_pbe_d3: float     # meV/atom
    force_vs_pbe: float         # meV/Å, RMS of stored − PBE
    force_vs_pbe_d3: float      # meV/Å
    stress_vs_pbe: float        # GPa, max |stored − PBE| over components
    stress_vs_pbe_d3: float     # GPa

    @property
    def level(self) -> str:
        """The level the stored labels carry: the nearer of the two in forces."""
        return "PBE" if self.force_vs_pbe < self.force_vs_pbe_d3 else "PBE-D3(0)"


def level_evidence(stored: str | os.PathLike, relabelled: str | os.PathLike) -> LevelEvidence:
    """Compare a stored DeePMD npy system with ionscope's PBE relabelling of some of its frames
    (``relabelled`` made by ``ionscope dft label STORED --preset lips-pbe``)."""
    stored, relabelled = Path(stored), Path(relabelled)
    meta = read_labels(relabelled)
    if meta["level_of_theory"] != "PBE":
        raise ValueError(f"{relabelled}: relabel at PBE (lips-pbe), not {meta['level_of_theory']}")
    indices = [int(f["source"].rsplit("#", 1)[1].split()[0]) for f in meta["frames"]]
    ref, pbe = load_system(stored), load_system(relabelled)
    symbols = [ref["type_map"][t] for t in ref["types"]]
    rows = {"e": [], "e3": [], "f": [], "f3": [], "s": [], "s3": []}
    for j, k in enumerate(indices):
        coord, box = ref["coord"][k].reshape(-1, 3), ref["box"][k].reshape(3, 3)
        if not np.allclose(coord, pbe["coord"][j].reshape(-1, 3), atol=1e-4):
            raise ValueError(f"{relabelled}: frame {j} is not frame {k} of {stored}")
        d3 = d3_terms(symbols, coord, box)
        n, volume = len(symbols), abs(np.linalg.det(box))
        e, f, v = (ref[x][k] for x in ("energy", "force", "virial"))
        e_pbe, f_pbe, v_pbe = (pbe[x][j] for x in ("energy", "force", "virial"))
        for key, shift in (("", 0.0), ("3", 1.0)):
            rows["e" + key].append(abs(e - e_pbe - shift * d3.energy) / n * 1000)
            rows["f" + key].append(np.mean((f - f_pbe - shift * d3.forces.ravel()) ** 2))
            rows["s" + key].append(np.abs(v - v_pbe - shift * d3.virial.ravel()).max()
                                   / volume * EV_PER_A3_IN_GPA)
    return LevelEvidence(system=stored.name, frames=len(indices), atoms=len(symbols),
                         energy_vs_pbe=float(np.mean(rows["e"])),
                         energy_vs_pbe_d3=float(np.mean(rows["e3"])),
                         force_vs_pbe=float(np.sqrt(np.mean(rows["f"])) * 1000),
                         force_vs_pbe_d3=float(np.sqrt(np.mean(rows["f3"])) * 1000),
                         stress_vs_pbe=float(np.max(rows["s"])),
                         stress_vs_pbe_d3=float(np.max(rows["s3"])))
