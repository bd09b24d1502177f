"""Benchmark: LAMMPS speed of compressed DeePMD models by network size, beside pod-fast.

Speed does not depend on how long a network was trained, so each size is trained for a few
hundred steps only (on two curated systems, with DeePMD's neighbour statistics so that
``dp compress`` needs no pass over the data), frozen, compressed, and run as NVT MD of 768-atom
β-Li3PS4 at 300 K (1 fs) on one MPI rank × one thread, with pod-fast in the same run. The
question it answers: which DeePMD size could meet issue #14's ≥ 5 ns/day (768 atoms, 2 cores)?
Writes ``deepmd_sizes_results.md`` beside this script.

    python benchmarks/deepmd_sizes.py --data runs/curated-pbe-d3 [--steps 300]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import tempfile
from pathlib import Path

from potentials import measure

HERE = Path(__file__).resolve().parent

SIZES = {   # name: (descriptor, fitting net); "paper" and "small" are ionscope's presets
    "paper": None,
    "small": None,
    "lean": ({"type": "se_e2_a", "rcut": 5.0, "rcut_smth": 0.5, "sel": [44, 24, 32],
              "neuron": [8, 16, 32], "axis_neuron": 4, "resnet_dt": False},
             {"neuron": [64, 64, 64], "resnet_dt": True}),
    "lean-4A": ({"type": "se_e2_a", "rcut": 4.0, "rcut_smth": 0.5, "sel": [24, 16, 16],
                 "neuron": [8, 16, 32], "axis_neuron": 4, "resnet_dt": False},
                {"neuron": [32, 32], "resnet_dt": True}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="curated DeePMD npy data folder")
    parser.add_argument("--steps", type=int, default=300, help="training steps per size")
    parser.add_argument("--md-steps", type=int, default=100)
    args = parser.parse_args()
    from ionscope.potential import bundled_potential, deepmd_potential
    from ionscope.potential import deepmd as dp

    systems = [Path(args.data).resolve() / s for s in ("beta-Li3PS4", "glass-iter0-000")]
    os.environ.update(OMP_NUM_THREADS="1", DP_INTRA_OP_PARALLELISM_THREADS="1",
                      DP_INTER_OP_PARALLELISM_THREADS="1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, model in SIZES.items():
            config = dp.deepmd_input(systems, systems[:1], preset=name if model is None else
                                     "small", steps=args.steps, save_freq=args.steps)
            if model is not None:
                config["model"]["descriptor"] = copy.deepcopy(model[0]) | {"seed": 1}
                config["model"]["fitting_net"] = copy.deepcopy(model[1]) | {"seed": 1}
            work = tmp / name
            dp.train(work, config)
            frozen = dp.freeze(work, tmp / f"{name}.pth")
            compressed = dp.compress(frozen, tmp / f"{name}-compressed.pth")
            potential = deepmd_potential(compressed, name=f"deepmd-{name}")
            row = measure(potential, 768, args.md_steps, 1, 1, tmp / "md")
            row.update(model=f"DeePMD {name}, compressed", descriptor=config["model"]["descriptor"],
                       fitting=config["model"]["fitting_net"]["neuron"])
            rows.append(row)
            print(json.dumps(row), flush=True)
        row = measure(bundled_potential("pod-fast"), 768, args.md_steps, 1, 1, tmp / "md")
        row.update(model="pod-fast (POD 2+3-body, 4 Å)", descriptor=None, fitting=None)
        rows.append(row)
    pod = rows[-1]["ns_per_day"]
    lines = ["# DeePMD network size vs LAMMPS speed", "",
             f"Command: `python benchmarks/deepmd_sizes.py --data runs/curated-pbe-d3 --steps "
             f"{args.steps}`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, no GPU. NVT 300 K, 768-atom "
             "β-Li3PS4, 1 fs, LAMMPS loop time on **1 MPI rank × 1 thread** (the other core busy "
             "with CP2K, as in `pod_variants_results.md`: compare within the table). Models "
             "compressed with `dp compress` (step 0.01).", "",
             "| model | rcut (Å) | embedding | axis | fitting | ns/day | katom-step/s | ÷ pod-fast |",
             "|---|---:|---|---:|---|---:|---:|---:|"]
    for r in rows:
        d = r["descriptor"] or {}
        lines.append(f"| {r['model']} | {d.get('rcut', 4.0)} | {d.get('neuron', '—')} | "
                     f"{d.get('axis_neuron', '—')} | {r['fitting'] or '—'} | "
                     f"{r['ns_per_day']:.3g} | {r['katom_step_s']:.3g} | "
                     f"{r['ns_per_day'] / pod:.3f} |")
    (HERE / "deepmd_sizes_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
