"""Benchmark: radial-structure-function features of 10,000 Li with a 10 Å cutoff.

β-Li3PS4 7×10×12 supercell (10,080 Li among 26,880 atoms), three neighbour species,
dr = 0.2 Å (50 radii per species, 150 features per Li). Reports wall time and peak memory
(max RSS) of the feature computation in its own process. Writes ``softness_results.md``.

    python benchmarks/softness.py
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from _common import peak_rss_mb

HERE = Path(__file__).resolve().parent



def child(chunk_pairs: int) -> dict:
    import numpy as np

    from ionscope.analysis.softness import RadialFeatures
    from ionscope.structures import crystal_supercell

    atoms = crystal_supercell("beta-Li3PS4", repeat=(7, 10, 12))
    atoms.rattle(0.2, seed=1)
    feats = RadialFeatures(r_cutoff=10.0, dr=0.2, chunk_pairs=chunk_pairs)
    start = time.perf_counter()
    X = feats.compute(atoms)
    elapsed = time.perf_counter() - start
    return {"atoms": len(atoms), "li": int(np.sum(atoms.symbols == "Li")), "features": X.shape[1],
            "seconds": elapsed, "chunk_pairs": chunk_pairs,
            "max_rss_mb": peak_rss_mb()}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
        return
    rows = []
    for chunk in (200_000, 1_000_000, 4_000_000):
        out = subprocess.run([sys.executable, __file__, "--child", str(chunk)], capture_output=True,
                             text=True, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    lines = ["# Softness feature benchmark", "", "Command: `python benchmarks/softness.py`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, one thread. "
             f"{rows[0]['li']} Li in {rows[0]['atoms']} atoms, R_cutoff = 10 Å, dr = 0.2 Å, "
             f"{rows[0]['features']} features per Li. `chunk_pairs` bounds the work array.", "",
             "| chunk_pairs | time (s) | peak RSS (MB) |", "|---:|---:|---:|"]
    lines += [f"| {r['chunk_pairs']:,} | {r['seconds']:.1f} | {r['max_rss_mb']:.0f} |" for r in rows]
    (HERE / "softness_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
