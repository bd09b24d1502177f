"""Benchmark: what an explicit D3 term beside the default NN-SNAP costs in speed and buys in
physics (issue #14).

Speed: NVT MD of 768-atom β-Li3PS4 at 300 K, 1 fs, LAMMPS loop time on ``--ranks`` MPI ranks ×
1 thread, for the bundled ``nnsnap`` alone and with LAMMPS' ``pair_style dispersion/d3`` (D3(0),
PBE) overlaid at each cutoff (``Potential.dispersion``), all in the same run: when other jobs
share the cores only the ratios hold. Physics: the part of the D3 energy beyond each cutoff in a
1.85 g/cm³ and a 1.29 g/cm³ frame of the Li3PS4 liquid (CP2K's frames,
``validation/dft/melt-labels``), which a model with that cutoff cannot follow; the D3 energy is
the dftd3 library's (``ionscope.dft.d3_terms``). Writes ``dispersion_results.md`` beside this
script (hand-written findings kept).

    python benchmarks/dispersion.py --ranks 1
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
MAIN = HERE.parent
LIQUID = {1.85: MAIN / "validation/dft/melt-labels/melt64-nvt-1500K",
          1.29: MAIN / "validation/dft/melt-labels/melt64-v144-1500-900K"}
MODEL_CUTOFF = 4.5


def tail(system: Path, cutoff: float) -> float:
    """D3 energy beyond ``cutoff`` Å (meV/atom), first frame of ``system``."""
    from ionscope.dft import d3_terms
    from ionscope.io.deepmd_npy import load_system

    data = load_system(system)
    symbols = [data["type_map"][t] for t in data["types"]]
    pos, cell = data["coord"][0].reshape(-1, 3), data["box"][0].reshape(3, 3)
    whole = d3_terms(symbols, pos, cell).energy
    return (whole - d3_terms(symbols, pos, cell, cutoff=cutoff).energy) / len(symbols) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--ranks", type=int, default=1)
    parser.add_argument("--cutoffs", type=float, nargs="+", default=[8.0, 10.0, 12.0])
    args = parser.parse_args()

    from potentials import measure

    from ionscope.potential import bundled_potential

    base = bundled_potential("nnsnap")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cutoff in [0.0, *args.cutoffs]:
            potential = dataclasses.replace(base, name=f"nnsnap-d3-{cutoff:g}", dispersion=cutoff)
            speed = measure(potential, 768, args.steps, args.ranks, 1, Path(tmp))
            beyond = {rho: tail(system, cutoff or MODEL_CUTOFF) for rho, system in LIQUID.items()}
            rows.append((cutoff, speed, beyond))
            print(cutoff, round(speed["ns_per_day"], 2), beyond, flush=True)
    first = rows[0][1]["ns_per_day"]
    lines = ["# An explicit D3 term beside nnsnap: speed and the dispersion a model cannot see", "",
             f"Command: `python benchmarks/dispersion.py --steps {args.steps} --ranks {args.ranks}`",
             "", "Speed: 768-atom β-Li3PS4, NVT 300 K, 1 fs, LAMMPS loop time on "
             f"{args.ranks} MPI rank(s) × 1 thread, every row in one run. D3 beyond the cutoff: the "
             "D3(0) energy of pairs beyond it (to CP2K's 21 Å), first frame of a 64-atom CP2K "
             "frame of the Li3PS4 liquid at each density; for nnsnap alone, beyond its 4.5 Å.", "",
             "| potential | ns/day | ÷ nnsnap | D3 beyond, 1.85 g/cm³ (meV/atom) | "
             "D3 beyond, 1.29 g/cm³ | difference |",
             "|---|---:|---:|---:|---:|---:|"]
    for cutoff, speed, beyond in rows:
        name = "nnsnap" if not cutoff else f"nnsnap + D3 to {cutoff:g} Å"
        lines.append(f"| {name} | {speed['ns_per_day']:.2f} | {speed['ns_per_day'] / first:.2f} | "
                     f"{beyond[1.85]:.1f} | {beyond[1.29]:.1f} | {beyond[1.29] - beyond[1.85]:+.1f} |")
    from _common import write_results

    write_results(HERE / "dispersion_results.md", lines)


if __name__ == "__main__":
    main()
