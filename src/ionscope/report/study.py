"""The report of a study run: cross-system figures, every per-system figure with its CSV data and
parameters, a machine-readable ``summary.json`` of the headline numbers, and ``index.html`` —
all inside one folder that opens offline."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import numpy as np

from ..provenance import atomic_write, provenance, write_json
from . import study_figures as figs
from .html import _STYLE, GENERATOR, _fmt
from .study_figures import _csv


def _load(folder: Path) -> dict:
    path = folder / "summary.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _rows_csv(path: Path, header: list[str], rows) -> None:
    """A CSV of rows that start with a system name followed by numbers."""
    with atomic_write(path) as handle:
        handle.write(",".join(header) + "\n")
        for name, *values in rows:
            handle.write(",".join([name, *(f"{v:.6g}" for v in values)]) + "\n")


def _long_csv(path: Path, curves: dict[str, tuple[np.ndarray, np.ndarray]], x: str, y: str) -> None:
    """Curves of several systems in one CSV: system, x, y (long format)."""
    _rows_csv(path, ["system", x, y], ((n, a, b) for n, (xs, ys) in curves.items() for a, b in zip(xs, ys)))


def collect(run_dir: Path, study) -> dict:
    """Everything the report needs from the finished task folders of ``run_dir``."""
    out = {}
    for system in study.systems:
        base = run_dir / system.name
        temps = {T: base / f"analysis-{T:g}K" for T in study.md.temperatures}
        out[system.name] = {
            "kind": system.kind,
            "analysis": {T: _load(d).get("summary", {}) for T, d in temps.items() if d.exists()},
            "folders": {T: d for T, d in temps.items() if d.exists()},
            "transport": _load(base / "transport").get("summary", {}),
            "softness": _load(base / "softness").get("summary", {}),
            "softness_dir": base / "softness",
            "pressure": {T: _load_plain(base / f"md-{T:g}K" / "pressure.json")
                         for T in study.md.temperatures if (base / f"md-{T:g}K").exists()},
        }
    return out


def _load_plain(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def headline(data: dict, study) -> dict:
    """The numbers a results section quotes, per system."""
    from ..potential.bundled import available_models, model_card

    rows = {}
    for name, d in data.items():
        lowest = min(d["analysis"]) if d["analysis"] else None
        a = d["analysis"].get(lowest, {})
        st = a.get("structure", {})
        tr = d["transport"]
        rows[name] = {
            "kind": d["kind"],
            "E_a (eV)": tr.get("Ea_eV"), "E_a error (eV)": tr.get("Ea_err_eV"),
            "D (cm2/s) by T": dict(zip([f"{T:g} K" for T in tr.get("T_K", [])], tr.get("D_cm2_s", []))),
            f"sigma({study.analysis.sigma_T:g} K) (S/cm)": tr.get("sigma_extrapolated_S_cm"),
            f"sigma({study.analysis.sigma_T:g} K) error (S/cm)": tr.get("sigma_extrapolated_err_S_cm"),
            **{f"{label} by T": {f"{T:g} K": f"{v:.3g} ± {e:.2g}" for T, v, e in
                                 zip(tr.get("T_K", []), tr.get(key, []), tr.get(err, []))}
               for label, key, err in (("sigma NE (S/cm)", "sigma_S_cm", "sigma_err_S_cm"),
                                       ("sigma collective (S/cm)", "sigma_collective_S_cm",
                                        "sigma_collective_err_S_cm"),
                                       ("Haven ratio", "haven_ratio", "haven_ratio_err"))},
            "P-S bond length (A)": st.get("P-S bond length (Å)"),
            "Li-S coordination": st.get("Li-S coordination"),
            "anion P fractions": st.get("anion P fractions"),
            "density (g/cm3)": st.get("density_g_cm3"),
            "XRD crystallinity": st.get("XRD crystallinity"),
            "softness test accuracy": d["softness"].get("test_accuracy"),
            "mean softness": d["softness"].get("mean_softness"),
            "fraction soft (S > 0)": d["softness"].get("fraction_soft"),
            "structure at": f"{lowest:g} K" if lowest is not None else None,
        }
    potential = study.potential.path or study.potential.name or "pod-fast"
    validation = None
    if potential in available_models():
        validation = model_card(potential)["validation"]["overall"]
    return {"systems": rows, "potential": {"name": potential, "validation_rmse": validation}}


def build_study_report(run_dir: str | Path, study, out_dir: str | Path) -> Path:
    """Figures, ``summary.json`` and ``index.html`` of the study in ``run_dir``, into ``out_dir``."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = collect(run_dir, study)
    sections: list[tuple[str, list[dict]]] = []

    # structure, compared across systems at each system's lowest temperature
    structure = []
    rdf_curves = {}
    for name, d in data.items():
        if d["folders"]:
            rdf = d["folders"][min(d["folders"])] / "structure" / "rdf.csv"
            if rdf.exists():
                rdf_curves[name] = _csv(rdf)
    if rdf_curves:
        for pair, label in (("PS", "P–S"), ("LiS", "Li–S"), ("LiLi", "Li–Li")):
            curves = {n: (c["r"], c[f"g_{pair}"]) for n, c in rdf_curves.items() if f"g_{pair}" in c}
            ncurves = {n: (c["r"], c[f"n_{pair}"]) for n, c in rdf_curves.items() if f"n_{pair}" in c}
            if curves:
                structure.append(_figure(out_dir, f"g_{pair}", figs.overlay_figure, curves, "r (Å)",
                                         f"g(r) {label}", f"{label} pair distribution", xlim=(1, 8),
                                         x="r_A", y="g", extra=(ncurves, "n")))
        sq = {n: _csv(d["folders"][min(d["folders"])] / "structure" / "sq.csv")
              for n, d in data.items() if d["folders"]}
        for kind in ("neutron", "xray"):
            structure.append(_figure(out_dir, f"sq_{kind}", figs.overlay_figure,
                                     {n: (c["Q"], c[f"S_{kind}"]) for n, c in sq.items()}, "Q (Å⁻¹)",
                                     "S(Q) (offset by 0.5)", f"{kind} structure factor", offset=0.5,
                                     x="Q_inv_A", y=f"S_{kind}"))
            structure[-1]["caption"] = (f"Faber–Ziman {kind} S(Q) (direct: every reciprocal vector "
                                        "of the cell). As Q → 0 it tends to 1 − ⟨w²⟩/⟨w⟩², negative "
                                        "for neutrons on Li thiophosphates (b_Li < 0).")
            if all(f"I_{kind}" in c for c in sq.values()):
                structure.append(_figure(out_dir, f"iq_{kind}", figs.overlay_figure,
                                         {n: (c["Q"], c[f"I_{kind}"]) for n, c in sq.items()}, "Q (Å⁻¹)",
                                         "I(Q)/(N⟨w²⟩) (offset by 0.5)",
                                         f"{kind} scattering normalised by ⟨w²⟩ (≥ 0)", offset=0.5,
                                         x="Q_inv_A", y=f"I_{kind}"))
        angles = {n: _csv(d["folders"][min(d["folders"])] / "structure" / "angles.csv")
                  for n, d in data.items() if d["folders"]}
        structure.append(_figure(out_dir, "angles_SPS", figs.overlay_figure,
                                 {n: (c["angle"], c["S-P-S"]) for n, c in angles.items() if "S-P-S" in c},
                                 "S–P–S angle (°)", "P(θ) (1/°)", "S–P–S bond angles", xlim=(80, 140),
                                 x="angle_deg", y="p"))
        fractions = {n: d["analysis"][min(d["analysis"])]["structure"]["anion P fractions"]
                     for n, d in data.items() if d["analysis"] and "structure" in d["analysis"][min(d["analysis"])]}
        path = out_dir / "anion_fractions.png"
        figs.fractions_figure(fractions, path)
        units = sorted({u for f in fractions.values() for u in f})
        _rows_csv(out_dir / "anion_fractions.csv", ["system", *units],
                  ([n, *(f.get(u, 0.0) for u in units)] for n, f in fractions.items()))
        structure.append({"png": path.name, "csv": ["anion_fractions.csv"],
                          "caption": "Fraction of P in each thiophosphate unit (P–S 2.6 Å, P–P 2.6 Å)."})
    structure += _copy_per_system(data, out_dir, "structure/structure.png", "structure",
                                  "g(r), n(r), S(Q), bond angles, anion units and XRD")
    sections.append(("Structure", structure))

    # transport
    transport = []
    trans = {n: d["transport"] for n, d in data.items() if d["transport"]}
    if trans:
        path = out_dir / "arrhenius.png"
        figs.arrhenius_figure(trans, path)
        _rows_csv(out_dir / "arrhenius.csv", ["system", "T_K", "D_cm2_s", "D_err_cm2_s", "sigma_S_cm"],
                  ((n, *row) for n, t in trans.items()
                   for row in zip(t["T_K"], t["D_cm2_s"], t["D_err_cm2_s"], t["sigma_S_cm"])))
        transport.append({"png": path.name, "csv": ["arrhenius.csv"],
                          "caption": "Li diffusion coefficients (1σ: standard error of the full-run "
                                     "slope from the per-ion slopes) and weighted Arrhenius fits; "
                                     "dashed: extrapolation; band: 1σ of the fit."})
        path = out_dir / "sigma.png"
        figs.sigma_figure(trans, path)
        _rows_csv(out_dir / "sigma.csv", ["system", "T_K", "sigma_S_cm", "sigma_err_S_cm", "Ea_eV", "Ea_err_eV"],
                  ((n, *(t[k] for k in ("sigma_T_K", "sigma_extrapolated_S_cm",
                                        "sigma_extrapolated_err_S_cm", "Ea_eV", "Ea_err_eV")))
                   for n, t in trans.items() if "sigma_extrapolated_S_cm" in t))
        transport.append({"png": path.name, "csv": ["sigma.csv"],
                          "caption": "Nernst–Einstein conductivity extrapolated along the Arrhenius fit."})
        if any("haven_ratio" in t for t in trans.values()):
            path = out_dir / "conductivity.png"
            figs.conductivity_figure(trans, path)
            keys = ("T_K", "sigma_S_cm", "sigma_err_S_cm", "sigma_collective_S_cm",
                    "sigma_collective_err_S_cm", "haven_ratio", "haven_ratio_err")
            _rows_csv(out_dir / "conductivity.csv", ["system", *keys],
                      ((n, *row) for n, t in trans.items() if "haven_ratio" in t
                       for row in zip(*(t[k] for k in keys))))
            transport.append({"png": path.name, "csv": ["conductivity.csv"],
                              "caption": "σ from Nernst–Einstein (self D) beside σ from the collective "
                                         "(charge) MSD, which keeps ion–ion correlations, and the Haven "
                                         "ratio D*/D_σ; 1σ errors (the collective MSD is one trajectory "
                                         "of the summed displacement: its error is large)."})
    transport += _copy_per_system(data, out_dir, "dynamics.png", "dynamics",
                                  "MSD and α₂ against lag (τ_ngp dotted), self van Hove G_s, Li VDOS",
                                  every_T=True)
    sections.append(("Transport", transport))
    regions = _copy_per_system(data, out_dir, "regions.png", "regions",
                               "F(Z) and composition profiles, region-resolved MSD and Li fractions",
                               every_T=True)
    if regions:
        sections.append(("Glass-ceramic regions", regions))

    # softness
    soft = []
    values, profiles = {}, {}
    for n, d in data.items():
        csv = d["softness_dir"] / "softness.csv"
        if csv.exists():
            c = _csv(csv)
            if "region" in c:
                for k, region in enumerate(("glass", "interface", "crystal")):
                    sel = c["region"] == k
                    if sel.sum() >= 5:
                        values[f"{n}: {region}"] = c["softness"][sel]
            else:
                values[n] = c["softness"]
        if (d["softness_dir"] / "profiles.csv").exists():
            profiles[n] = {k: v for k, v in _csv(d["softness_dir"] / "profiles.csv").items()}
    hyperplane = _load(run_dir / "softness-model").get("summary", {})
    if values:
        path = out_dir / "softness_distributions.png"
        figs.softness_figure(values, path)
        _rows_csv(out_dir / "softness_distributions.csv", ["system", "softness"],
                  ((n, x) for n, v in values.items() for x in v))
        csvs = ["softness_distributions.csv"]
        if (run_dir / "softness-model" / "scan.csv").exists():
            shutil.copyfile(run_dir / "softness-model" / "scan.csv", out_dir / "softness_scan.csv")
            csvs.append("softness_scan.csv")
        soft.append({"png": path.name, "csv": csvs,
                     "caption": "Softness of every Li (hyperplane distance; > 0: predicted mobile)"
                                + (" from one hyperplane, " + _hyperplane_text(hyperplane)
                                   if hyperplane else "") + "."})
    if profiles:
        path = out_dir / "softness_q6.png"
        figs.softness_q6_figure(profiles, path)
        soft.append({"png": path.name, "csv": [], "caption": "Softness and q̄6 profiles along the "
                     "slab normal (data: per-system profiles.csv below)."})
    soft += _copy_per_system(data, out_dir, "softness.png", "softness",
                             "softness distribution of mobile/immobile Li and W(r) with g(r)",
                             folder="softness")
    sections.append(("Softness", soft))

    summary = headline(data, study)
    summary["notes"] = study.notes
    summary["pressure"] = {"reference": study.md.pressure_reference,
                           "target_bar": study.md.pressure_bar,
                           "correction_GPa": {name: {f"{T:g}": rec.get("correction_GPa")
                                                     for T, rec in d["pressure"].items()}
                                              for name, d in data.items()}}
    if hyperplane:
        summary["softness"] = hyperplane
    write_json(out_dir / "summary.json", {"summary": summary, "provenance": provenance(
        inputs={"run_dir": run_dir}, parameters={"study": study.model_dump()})})
    return _write_html(out_dir, study, summary, sections)


