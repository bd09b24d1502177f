"""Benchmark: NN-SNAP potentials (a neural network on the explicit multi-element SNAP bispectrum,
run by LAMMPS ML-IAP) against the linear pod-fast — accuracy vs speed, the Pareto table of
issue #14.

The models are trained beforehand with ``ionscope potential train --kind nnsnap`` (resumable,
hours on one core: their commands are in each model's README) and given here as folders.
Errors: every validation frame of the curated data in the model's own split (through the pair
style in LAMMPS; glass = the three ``glass-iter0`` systems, crystal = γ-Li3PS4), and CP2K frames
no model was fitted to (``--heldout``). Speed: NVT MD of 768-atom β-Li3PS4 at 300 K, 1 fs,
LAMMPS loop time on ``--ranks`` MPI ranks × 1 thread, pod-fast measured in the same run so that
the ratio holds whatever the load. Writes ``neural_potentials_results.md`` beside this script
(hand-written findings kept).

    python benchmarks/neural_potentials.py --models validation/potentials/nnsnap-v1 … \
        --heldout DIR [DIR …] --ranks 2
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
#: systems every fit here leaves out (Γ-only or another level of theory, see the curation)
EXCLUDE = ["Li3P", "S", "beta-Li3PS4"]
#: the CP2K equation of state of β-Li3PS4 (CIF cell and positions scaled; in every fit's data)
EOS_BETA = str(MAIN / "src" / "ionscope" / "data" / "dft" / "eos-beta-Li3PS4")


def pooled_pressure(result: dict) -> dict:
    """Frame-weighted mean and RMS of P_model − P_DFT (GPa) over the systems of an evaluation."""
    rows = [(v["frames"], v["pressure_mean_error_GPa"], v["pressure_rmse_GPa"])
            for v in result["systems"].values()]
    n = sum(r[0] for r in rows)
    return {"frames": n, "mean_GPa": sum(k * m for k, m, _ in rows) / n,
            "rmse_GPa": (sum(k * r * r for k, _, r in rows) / n) ** 0.5}


def describe(folder: Path) -> dict:
    """Descriptor size, parameters and training settings recorded by the fit."""
    from ionscope.potential.neural import NeuralModel

    model = NeuralModel.load(folder)
    record = json.loads((folder / "provenance.json").read_text())["parameters"]
    snap = model.net.snap
    return {"inputs": model.net.n_inputs, "parameters": 3 * model.net.n_parameters,
            "settings": f"2J={snap.twojmax}, {snap.cutoff:g} Å, "
                        f"{'×'.join(map(str, model.net.hidden))}, {record['epochs']} epochs, "
                        f"batch {record.get('batch_frames', 8)}, stride {record['stride']}"
                        + "".join(f", {k} /{v}" for k, v in record.get("strides", {}).items())}


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
    parser.add_argument("--models", nargs="+", type=Path, required=True,
                        help="NN-SNAP model folders (ionscope potential train --kind nnsnap)")
    parser.add_argument("--workdir", default=str(MAIN / "runs" / "neural-benchmark"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--ranks", type=int, default=1)
    parser.add_argument("--heldout", nargs="*", default=[], type=Path,
                        help="DeePMD npy systems of CP2K frames no model was fitted to")
    args = parser.parse_args()

    from potentials import measure
    from tqdm.auto import tqdm

    from ionscope.potential import bundled_potential, resolve_potential

    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    heldout = [str(h.resolve()) for h in args.heldout]
    heldout_beta = [h for h in heldout if "beta" in Path(h).name]
    splits = [m / "split" / "valid" for m in args.models if (m / "split" / "valid").exists()]
    if not splits:
        sys.exit("neural_potentials: none of --models holds its split/valid (train with "
                 "ionscope potential train; the committed copies keep validation/ only)")
    valid = sorted(str(p) for p in splits[0].iterdir() if p.name.split("__")[-1] not in EXCLUDE)
    records = {}
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("pod-fast", None), *((m.name, m.resolve()) for m in args.models)]
        for name, folder in tqdm(rows, desc="potentials", unit="model"):
            potential = bundled_potential("pod-fast") if folder is None else resolve_potential(folder)
            record = {} if folder is None else describe(folder)
            stored = None if folder is None else folder / "validation" / "validation.json"
            record["validation"] = summary(json.loads(stored.read_text()) if stored and stored.exists()
                                           else potential.evaluate(valid))
            if heldout:
                record["heldout"] = summary(potential.evaluate(heldout))
            record["beta_pressure"] = {
                "equation of state": pooled_pressure(potential.evaluate([EOS_BETA])),
                **({"held out": pooled_pressure(potential.evaluate(heldout_beta))}
                   if heldout_beta else {})}
            record["speed"] = measure(potential, 768, args.steps, args.ranks, 1, Path(tmp))
            records[name] = record
            print(name, json.dumps((record.get("validation") or {}).get("glass")),
                  round(record["speed"]["ns_per_day"], 2), flush=True)
    (work / "records.json").write_text(json.dumps(records, indent=1))
    write_table(records, args)


def write_table(records: dict, args) -> None:
    from _common import write_results

    def cell(r, part, group, key, fmt):
        try:
            return format(r[part][group][key], fmt)
        except KeyError:
            return "—"

    lines = ["# NN-SNAP vs pod-fast: accuracy vs speed", "",
             f"Command: `python benchmarks/neural_potentials.py --models "
             f"{' '.join(str(m) for m in args.models)} --steps {args.steps} --ranks {args.ranks} "
             f"--heldout …` ({len(args.heldout)} held-out systems)", "",
             "Validation: every validation frame of the curated systems in the models' split "
             "(without the Γ-only β-Li3PS4, Li3P and S; glass = the three `glass-iter0` systems, "
             "crystal = γ-Li3PS4), through the pair style in LAMMPS. Held out: CP2K k-point frames "
             "from the learning loop that no model saw. Speed: NVT 300 K, 768-atom β-Li3PS4, 1 fs, "
             f"LAMMPS loop time on {args.ranks} MPI rank(s) × 1 thread, all rows in one run: "
             "when other jobs share the cores only the ratios to pod-fast hold (idle 2-core "
             "figures under Findings). The models are training work directories "
             "(`ionscope potential train --kind nnsnap`); the committed ones, with their "
             "committees, checkpoints and commands, are in `validation/potentials/`.", "",
             "β pressure: P_model − P_CP2K, P = tr(W)/3V, mean ± RMS (GPa) over the CP2K "
             "equation of state of β-Li3PS4 (7 frames, fitted) and over the held-out β frames.", "",
             "| potential | settings | inputs | parameters | F glass (meV/Å) | F crystal | F all | "
             "E glass (meV/atom) | E all | V all (meV/atom) | F held out | E held out | V held out "
             "| β ΔP, EOS (GPa) | β ΔP, held out | ns/day | katom-step/s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in records.items():
        lines.append(" | ".join([
            f"| {name}", r.get("settings", "linear POD, ridge, E+F+V"),
            str(r.get("inputs", "—")), str(r.get("parameters", 345)),
            cell(r, "validation", "glass", "force_rmse_meV_A", ".0f"),
            cell(r, "validation", "crystal", "force_rmse_meV_A", ".0f"),
            cell(r, "validation", "all", "force_rmse_meV_A", ".0f"),
            cell(r, "validation", "glass", "energy_rmse_meV_atom", ".1f"),
            cell(r, "validation", "all", "energy_rmse_meV_atom", ".1f"),
            cell(r, "validation", "all", "virial_rmse_meV_atom", ".0f"),
            cell(r, "heldout", "all", "force_rmse_meV_A", ".0f"),
            cell(r, "heldout", "all", "energy_rmse_meV_atom", ".1f"),
            cell(r, "heldout", "all", "virial_rmse_meV_atom", ".0f"),
            *(f"{p['mean_GPa']:+.2f} ± {p['rmse_GPa']:.2f}" if p else "—"
              for p in (r.get("beta_pressure", {}).get(k) for k in ("equation of state", "held out"))),
            f"{r['speed']['ns_per_day']:.2f}", f"{r['speed']['katom_step_s']:.1f} |"]))
    write_results(HERE / "neural_potentials_results.md", lines)


if __name__ == "__main__":
    main()
