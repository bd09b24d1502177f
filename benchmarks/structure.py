"""Benchmark: partial g(r) and Steinhardt q6/q̄6 on a 10,000-atom, 100-frame trajectory,
ionscope against freud and MDAnalysis in the same run.

Every tool runs in its own subprocess on the same in-memory frames (no file I/O is timed), so
peak memory (max RSS) is per tool. Writes ``structure_results.md`` beside this script.

    python benchmarks/structure.py [--frames 100] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from _common import peak_rss_mb

import numpy as np

HERE = Path(__file__).resolve().parent

PAIRS = [("Li", "Li"), ("Li", "P"), ("Li", "S"), ("P", "P"), ("P", "S"), ("S", "S")]
R_MAX, BINS, Q_RCUT = 8.0, 200, 5.0


def make_frames(n_frames: int, seed: int = 0):
    """β-Li3PS4 5×7×9 supercell (10,080 atoms) with 0.3 Å thermal noise per frame."""
    from ionscope.data import crystal

    base = crystal("beta-Li3PS4").repeat((5, 7, 9))
    rng = np.random.default_rng(seed)
    positions = base.positions[None] + rng.normal(0, 0.3, (n_frames, len(base), 3))
    return np.array(base.get_chemical_symbols()), positions, base.cell.array


def run_tool(tool: str, task: str, n_frames: int, threads: int) -> dict:
    symbols, positions, cell = make_frames(n_frames)
    start = time.perf_counter()
    if tool == "ionscope":
        from ionscope.analysis.structure import RDF, Steinhardt

        for k in range(n_frames):
            frame = (symbols, positions[k], cell)
            if task == "rdf":
                if k == 0:
                    rdf = RDF(r_max=R_MAX, bins=BINS, pairs=PAIRS)
                rdf.compute(frame, reset=k == 0)
            else:
                Steinhardt(l=6, r_cut=Q_RCUT, average=True).compute(frame)
    elif tool == "freud":
        import freud

        freud.parallel.set_num_threads(threads)
        box = freud.box.Box.from_matrix(cell.T)
        masks = {s: symbols == s for s in ("Li", "P", "S")}
        rdfs = {p: freud.density.RDF(bins=BINS, r_max=R_MAX) for p in PAIRS}
        ste = freud.order.Steinhardt(6, average=True)
        for k in range(n_frames):
            pts = box.wrap(positions[k] - 0.5 * cell.sum(0))
            if task == "rdf":
                for (a, b), rdf in rdfs.items():
                    rdf.compute((box, pts[masks[b]]), query_points=None if a == b else pts[masks[a]],
                                reset=False)
            else:
                ste.compute((box, pts), neighbors={"r_max": Q_RCUT, "exclude_ii": True})
    elif tool == "MDAnalysis":
        import MDAnalysis as mda
        from MDAnalysis.analysis.rdf import InterRDF

        u = mda.Universe.empty(len(symbols), trajectory=True)
        u.add_TopologyAttr("type", symbols)
        from MDAnalysis.coordinates.memory import MemoryReader

        dims = np.array([*np.diag(cell), 90.0, 90.0, 90.0])
        u.load_new(positions.astype(np.float32), format=MemoryReader,
                   dimensions=np.tile(dims, (n_frames, 1)))
        for a, b in PAIRS:
            ga, gb = u.select_atoms(f"type {a}"), u.select_atoms(f"type {b}")
            InterRDF(ga, gb, nbins=BINS, range=(0.0, R_MAX),
                     exclusion_block=(1, 1) if a == b else None).run()
    elapsed = time.perf_counter() - start
    return {"tool": tool, "task": task, "seconds": elapsed,
            "max_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="threads for freud (TBB)")
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "TASK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_tool(*args.child, args.frames, args.threads)))
        return
    runs = [("ionscope", "rdf"), ("freud", "rdf"), ("MDAnalysis", "rdf"),
            ("ionscope", "steinhardt"), ("freud", "steinhardt")]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    results = []
    for tool, task in runs:
        out = subprocess.run([sys.executable, __file__, "--frames", str(args.frames), "--threads",
                              str(args.threads), "--child", tool, task], env=env,
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(results[-1], flush=True)
    lines = [f"# Structure benchmark: 10,080 atoms × {args.frames} frames",
             "", f"Command: `python benchmarks/structure.py --frames {args.frames} --threads "
             f"{args.threads}`", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
             f"freud threads = {args.threads}; numpy/scipy single-threaded (OMP_NUM_THREADS="
             f"{args.threads}).", "",
             f"g(r): six partial pairs, r_max = {R_MAX} Å, {BINS} bins. Steinhardt: q6 and "
             f"averaged q̄6 of all atoms, r_cut = {Q_RCUT} Å. Peak memory is the max RSS of the "
             "tool's own process (it includes the shared 240 MB of input frames).", "",
             "| task | tool | time (s) | time / ionscope | peak RSS (MB) |", "|---|---|---:|---:|---:|"]
    for task in ("rdf", "steinhardt"):
        ours = next(r for r in results if r["tool"] == "ionscope" and r["task"] == task)
        for r in (r for r in results if r["task"] == task):
            lines.append(f"| {task} | {r['tool']} | {r['seconds']:.1f} | "
                         f"{r['seconds'] / ours['seconds']:.2f} | {r['max_rss_mb']:.0f} |")
    (HERE / "structure_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
