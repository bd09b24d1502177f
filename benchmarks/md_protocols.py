"""Benchmark: ns/day of each MD protocol of ionscope.md on this machine, bundled potential.

768-atom β-Li3PS4 (glass-ceramic: 1×2×… supercell with half the atoms frozen), a short piece of
every protocol (the cost per step does not depend on its length), 0.5 fs steps as in the
papers, compressed DeePMD model, 1 MPI rank × 2 threads. Writes ``md_protocols_results.md``.

    python benchmarks/md_protocols.py [--steps 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    from ionscope.md import Stage, protocols, run_stage
    from ionscope.potential import bundled_potential
    from ionscope.structures import crystal_supercell, glass_ceramic_cell

    os.environ.update(OMP_NUM_THREADS="2", DP_INTRA_OP_PARALLELISM_THREADS="2",
                      DP_INTER_OP_PARALLELISM_THREADS="1")
    potential = bundled_potential(compressed=True)
    ps = args.steps * 0.5 / 1000
    crystal = crystal_supercell("beta-Li3PS4", target_atoms=768)
    cases = {
        "NVT 300 K": (protocols.nvt(300, ps), crystal),
        "NPT 300 K, 1 bar": (protocols.npt(300, ps), crystal),
        "melt-quench (NPT ramp)": ([dict(s, ps=ps) for s in protocols.melt_quench()[1:2]], crystal),
        "glass-ceramic (NVT, half frozen)": ([dict(s, ps=ps) for s in protocols.glass_ceramic()[:1]],
                                             glass_ceramic_cell("beta-Li3PS4", 0.5, repeat=(2, 2, 3))),
        "annealing (NPT 600 K)": (protocols.anneal(600, ps), crystal),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, (segments, atoms)) in enumerate(cases.items()):
            stage = Stage(segments, timestep_fs=0.5, dump_every_ps=ps, thermo_every_ps=ps,
                          restart_every_ps=ps, seed=1)
            res = run_stage(Path(tmp) / f"case{k}", stage, potential, atoms, progress=False)
            loop = next(float(line.split()[3]) for line in
                        reversed((res.directory / "log.lammps").read_text().splitlines())
                        if line.startswith("Loop time of"))
            rows.append((name, len(atoms), args.steps * 0.5e-6 / loop * 86400))
            print(rows[-1], flush=True)
    lines = ["# MD protocol speed", "", f"Command: `python benchmarks/md_protocols.py --steps {args.steps}`",
             "", f"Machine: {platform.machine()}, {os.cpu_count()} cores, no GPU; potential "
             f"`{potential.name}` (bundled DeePMD, compressed); 0.5 fs steps; 1 rank × 2 threads; "
             "LAMMPS loop time of the last segment.", "",
             "| protocol | atoms | ns/day |", "|---|---:|---:|"]
    lines += [f"| {n} | {a} | {r:.3g} |" for n, a, r in rows]
    (HERE / "md_protocols_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
