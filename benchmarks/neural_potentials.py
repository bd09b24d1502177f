"""Benchmark: NN-SNAP (a neural network on the explicit multi-element SNAP bispectrum, run by
LAMMPS ML-IAP) against the linear pod-fast — accuracy vs speed, the Pareto table of issue #14.

Every variant is trained by :func:`ionscope.potential.neural.train_neural` on the data of the
bundled pod-fast (the curated PBE-D3 data without the Γ-only β-Li3PS4, Li3P and S systems, plus
every committed CP2K k-point label ×50), split with the bundled models' seed. Errors: all
validation frames of the curated data (through the pair style in LAMMPS), and CP2K frames no
model was fitted to (``--heldout``: labels of the learning loop written after the training data
was fixed). Speed: NVT MD of 768-atom β-Li3PS4 at 300 K, 1 fs, LAMMPS loop time, on
``--ranks`` MPI ranks (pod-fast measured in the same run, so the ratio holds whatever the load).
Writes ``neural_potentials_results.md`` beside this script (hand-written findings kept).

    python benchmarks/neural_potentials.py --stride 10 --epochs 200 --heldout DIR [DIR …]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
MAIN = HERE.parent
DATA = [MAIN / "runs" / "curated-pbe-d3", MAIN / "src" / "ionscope" / "data" / "dft",
        MAIN / "validation" / "dft" / "loop1-labels", MAIN / "validation" / "dft" / "learn-labels"]
EXCLUDE = ["Li3P", "S", "beta-Li3PS4"]


def variants():
    from ionscope.potential.linear import Snap
    from ionscope.potential.neural import NeuralSnap

    return [("NN-SNAP 2J=2 32×32", NeuralSnap(Snap(twojmax=2, chem=True), (32, 32))),
            ("NN-SNAP 2J=2 64×64", NeuralSnap(Snap(twojmax=2, chem=True), (64, 64))),
            ("NN-SNAP 2J=3 32×32", NeuralSnap(Snap(twojmax=3, chem=True), (32, 32)))]


def summary(result: dict) -> dict:
    """Overall, glass and crystal RMSEs (system names carry their data folder as a prefix)."""
    from fast_potentials import CRYSTAL, GLASS, pooled

    short = {k.split("__")[-1]: v for k, v in result["systems"].items()}
    return {"all": result["overall"], "glass": pooled({"systems": short}, GLASS),
            "crystal": pooled({"systems": short}, CRYSTAL),
            "systems": {k: {kk: vv for kk, vv in v.items() if kk != "parity"}
                        for k, v in short.items()}}


def errors(potential, valid, heldout) -> dict:
    out = {"validation": summary(potential.evaluate(valid))}
    if heldout:
        out["heldout"] = summary(potential.evaluate(heldout))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=str(MAIN / "runs" / "nnsnap"))
    parser.add_argument("--stride", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--ranks", type=int, default=1)
    parser.add_argument("--heldout", nargs="*", default=[], type=Path,
                        help="DeePMD npy systems of CP2K frames no model was fitted to")
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    args = parser.parse_args()

    from potentials import measure

    from ionscope.potential import bundled_potential
    from ionscope.potential.neural import NeuralModel, train_neural

    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    records_file = work / "records.json"
    records = json.loads(records_file.read_text()) if records_file.exists() else {}
    heldout = [str(h.resolve()) for h in args.heldout]
    with tempfile.TemporaryDirectory() as tmp:
        for name, net in [*variants(), ("pod-fast", None)]:
            if args.only and name not in args.only and name != "pod-fast":
                continue
            out = work / name.replace(" ", "_").replace("×", "x").replace("=", "")
            record = records.setdefault(name, {})
            if net is None:
                potential = bundled_potential("pod-fast")
                valid = json.loads((work / "valid.json").read_text()) if (work / "valid.json").exists() else None
            else:
                if not (out / "neural.json").exists():
                    train_neural(DATA, out, net, stride=args.stride, label_weight=50, members=1,
                                 epochs=args.epochs, exclude=EXCLUDE, progress=True)
                potential = NeuralModel.load(out).potential(out)
                valid = sorted(str(p) for p in (out / "split" / "valid").iterdir()
                               if p.name.split("__")[-1] not in EXCLUDE)
                (work / "valid.json").write_text(json.dumps(valid))
                record.update(inputs=net.n_inputs, parameters=3 * net.n_parameters,
                              fit_seconds=json.loads((out / "neural.json").read_text())
                              ["info"]["members"][0]["fit_seconds"])
            if valid and record.get("heldout_systems") != heldout:
                record.update(errors(potential, valid, heldout), heldout_systems=heldout)
            if "speed" not in record:
                record["speed"] = measure(potential, 768, args.steps, args.ranks, 1, Path(tmp))
            records_file.write_text(json.dumps(records, indent=1))
            print(name, json.dumps({k: record.get(k, {}).get("glass") for k in ("validation",)}),
                  record["speed"]["ns_per_day"], flush=True)
    write_table(records, args)


def write_table(records: dict, args) -> None:
    from _common import write_results

    def cell(r, part, group, key, fmt):
        try:
            return format(r[part][group][key], fmt)
        except KeyError:
            return "—"

    lines = ["# NN-SNAP vs pod-fast: accuracy vs speed", "",
             f"Command: `python benchmarks/neural_potentials.py --stride {args.stride} --epochs "
             f"{args.epochs} --steps {args.steps} --ranks {args.ranks} --heldout …`", "",
             "Training data: as the bundled pod-fast (curated PBE-D3(0) data without the Γ-only "
             "β-Li3PS4, Li3P and S systems, plus every committed CP2K k-point label ×50), every "
             f"{args.stride}th training frame, {args.epochs} epochs (Adam, loss on energy/atom ×30, "
             "force ×1, virial/atom ×3). Validation: every validation frame of the curated "
             "systems (glass = the three `glass-iter0` systems, crystal = γ-Li3PS4). Held out: "
             "CP2K k-point frames from the learning loop that no model saw. Speed: NVT 300 K, "
             f"768-atom β-Li3PS4, 1 fs, LAMMPS loop time on {args.ranks} MPI rank(s) × 1 thread, "
             "all rows in one run.", "",
             "| potential | inputs | parameters | F glass (meV/Å) | F crystal | F all | E glass "
             "(meV/atom) | E all | V all (meV/atom) | F held out | E held out | V held out | "
             "ns/day | katom-step/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in records.items():
        lines.append(" | ".join([
            f"| {name}", str(r.get("inputs", "—")), str(r.get("parameters", 345)),
            cell(r, "validation", "glass", "force_rmse_meV_A", ".0f"),
            cell(r, "validation", "crystal", "force_rmse_meV_A", ".0f"),
            cell(r, "validation", "all", "force_rmse_meV_A", ".0f"),
            cell(r, "validation", "glass", "energy_rmse_meV_atom", ".1f"),
            cell(r, "validation", "all", "energy_rmse_meV_atom", ".1f"),
            cell(r, "validation", "all", "virial_rmse_meV_atom", ".0f"),
            cell(r, "heldout", "all", "force_rmse_meV_A", ".0f"),
            cell(r, "heldout", "all", "energy_rmse_meV_atom", ".1f"),
            cell(r, "heldout", "all", "virial_rmse_meV_atom", ".0f"),
            f"{r['speed']['ns_per_day']:.2f}", f"{r['speed']['katom_step_s']:.1f} |"]))
    write_results(HERE / "neural_potentials_results.md", lines)


if __name__ == "__main__":
    main()
