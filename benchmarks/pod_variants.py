"""Benchmark: POD variants of higher capacity (four- and five-body descriptors; Nguyen & Rohskopf
2023) on the curated data — accuracy from ``fitpod``'s
own test analysis on the validation split, speed of ``pair_style pod`` in LAMMPS.

Same split as ``fast_potentials.py`` (seed 0, time blocks, 10 % validation); every ``--stride``-th
training frame; energy weight 100, force weight 1 (``fitpod`` fits no virials). Writes
``pod_variants_results.md`` beside this script; results accumulate in ``--workdir``/records.json,
so an interrupted sweep continues.

    python benchmarks/pod_variants.py --data runs/curated-pbe-d3 [--stride 10] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fast_potentials import CRYSTAL, GLASS  # noqa: E402

from ionscope.potential.dataset import split_systems  # noqa: E402
from ionscope.potential.model import pod_potential  # noqa: E402
from ionscope.potential.pod import PRESETS, fit_pod  # noqa: E402

FAST = PRESETS["fast"]
FOUR = {"fourbody_number_radial_basis_functions": 3, "fourbody_angular_degree": 2}
VARIANTS = {
    "fast": FAST,
    "fast + 4-body": FAST | FOUR,
    "LGPS example (5-body, 5 Å)": {"rin": 1.0, "rcut": 5.0, "bessel_polynomial_degree": 8,
                                   "inverse_polynomial_degree": 12,
                                   "twobody_number_radial_basis_functions": 10,
                                   "threebody_number_radial_basis_functions": 6,
                                   "threebody_angular_degree": 3,
                                   "fourbody_number_radial_basis_functions": 4,
                                   "fourbody_angular_degree": 2,
                                   "fivebody_number_radial_basis_functions": 2,
                                   "fivebody_angular_degree": 1},
}


def pooled(errors: dict, sizes: dict, names) -> dict:
    """Frame/atom-weighted RMSE over some validation systems."""
    rows = [(errors[n], sizes[n]) for n in names if n in errors]
    fw = np.array([f * a for _, (f, a) in rows], float)
    ew = np.array([f for _, (f, a) in rows], float)
    return {"force_rmse_meV_A": float(np.sqrt(np.sum(fw * [e["force_rmse_meV_A"] ** 2 for e, _ in rows]) / fw.sum())),
            "energy_rmse_meV_atom": float(np.sqrt(np.sum(ew * [e["energy_rmse_meV_atom"] ** 2 for e, _ in rows]) / ew.sum()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--workdir", default=str(HERE.parent / "runs" / "pod-variants"))
    parser.add_argument("--stride", type=int, default=10)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    from potentials import measure

    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "split" / "split.json").exists():
        split_systems(Path(args.data).resolve(), work / "split", valid_fraction=0.1, seed=0)
    train = sorted(p for p in (work / "split" / "train").iterdir() if p.is_dir())
    valid = sorted(p for p in (work / "split" / "valid").iterdir() if p.is_dir())
    sizes = {v.name: (len(np.load(v / "set.000" / "energy.npy")),
                      len((v / "type.raw").read_text().split())) for v in valid}
    species = (train[0] / "type_map.raw").read_text().split()
    records_file = work / "records.json"
    records = json.loads(records_file.read_text()) if records_file.exists() else {}
    for name, settings in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        out = work / "models" / name.replace(" ", "_").replace(",", "").replace("+", "p")
        if name not in records:
            fit = fit_pod(train, out, species, preset=settings, stride=args.stride,
                          test_systems=valid)
            errors = fit.pop("fitpod_test")
            records[name] = {**fit, "systems": errors, "glass": pooled(errors, sizes, GLASS),
                             "crystal": pooled(errors, sizes, CRYSTAL),
                             "all": pooled(errors, sizes, list(errors))}
            records_file.write_text(json.dumps(records, indent=1))
        if "speed" not in records[name]:
            with tempfile.TemporaryDirectory() as tmp:
                pot = pod_potential(out / "param.pod", out / "coefficients.pod", name=name)
                records[name]["speed"] = measure(pot, 768, args.steps, 1, 1, Path(tmp))
            records_file.write_text(json.dumps(records, indent=1))
        r = records[name]
        print(f"{name}: {r['coefficients']} coefficients, glass {r['glass']['force_rmse_meV_A']:.0f} "
              f"meV/Å, crystal {r['crystal']['force_rmse_meV_A']:.0f}, all "
              f"{r['all']['force_rmse_meV_A']:.0f}; {r['speed']['ns_per_day']:.2f} ns/day", flush=True)
    write_table(records, args)


def write_table(records: dict, args) -> None:
    lines = ["# POD variants: accuracy vs speed", "",
             f"Command: `python benchmarks/pod_variants.py --data runs/curated-pbe-d3 --stride "
             f"{args.stride} --steps {args.steps}`", "",
             "Curated PBE-D3(0) data, split as the bundled models (seed 0, time blocks, 10 % "
             f"validation); `fitpod` on every {args.stride}th training frame (energy ×100, force ×1, "
             "no virials), errors from `fitpod`'s own analysis of all validation frames. Glass = the "
             "three `glass-iter0` systems, crystal = β- and γ-Li3PS4. Speed: NVT 300 K, 768-atom "
             "β-Li3PS4, 1 fs, LAMMPS loop time on 1 MPI rank × 1 thread with other jobs sharing "
             "the 2 cores (comparable within this table only).", "",
             "| variant | coefficients | F glass (meV/Å) | F crystal | F all | E glass (meV/atom) "
             "| E all | fit (s) | ns/day |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in records.items():
        speed = r.get("speed", {}).get("ns_per_day", float("nan"))
        lines.append(f"| {name} | {r['coefficients']} | {r['glass']['force_rmse_meV_A']:.0f} | "
                     f"{r['crystal']['force_rmse_meV_A']:.0f} | {r['all']['force_rmse_meV_A']:.0f} | "
                     f"{r['glass']['energy_rmse_meV_atom']:.1f} | {r['all']['energy_rmse_meV_atom']:.1f} "
                     f"| {r['fit_seconds']:.0f} | {speed:.2f} |")
    target = HERE / "pod_variants_results.md"
    kept = target.read_text().split("## Findings", 1) if target.exists() else []
    findings = "\n## Findings" + kept[1] if len(kept) == 2 else ""
    target.write_text("\n".join(lines) + "\n" + findings)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
