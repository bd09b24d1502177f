"""Γ-only labels against their relabels with k-points (lips-pbe-d3-12A), system by system.

    python validation/dft/compare_sampling.py GAMMA_ROOT RELABEL_ROOT

For every system present in both roots (same frames, same order): RMS differences of energy
(meV/atom), forces (meV/Å) and the mean diagonal stress (GPa), and the k-grid of the relabel.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ionscope.dft import read_labels
from ionscope.dft.cp2k import EV_PER_A3_IN_GPA
from ionscope.io.deepmd_npy import load_system


def load(system: Path):
    """Energy per atom, forces, virials, volumes and coordinates of a labelled system."""
    data = load_system(system)
    n = len(data["types"])
    box = data["box"].reshape(-1, 3, 3)
    return (data["energy"] / n, data["force"].reshape(len(box), n, 3),
            data["virial"].reshape(-1, 3, 3), np.abs(np.linalg.det(box)), data["coord"])


def main(gamma_root: str, relabel_root: str) -> None:
    print("| system | frames | k-grid | ΔE RMS (meV/atom) | ΔF RMS (meV/Å) | ΔP_xx / P_yy / P_zz RMS (GPa) |")
    print("|---|---:|---|---:|---:|---|")
    for relabel in sorted(p.parent for p in Path(relabel_root).glob("*/type.raw")):
        gamma = next((p.parent for p in Path(gamma_root).rglob(f"{relabel.name}/type.raw")), None)
        if gamma is None:
            continue
        eg, fg, vg, vol, xg = load(gamma)
        ek, fk, vk, _, xk = load(relabel)
        if xg.shape != xk.shape or not np.allclose(xg, xk, atol=1e-4):
            print(f"| {relabel.name} | frames differ | | | | |")
            continue
        grid = read_labels(relabel)["parameters"].get("kpoint_grid_frame_0")
        dp = np.sqrt(np.mean(np.array([np.diag(a - b) / v * EV_PER_A3_IN_GPA
                                       for a, b, v in zip(vk, vg, vol)]) ** 2, axis=0))
        print(f"| {relabel.name} | {len(eg)} | {'×'.join(map(str, grid or []))} | "
              f"{np.sqrt(np.mean((ek - eg) ** 2)) * 1e3:.1f} | "
              f"{np.sqrt(np.mean((fk - fg) ** 2)) * 1e3:.0f} | "
              f"{' / '.join(f'{x:.2f}' for x in dp)} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
