"""Benchmark: fast LAMMPS potentials fitted to energies, forces and virials — accuracy vs speed.

Splits the curated single-level (PBE-D3) data with the same seeded time-block split as the bundled
models (seed 0, 10 % validation), fits SNAP variants (:mod:`ionscope.potential.linear`: weighted
ridge on every ``--stride``-th training frame, a 4-member bootstrap committee) and evaluates each
on the validation frames through ``pair_style snap`` in LAMMPS (the bundled ``pod-fast`` beside
them on the same frames). Speed: NVT MD of 768-atom β-Li3PS4 at 300 K, 1 fs steps, on ONE MPI rank
× 1 thread (the 2-core machine is shared with other jobs while this runs). Writes
``fast_potentials_results.md`` beside this script.

    python benchmarks/fast_potentials.py --data ../main/runs/curated-pbe-d3 [--stride 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

GLASS = ("glass-iter0-000", "glass-iter0-001", "glass-iter0-002")
CRYSTAL = ("beta-Li3PS4", "gamma-Li3PS4")
#: the configurations studies visit (crystal, glass) count more than 3000 K elements
STUDY_WEIGHTS = {"Li": 0.3, "P": 0.3, "S": 0.3, **{g: 3.0 for g in GLASS},
                 **{c: 2.0 for c in CRYSTAL}}


def variants():
    from ionscope.potential.linear import Snap, Weights

    base = Weights(energy=30.0, force=1.0, virial=3.0)
    w = (0.5, 0.75, 1.0)  # neighbour weights Li, P, S: the density tells the elements apart
    return [
        ("SNAP 2J=6", Snap(twojmax=6), base),
        ("SNAP 2J=6 w", Snap(twojmax=6, weights=w), base),
        ("qSNAP 2J=4 w", Snap(twojmax=4, weights=w, quadratic=True), base),
        ("chemSNAP 2J=4", Snap(twojmax=4, chem=True), base),
        ("SNAP 2J=8 w", Snap(twojmax=8, weights=w), base),
        ("qSNAP 2J=4 w, study weights", Snap(twojmax=4, weights=w, quadratic=True),
         Weights(energy=30.0, force=1.0, virial=3.0, systems=STUDY_WEIGHTS)),
        ("chemSNAP 2J=4, study weights", Snap(twojmax=4, chem=True),
         Weights(energy=30.0, force=1.0, virial=3.0, systems=STUDY_WEIGHTS)),
    ]


def pooled(result: dict, names) -> dict:
    """Frame-weighted RMSE over some systems (force per component, energy/virial per atom)."""
    import numpy as np

    rows = [result["systems"][n] for n in names if n in result["systems"]]
    out = {}
    for key, weight in (("force_rmse_meV_A", lambda r: 3 * r["atoms"] * r["frames"]),
                        ("energy_rmse_meV_atom", lambda r: r["frames"]),
                        ("virial_rmse_meV_atom", lambda r: 9 * r["frames"])):
        w = np.array([weight(r) for r in rows], float)
        out[key] = float(np.sqrt(np.sum(w * np.array([r[key] ** 2 for r in rows])) / w.sum()))
    return out


def summary(result: dict) -> dict:
    return {"all": result["overall"], "glass": pooled(result, GLASS),
            "crystal": pooled(result, CRYSTAL),
            "systems": {k: {kk: vv for kk, vv in v.items() if kk != "parity"}
                        for k, v in result["systems"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(HERE.parents[1] / "main" / "runs" / "curated-pbe-d3"))
    parser.add_argument("--workdir", default=str(HERE.parent / "runs" / "fast-potentials"))
    parser.add_argument("--stride", type=int, default=10)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    args = parser.parse_args()

    from potentials import measure

    from ionscope.potential import bundled_potential
    from ionscope.potential.dataset import split_systems
    from ionscope.potential.lammps_eval import evaluate_lammps
    from ionscope.potential.linear import LinearModel, fit_linear, select_frames

    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    split_dir = work / "split"
    if not (split_dir / "split.json").exists():
        split_systems(Path(args.data).resolve(), split_dir, valid_fraction=0.1, seed=0)
    train = sorted(p for p in (split_dir / "train").iterdir() if p.is_dir())
    valid = sorted(p for p in (split_dir / "valid").iterdir() if p.is_dir())
    selection = select_frames(train, stride=args.stride)
    records_file = work / "records.json"
    records = json.loads(records_file.read_text()) if records_file.exists() else {}

    with tempfile.TemporaryDirectory() as tmp:
        if "pod-fast" not in records:
            pod = bundled_potential("pod-fast")
            started = time.perf_counter()
            result = evaluate_lammps(pod, valid)
            records["pod-fast"] = {"coefficients": 345, "fit": "fitpod, E and F only (bundled)",
                                   "eval_seconds": time.perf_counter() - started,
                                   **summary(result)}
        if "speed" not in records["pod-fast"]:
            records["pod-fast"]["speed"] = measure(bundled_potential("pod-fast"), 768, args.steps,
                                                   1, 1, Path(tmp))
            records_file.write_text(json.dumps(records, indent=1))
            print("pod-fast", json.dumps(records["pod-fast"]["all"]), flush=True)
        for name, snap, weights in variants():
            if args.only and name not in args.only:
                continue
            out = work / "models" / name.replace(" ", "_").replace(",", "").replace("=", "")
            if name not in records:
                model = fit_linear(snap, selection, weights, regularization=1e-8, members=4, seed=0)
                model.save(out)
                started = time.perf_counter()
                result = evaluate_lammps(model.potential(out), valid)
                records[name] = {"coefficients": snap.n_coefficients, "fit": model.info,
                                 "eval_seconds": time.perf_counter() - started, **summary(result)}
            if "speed" not in records[name]:
                potential = LinearModel.load(out).potential(out)
                records[name]["speed"] = measure(potential, 768, args.steps, 1, 1, Path(tmp))
            records_file.write_text(json.dumps(records, indent=1))
            print(name, json.dumps(records[name]["all"]), records[name]["speed"]["ns_per_day"],
                  flush=True)
    write_table(records, args)


def write_table(records: dict, args) -> None:
    from _common import write_results

    lines = ["# Fast potentials: accuracy vs speed", "",
             f"Command: `python benchmarks/fast_potentials.py --stride {args.stride} "
             f"--steps {args.steps}`", "",
             "Data: the curated PBE-D3(0) copy of `../shared/data/lips-dft` (`ionscope potential "
             "curate`), split as the bundled models (seed 0, time blocks, 10 % validation). SNAP "
             f"variants fitted on every {args.stride}th training frame by weighted ridge regression "
             "to energies, forces and virials (`ionscope.potential.linear`; weights per row: "
             "energy/atom ×30, force ×1, virial/atom ×3, ridge λ = 1e-8 on the scaled normal "
             "matrix; 4.5 Å cutoff; `w`: neighbour weights Li 0.5, P 0.75, S 1 instead of 1, 1, 1; "
             "`chem`: explicit multi-element bispectrum; `study weights`: 3000 K elements ×0.3, "
             "crystals ×2, glass ×3), each with a 4-member bootstrap "
             "committee. RMSEs on all validation frames through `pair_style snap` (pod-fast: "
             "`pair_style pod`, fitted by `fitpod` on the uncurated data, E and F only). "
             "Glass = the three `glass-iter0` systems, crystal = β- and γ-Li3PS4. Speed: NVT "
             "300 K, 768-atom β-Li3PS4, 1 fs, LAMMPS loop time on **1 MPI rank × 1 thread** "
             "while other jobs share the 2 cores (so both columns are pessimistic and comparable "
             "only within this table).", "",
             "| potential | coefficients | F all (meV/Å) | F glass | F crystal | E all (meV/atom) "
             "| E glass | V all (meV/atom) | V crystal | ns/day (768 atoms, 1 core) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in records.items():
        a, g, c = r["all"], r["glass"], r["crystal"]
        lines.append(f"| {name} | {r['coefficients']} | {a['force_rmse_meV_A']:.0f} | "
                     f"{g['force_rmse_meV_A']:.0f} | {c['force_rmse_meV_A']:.0f} | "
                     f"{a['energy_rmse_meV_atom']:.1f} | {g['energy_rmse_meV_atom']:.1f} | "
                     f"{a['virial_rmse_meV_atom']:.0f} | {c['virial_rmse_meV_atom']:.0f} | "
                     f"{r['speed']['ns_per_day']:.2f} |")
    lines += ["", "Per system (force RMSE, meV/Å):", "",
              "| system | " + " | ".join(records) + " |",
              "|---|" + "---:|" * len(records)]
    systems = next(iter(records.values()))["systems"]
    for s in systems:
        lines.append(f"| {s} | " + " | ".join(
            f"{records[n]['systems'][s]['force_rmse_meV_A']:.0f}" for n in records) + " |")
    write_results(HERE / "fast_potentials_results.md", lines)


if __name__ == "__main__":
    main()
