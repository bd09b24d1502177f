"""Benchmark: MSD + α₂ (2,000 Li × 20,000 frames) and van Hove G_s/G_d (1,000 Li × 5,000
frames), ionscope against MDAnalysis EinsteinMSD (FFT), pymatgen-analysis-diffusion and kinisi.

Each tool runs in its own subprocess and reports wall time and peak memory (max RSS). ionscope
streams from an H5MD file (float32) block by block; the peers get the positions in memory as
their APIs require. Synthetic random-walk trajectories (Li in a static S framework) stand in
for MD: the cost of these analyses does not depend on the physics. Writes
``dynamics_results.md`` beside this script.

    python benchmarks/dynamics.py [--li 2000 --frames 20000 --vh-li 1000 --vh-frames 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb

import numpy as np

HERE = Path(__file__).resolve().parent

DT = 0.01          # ps between frames
CELL = 60.0        # Å
LAGS_VH = [0.1, 1.0, 10.0]   # ps


def make_trajectory(path: Path, n_li: int, n_frames: int, seed: int = 0) -> None:
    """Random walk (D = 0.1 Å²/ps) written block by block to H5MD and to a float32 .npy."""
    from ionscope.io import H5MDWriter

    rng = np.random.default_rng(seed)
    n_s = max(1, n_li // 4)
    framework = rng.uniform(0, CELL, (n_s, 3))
    current = rng.uniform(0, CELL, (n_li, 3))
    npy = np.lib.format.open_memmap(path.with_suffix(".npy"), mode="w+", dtype=np.float32,
                                    shape=(n_frames, n_li + n_s, 3))
    block = 1000
    with H5MDWriter(path, ["Li"] * n_li + ["S"] * n_s, precision="float32") as writer:
        for first in range(0, n_frames, block):
            nf = min(block, n_frames - first)
            steps = rng.normal(0, np.sqrt(2 * 0.1 * DT), (nf, n_li, 3))
            li = current + np.cumsum(steps, axis=0)
            current = li[-1]
            pos = np.concatenate([li, np.broadcast_to(framework, (nf, n_s, 3))], axis=1)
            writer.append(pos, np.tile(np.eye(3) * CELL, (nf, 1, 1)), range(first, first + nf),
                          (np.arange(first, first + nf)) * DT)
            npy[first:first + nf] = pos
    npy.flush()


def _universe(npy: Path):
    import MDAnalysis as mda
    from MDAnalysis.coordinates.memory import MemoryReader

    pos = np.load(npy)
    n_li = int(round(pos.shape[1] / 1.25))
    u = mda.Universe.empty(pos.shape[1], trajectory=True)
    u.add_TopologyAttr("type", ["Li"] * n_li + ["S"] * (pos.shape[1] - n_li))
    u.load_new(pos, format=MemoryReader, dt=DT,
               dimensions=np.tile([CELL, CELL, CELL, 90, 90, 90], (len(pos), 1)))
    return u, pos, n_li


def _pymatgen(pos: np.ndarray, n_li: int):
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.core import Lattice, Structure

    species = ["Li"] * n_li + ["S"] * (pos.shape[1] - n_li)
    structure = Structure(Lattice.cubic(CELL), species, pos[0] / CELL)
    disp = np.transpose(pos - pos[0], (1, 0, 2)).astype(np.float64)
    return DiffusionAnalyzer(structure, disp, "Li", 300, time_step=DT * 1000, step_skip=1,
                             smoothed="max")


def run_tool(tool: str, task: str, h5: Path) -> dict:
    npy = h5.with_suffix(".npy")
    start = time.perf_counter()
    note = ""
    if tool == "ionscope":
        from ionscope.analysis.dynamics import MSD, DistinctVanHove, SelfVanHove
        from ionscope.io import open_trajectory

        traj = open_trajectory(h5)
        if task == "msd":
            res = MSD("Li", drift=None, lags="all").run(traj, progress=False).results
            note = f"MSD + α₂ + per-axis MSD, all {len(res.lags)} lags, every origin"
        elif task == "msd-only":
            res = MSD("Li", drift=None, lags="all", non_gaussian=False).run(traj, progress=False).results
            note = f"MSD + per-axis MSD (no α₂), all {len(res.lags)} lags, every origin"
        else:
            SelfVanHove("Li", lag_times=LAGS_VH, r_max=10.0, bins=100).run(traj)
            DistinctVanHove("Li", lag_times=LAGS_VH, r_max=10.0, bins=100, n_origins=20).run(traj)
            note = f"G_s every origin, G_d 20 origins, lags {LAGS_VH} ps"
    elif tool == "MDAnalysis":
        from MDAnalysis.analysis.msd import EinsteinMSD

        u, _, _ = _universe(npy)
        EinsteinMSD(u, select="type Li", msd_type="xyz", fft=True).run()
        note = "MSD only (no α₂), FFT, every origin"
    elif tool == "pymatgen":
        _, pos, n_li = _universe(npy)
        if task == "msd":
            analyzer = _pymatgen(pos, n_li)
            note = f"MSD (smoothed='max'), {len(analyzer.dt)} lags; no α₂"
        else:
            from pymatgen.analysis.diffusion.aimd.van_hove import VanHoveAnalysis

            analyzer = _pymatgen(pos, n_li)
            VanHoveAnalysis(analyzer, avg_nsteps=20, ngrid=101, rmax=10.0,
                            step_skip=int(LAGS_VH[-1] / DT) // 10, species=["Li"],
                            reference_species=["Li"])
            note = "self + distinct, 20 origins, its own time grid"
    elif tool == "kinisi":
        import scipp as sc
        from kinisi.analyze import DiffusionAnalyzer

        u, _, _ = _universe(npy)
        DiffusionAnalyzer.from_universe(u, specie="Li", time_step=sc.scalar(DT, unit="ps"),
                                        step_skip=sc.scalar(1), progress=False)
        note = "MSD and its covariance inputs (from_universe), no α₂"
    elapsed = time.perf_counter() - start
    return {"tool": tool, "task": task, "seconds": elapsed, "note": note,
            "max_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--li", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--vh-li", type=int, default=1000)
    parser.add_argument("--vh-frames", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per tool")
    parser.add_argument("--note", default="", help="conditions of the run, written into the table")
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "TASK", "H5"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_tool(args.child[0], args.child[1], Path(args.child[2]))))
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    results = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        cases = {"msd": (args.li, args.frames, [("ionscope", "msd"), ("ionscope", "msd-only"),
                                                  ("MDAnalysis", "msd"), ("pymatgen", "msd"),
                                                  ("kinisi", "msd")]),
                 "vanhove": (args.vh_li, args.vh_frames, [("ionscope", "vanhove"), ("pymatgen", "vanhove")])}
        for case, (n_li, n_frames, tools) in cases.items():
            h5 = Path(tmp) / f"{case}.h5"
            make_trajectory(h5, n_li, n_frames)
            for tool, task in tools:
                try:
                    out = subprocess.run([sys.executable, __file__, "--child", tool, task, str(h5)],
                                         env=env, capture_output=True, text=True,
                                         timeout=args.timeout)
                    if out.returncode != 0:
                        tail = (out.stderr.strip().splitlines() or ["?"])[-1][:120]
                        row = {"tool": tool, "task": task, "seconds": float("nan"),
                               "max_rss_mb": float("nan"), "note": f"failed: {tail}"}
                    else:
                        row = json.loads(out.stdout.strip().splitlines()[-1])
                except subprocess.TimeoutExpired:
                    row = {"tool": tool, "task": task, "seconds": float("nan"),
                           "max_rss_mb": float("nan"), "note": f"not finished in {args.timeout:.0f} s"}
                row["size"] = f"{n_li} Li × {n_frames} frames"
                row["case"] = case
                results.append(row)
                print(row, flush=True)
    lines = ["# Dynamics benchmark", "",
             f"Command: `python benchmarks/dynamics.py --li {args.li} --frames {args.frames} "
             f"--vh-li {args.vh_li} --vh-frames {args.vh_frames}`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, single-threaded BLAS/FFT. "
             "Peak memory = max RSS of the tool's process. Ratio = tool time / ionscope time (for the MSD, "
             "relative to ionscope's MSD without α₂, the same quantity the peers compute).",
             *([f"Conditions: {args.note}"] if args.note else []), "",
             "| task | size | tool | time (s) | ratio | peak RSS (MB) | what it computed |",
             "|---|---|---|---:|---:|---:|---|"]
    for case, reference in (("msd", "msd-only"), ("vanhove", "vanhove")):
        ours = next(r for r in results if r["tool"] == "ionscope" and r["task"] == reference)
        for r in (r for r in results if r["case"] == case):
            lines.append(f"| {r['task']} | {r['size']} | {r['tool']} | {r['seconds']:.1f} | "
                         f"{r['seconds'] / ours['seconds']:.1f} | {r['max_rss_mb']:.0f} | {r['note']} |")
    (HERE / "dynamics_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
