"""The demonstration study on bundled inputs: what ``ionscope demo`` runs.

β-Li3PS4 and a small melt-quenched 75Li2S–25P2S5 glass on the bundled fast potential, three
temperatures, every analysis (one softness hyperplane for both systems) and the report
(``ionscope/data/studies/demo.toml``). The paper-scale study file is copied next to it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..report.tables import format_table
from .run import run_study
from .study import load_study

STUDIES = Path(__file__).resolve().parents[1] / "data" / "studies"


def run_demo(out_dir: str | Path, study_file: str | Path | None = None) -> Path:
    """Run the demo study in ``out_dir``; returns the report's ``index.html``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = Path(study_file) if study_file else STUDIES / "demo.toml"
    shutil.copyfile(source, out_dir / "study-demo.toml")
    shutil.copyfile(STUDIES / "paper.toml", out_dir / "study-paper.toml")
    report = run_study(load_study(source), out_dir)   # paths in it are relative to its own folder
    for name in ("study-demo.toml", "study-paper.toml"):
        shutil.copyfile(out_dir / name, report.parent / name)
    summary = json.loads((report.parent / "summary.json").read_text())["summary"]
    rows = summary["systems"]
    table = [{"system": n, **{k: v for k, v in r.items() if not isinstance(v, dict)}}
             for n, r in rows.items()]
    print(format_table(table, ["system", "E_a (eV)", "E_a error (eV)", "sigma(300 K) (S/cm)",
                               "P-S bond length (A)", "Li-S coordination", "density (g/cm3)", "XRD crystallinity",
                               "softness test accuracy"]))
    if "softness" in summary:
        h = summary["softness"]
        print(f"softness: one hyperplane from {', '.join(h['systems'])}, C = {h['C']:g}, accuracy "
              f"{h['train_accuracy']:.2f} train, {h['test_accuracy']:.2f} held-out Li "
              f"(chance {h['chance']:.2f})")
    return report
