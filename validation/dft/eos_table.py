"""Equation-of-state table of a labelled volume series (docs/dft.md).

    python validation/dft/eos_table.py src/ionscope/data/dft/eos-beta-Li3PS4 [V_REF_PER_ATOM]

Rows by volume: V / V_ref (V_ref: the series' middle frame unless given, Å³/atom), energy
(eV/atom), the diagonal stress and its mean (GPa, positive = the cell wants to expand), and the
volume of zero mean pressure by linear interpolation between the bracketing frames.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ionscope.dft.cp2k import EV_PER_A3_IN_GPA
from ionscope.io.deepmd_npy import load_system


def eos_table(system: Path, v_ref: float | None = None) -> tuple[str, float]:
    data = load_system(system)
    n = len(data["types"])
    volume = np.abs(np.linalg.det(data["box"].reshape(-1, 3, 3)))
    order = np.argsort(volume)
    volume = volume[order]
    energy = data["energy"][order] / n
    virial = data["virial"].reshape(-1, 3, 3)[order]
    stress = np.array([np.diag(v) / vol * EV_PER_A3_IN_GPA for v, vol in zip(virial, volume)])
    ref = v_ref * n if v_ref else volume[len(volume) // 2]
    lines = ["| V / V_ref | E (eV/atom) | P_xx / P_yy / P_zz (GPa) | mean (GPa) |",
             "|---|---|---|---|"]
    for v, e, p in zip(volume, energy, stress):
        lines.append(f"| {v / ref:.3f} | {e:.4f} | {' / '.join(f'{x:.2f}' for x in p)} | "
                     f"{p.mean():.2f} |")
    mean = stress.mean(axis=1)
    crossing = np.flatnonzero(np.diff(np.sign(mean)) != 0)
    v0 = float("nan")
    if len(crossing):
        i = crossing[0]
        v0 = float(np.interp(0.0, [mean[i + 1], mean[i]], [volume[i + 1], volume[i]]) / ref)
    return "\n".join(lines), v0


if __name__ == "__main__":
    table, v0 = eos_table(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else None)
    print(table)
    print(f"zero mean pressure at V / V_ref = {v0:.3f}")