def _pressure_text(pressure: dict, md) -> str:
    """Which density the MD ran at: the potential's own (``dft``) or the experimental one."""
    npt = md.equilibrate_ensemble == "npt" or md.production_ensemble == "npt"
    if not npt:
        return "Density: NVT at the density each system was built at (no NPT segment)."
    if pressure["reference"] == "dft":
        return (f"Density: NPT at {md.pressure_bar:g} bar on the potential's own equation of "
                "state (<code>pressure_reference = \"dft\"</code>).")
    rows = "; ".join(f"{html.escape(name)} " + ", ".join(
        f"{T} K: " + "/".join(f"{c:+.2f}" for c in corr) for T, corr in temps.items() if corr)
        for name, temps in pressure["correction_GPa"].items())
    return (f"Density: NPT at {md.pressure_bar:g} bar plus the potential's own pressure of the "
            "experimental structure at each temperature (<code>pressure_reference = "
            "\"experiment\"</code>, constant pressure correction of Lee &amp; Wan, PRB 78, 224103, "
            f"2008), per axis xx/yy/zz in GPa: {rows}.")


def _hyperplane_text(h: dict) -> str:
    """The softness hyperplane in a sentence: reference, thresholds, C and accuracies."""
    t = h["thresholds"]
    return (f"trained on the Li of {', '.join(h['systems'])} (D_cum over {h['window_ps']:g} ps "
            f"windows: mobile > {t['high']:.3g} Å ({t['high_quantile']:g} quantile), immobile < "
            f"{t['low']:.3g} Å ({t['low_quantile']:g} quantile); C = {h['C']:g}; thresholds and C "
            f"by grouped cross-validation, data: softness_scan.csv) and applied to every system: "
            f"accuracy {h['train_accuracy']:.2f} on {h['n_train']} training samples, "
            f"{h['test_accuracy']:.2f} on {h['n_test']} samples of {h['n_li_test']} held-out Li "
            f"(chance {h['chance']:.2f})")


