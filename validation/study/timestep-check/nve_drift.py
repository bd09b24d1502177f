"""Energy conservation of the default potential at 1 and 2 fs: 192-atom β-Li3PS4, 2 ps of NVT
at T, then 10 ps of NVE; the drift (slope of the total energy) and its spread, per atom.
    python validation/study/timestep-check/nve_drift.py runs/dt-test
"""
import sys

import numpy as np

from ionscope.md import Stage, protocols, run_stage
from ionscope.potential import bundled_potential
from ionscope.structures import crystal_supercell

if __name__ == "__main__":
    work = sys.argv[1] if len(sys.argv) > 1 else "runs/dt-test"
    potential = bundled_potential("nnsnap")
    atoms = crystal_supercell("beta-Li3PS4", target_atoms=192)
    for T, dt in ((1000, 1.0), (1000, 2.0), (1500, 2.0)):
        stage = Stage(protocols.nvt(T, 2.0) + protocols.nve(10.0), timestep_fs=dt, seed=3,
                      dump_every_ps=1.0, thermo_every_ps=0.05)
        res = run_stage(f"{work}/T{T}-dt{dt}", stage, potential, atoms, progress=False)
        t, e = res.thermo["time"], res.thermo["toteng"]
        nve = t > 2.0 + 1e-9
        drift = np.polyfit(t[nve], e[nve], 1)[0] / len(atoms) * 1e3
        print(f"T {T} K, dt {dt} fs: drift {drift:+.4f} meV/atom/ps, spread "
              f"{np.ptp(e[nve]) / len(atoms) * 1e3:.3f} meV/atom, <T> {res.thermo['temp'][nve].mean():.0f} K")
