"""Benchmark: LAMMPS speed of the committed potentials, with their validation force RMSE.

Trains nothing: loads the bundled models (paper-size DeePMD frozen = baseline, the same model
compressed, and any other bundled potential) and runs NVT MD of β-Li3PS4 at 300 K with 1 fs
steps on 768 and 6,144 atoms, on this machine's 2 cores (1 MPI rank × 2 threads and 2 ranks ×
1 thread; the faster is reported). Writes ``potentials_results.md`` beside this script.

    python benchmarks/potentials.py [--steps 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(potential, n_atoms: int, steps: int, ranks: int, threads: int, workdir: Path) -> dict:
    from ionscope.md import Stage, protocols, run_stage
    from ionscope.structures import crystal_supercell

    atoms = crystal_supercell("beta-Li3PS4", target_atoms=n_atoms)
    os.environ.update(OMP_NUM_THREADS=str(threads), DP_INTRA_OP_PARALLELISM_THREADS=str(threads),
                      DP_INTER_OP_PARALLELISM_THREADS="1")
    stage = Stage(protocols.nvt(300, steps / 1000.0), timestep_fs=1.0, dump_every_ps=1e6,
                  thermo_every_ps=steps / 1000.0, restart_every_ps=1e6, seed=1)
    start = time.perf_counter()
    res = run_stage(workdir / f"{potential.name}-{n_atoms}-{ranks}x{threads}", stage, potential,
                    atoms, mpi_ranks=ranks, progress=False)
    wall = time.perf_counter() - start
    loop = _loop_time(res.directory / "log.lammps") or wall
    return {"atoms": len(atoms), "ranks": ranks, "threads": threads, "loop_seconds": loop,
            "ns_per_day": steps * 1e-6 / loop * 86400, "katom_step_s": len(atoms) * steps / loop / 1e3}


def _loop_time(log: Path) -> float | None:
    for line in reversed(log.read_text().splitlines()):
        if line.startswith("Loop time of"):
            return float(line.split()[3])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[768, 6144])
    args = parser.parse_args()
    from ionscope.potential import bundled_potential
    from ionscope.potential.bundled import available_models, model_card

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in available_models():
            card = model_card(name)
            kind = card.get("kind", "deepmd")
            variants = [(bundled_potential(name), "frozen" if kind == "deepmd" else kind)]
            if kind == "deepmd":
                variants.append((bundled_potential(name, compressed=True), "compressed"))
            for potential, variant in variants:
                for n in args.sizes:
                    steps = args.steps if n <= 1000 else max(20, args.steps // 8)
                    best = max((measure(potential, n, steps, r, t, Path(tmp))
                                for r, t in ((1, 2), (2, 1))), key=lambda m: m["ns_per_day"])
                    best.update(model=name, variant=variant,
                                force_rmse=card["validation"]["overall"]["force_rmse_meV_A"])
                    rows.append(best)
                    print(json.dumps(best), flush=True)
    baseline = {r["atoms"]: r["ns_per_day"] for r in rows if r["variant"] == "frozen"
                and r["model"] == "deepmd-paper"}
    lines = ["# Potential speed in LAMMPS", "",
             f"Command: `python benchmarks/potentials.py --steps {args.steps}`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, no GPU. β-Li3PS4 supercells, "
             "NVT 300 K, 1 fs steps; LAMMPS loop time; best of 1 rank × 2 threads and 2 ranks × 1 "
             "thread. Force RMSE on the held-out validation frames of every system.", "",
             "| potential | variant | atoms | ranks × threads | ns/day | katom-step/s | speed-up | force RMSE (meV/Å) |",
             "|---|---|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        up = r["ns_per_day"] / baseline[r["atoms"]] if r["atoms"] in baseline else float("nan")
        lines.append(f"| {r['model']} | {r['variant']} | {r['atoms']} | {r['ranks']} × {r['threads']} | "
                     f"{r['ns_per_day']:.3g} | {r['katom_step_s']:.3g} | {up:.2f} | {r['force_rmse']:.0f} |")
    (HERE / "potentials_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