def _figure(out_dir, stem, function, curves, xlabel, ylabel, title, x, y, xlim=None, offset=0.0,
            extra=None) -> dict:
    path = out_dir / f"{stem}.png"
    function(curves, xlabel, ylabel, title, path, xlim=xlim, offset=offset)
    _long_csv(out_dir / f"{stem}.csv", curves, x, y)
    csvs = [f"{stem}.csv"]
    if extra:
        _long_csv(out_dir / f"{stem}_{extra[1]}.csv", extra[0], x, extra[1])
        csvs.append(f"{stem}_{extra[1]}.csv")
    return {"png": path.name, "csv": csvs, "caption": title + "."}


def _copy_per_system(data, out_dir: Path, name: str, kind: str, caption: str, every_T=False,
                     folder: str | None = None) -> list[dict]:
    """Copy each system's figure with the CSV files and parameters of its folder into the report."""
    items = []
    for n, d in data.items():
        if folder:
            sources = [(d["softness_dir"], "")]
        else:
            temps = sorted(d["folders"]) if every_T else sorted(d["folders"])[:1]
            sources = [(d["folders"][T], f"-{T:g}K") for T in temps]
        for src, tag in sources:
            png = src / name
            if not png.exists():
                continue
            target = out_dir / "figures" / f"{n}{tag}-{kind}"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, target / png.name)
            csvs = []
            for c in sorted(png.parent.glob("*.csv")):
                shutil.copyfile(c, target / c.name)
                csvs.append(f"figures/{target.name}/{c.name}")
            params = None
            if (png.parent / "summary.json").exists():
                params = json.loads((png.parent / "summary.json").read_text()).get("provenance")
            items.append({"png": f"figures/{target.name}/{png.name}", "csv": csvs,
                          "caption": f"{n}{tag.replace('-', ', ')}: {caption}.", "params": params})
    return items


