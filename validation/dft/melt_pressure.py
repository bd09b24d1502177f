"""The pressure of the Li3PS4 liquid, CP2K against the potentials, frame by frame: what sets the
density of the study's 1500 K melt at 1 bar.

    python validation/dft/melt_pressure.py validation/dft/melt-labels > validation/dft/melt-labels/pressure.md

P = tr(W)/(3V) + N k_B T/V: the configurational part from each label's virial W (CP2K, or the
potential on the same frame) and the ideal-gas part of the MD temperature T at which
`explore_melt.py` dumped the frame (1500 K for 50 ps, then 10 K/ps down; frames every 2 ps).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

from ionscope.io.deepmd_npy import load_system
from ionscope.potential import bundled_potential
from ionscope.potential.lammps_eval import evaluate_lammps

EV_PER_A3_IN_GPA = 160.21766208
KB_EV = 8.617333262e-5
AMU_PER_A3_IN_G_CM3 = 1.66053906660
MASS = {"Li": 6.94, "P": 30.973762, "S": 32.06}


def md_temperature(time_ps: float, hold_ps: float = 50.0, rate: float = 10.0, t_low: float = 500.0):
    return max(t_low, 1500.0 - rate * max(0.0, time_ps - hold_ps))


def main(root: Path) -> None:
    systems = sorted(p for p in root.iterdir() if (p / "labels.json").exists())
    models = {name: evaluate_lammps(bundled_potential(name), systems) for name in ("nnsnap", "pod-fast")}
    print("| frame | ρ (g/cm³) | T (K) | P CP2K (GPa) | P nnsnap − CP2K | P pod-fast − CP2K |")
    print("|---|---:|---:|---:|---:|---:|")
    for system in systems:
        data, meta = load_system(system), json.loads((system / "labels.json").read_text())
        symbols = [data["type_map"][t] for t in data["types"]]
        t_low = 900.0 if re.search(r"v1[24]\d", system.name) else 500.0
        for j, row in enumerate(meta["frames"]):
            box = data["box"][j].reshape(3, 3)
            volume = abs(np.linalg.det(box))
            time = 2.0 * int(row["source"].rsplit("#", 1)[1])
            temperature = md_temperature(time, t_low=t_low)
            kinetic = len(symbols) * KB_EV * temperature / volume * EV_PER_A3_IN_GPA

            def pressure(virial):
                return np.trace(np.asarray(virial).reshape(3, 3)) / (3 * volume) * EV_PER_A3_IN_GPA + kinetic

            dft = pressure(data["virial"][j])
            diffs = []
            for result in models.values():
                parity = result["systems"][system.name]["parity"]
                predicted = np.asarray(parity["virial_pred"], float).reshape(-1, 9)[j]
                diffs.append(pressure(predicted) - dft)
            density = sum(MASS[s] for s in symbols) / volume * AMU_PER_A3_IN_G_CM3
            print(f"| {system.name} #{row['index']} ({time:.0f} ps) | {density:.2f} | {temperature:.0f} | "
                  f"{dft:+.2f} | {diffs[0]:+.2f} | {diffs[1]:+.2f} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