def _write_html(out_dir: Path, study, summary: dict, sections) -> Path:
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{GENERATOR}<title>"
             f"{html.escape(study.name)}</title><style>{_STYLE}</style></head><body>"
             f"<h1>{html.escape(study.name)}</h1>"]
    if study.notes:
        parts.append(f"<p class='note'>{html.escape(study.notes)}</p>")
    pot = summary["potential"]
    parts.append(f"<p>Potential: <code>{html.escape(str(pot['name']))}</code>"
                 + (f" (validation RMSE: {_fmt(pot['validation_rmse'])})" if pot["validation_rmse"] else "")
                 + ". Machine-readable numbers: <a href='summary.json'>summary.json</a>.</p>")
    parts.append(f"<p>{_pressure_text(summary['pressure'], study.md)}</p>")
    rows = summary["systems"]
    keys = list(next(iter(rows.values())))
    parts.append("<h2>Headline numbers</h2><table><tr><th>quantity</th>" +
                 "".join(f"<th>{html.escape(n)}</th>" for n in rows) + "</tr>")
    for key in keys:
        parts.append(f"<tr><td>{html.escape(key)}</td>" + "".join(
            f"<td>{html.escape(_fmt(r.get(key)) if r.get(key) is not None else '–')}</td>"
            for r in rows.values()) + "</tr>")
    parts.append("</table>")
    for title, items in sections:
        if not items:
            continue
        parts.append(f"<h2>{html.escape(title)}</h2>")
        for item in items:
            links = ", ".join(f"<a href='{html.escape(c)}'>{html.escape(Path(c).name)}</a>"
                              for c in item["csv"])
            parts.append(f"<figure><img src='{html.escape(item['png'])}' alt='{html.escape(item['caption'])}'>"
                         f"<figcaption>{html.escape(item['caption'])}"
                         + (f" Data: {links}" if links else "") + "</figcaption></figure>")
            if item.get("params"):
                parts.append("<details><summary>parameters, inputs and software</summary><pre>" +
                             html.escape(json.dumps(item["params"], indent=1, default=str)) +
                             "</pre></details>")
    parts.append("<h2>Study file</h2><pre>" + html.escape(json.dumps(study.model_dump(), indent=1)) +
                 "</pre></body></html>")
    path = out_dir / "index.html"
    with atomic_write(path) as handle:
        handle.write("\n".join(parts))
    return path
