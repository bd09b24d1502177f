"""The report of a study run: cross-system figures, every per-system figure with its CSV data and
parameters, a machine-readable ``summary.json`` of the headline numbers, and ``index.html`` —
all inside one folder that opens offline. It reads a
:class:`~ionscope.report.summaries.StudyResults` (the workflow collects it from the task folders)
and gives the quantities their display labels."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import numpy as np

from ..analysis.structure.speciation import UNITS, BondEnvironments
from ..io.tables import read_csv, write_csv
from ..potential import DEFAULT, available_models, model_card
from ..provenance import provenance, write_json
from . import literature
from . import study_figures as figs
from .html import _fmt, figure, headline_table, write_page
from .summaries import SoftnessModelSummary, StructureSummary, StudyResults, Tables, label


def _long_csv(path: Path, curves: dict[str, tuple[np.ndarray, np.ndarray]], x: str, y: str) -> None:
    """Curves of several systems in one CSV: system, x, y (long format)."""
    _per_system_csv(path, ["system", x, y], [(n, a, b) for n, (xs, ys) in curves.items()
                                             for a, b in zip(xs, ys)])


def _per_system_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    """Rows of a system name followed by numbers, as CSV."""
    columns = list(zip(*rows)) if rows else [[] for _ in header]
    write_csv(path, header, [np.asarray(columns[0], str), *columns[1:]])


def _value(model, field: str, default=None):
    return getattr(model, field) if model is not None else default


def headline(results: StudyResults, study) -> dict:
    """The numbers a results section quotes, per system, under their display labels."""
    sigma_T = study.analysis.sigma_T
    rows = {}
    for name, d in results.systems.items():
        lowest = min(d.analyses) if d.analyses else None
        st = d.analyses[lowest].structure if lowest is not None else None
        tr = d.transport
        temps = _value(tr, "T_K", [])
        by_T = {f"{label} by T": {f"{T:g} K": f"{v:.3g} ± {e:.2g}" for T, v, e in
                                  zip(temps, _value(tr, key, []), _value(tr, err, []))}
                for label, key, err in (("sigma NE (S/cm)", "sigma_S_cm", "sigma_err_S_cm"),
                                        ("sigma collective (S/cm)", "sigma_collective_S_cm",
                                         "sigma_collective_err_S_cm"),
                                        ("Haven ratio", "haven_ratio", "haven_ratio_err"))}
        rows[name] = {
            "kind": d.kind,
            "E_a (eV)": _value(tr, "Ea_eV"), "E_a error (eV)": _value(tr, "Ea_err_eV"),
            "Arrhenius fit over (K)": _value(tr, "fit_T_K"), "Arrhenius fit warning": _value(tr, "fit_warning"),
            "D (cm2/s) by T": dict(zip([f"{T:g} K" for T in temps], _value(tr, "D_cm2_s", []))),
            f"sigma({sigma_T:g} K) (S/cm)": _value(tr, "sigma_extrapolated_S_cm"),
            f"sigma({sigma_T:g} K) error (S/cm)": _value(tr, "sigma_extrapolated_err_S_cm"),
            **by_T,
            **{label(StructureSummary, f): _value(st, f) for f in (
                "p_s_bond_length_A", "li_s_coordination", "anion_p_fractions", "density_g_cm3",
                "xrd_crystallinity")},
            "committee max force deviation (eV/Å) by T": {
                f"{T:g} K": f"{a.committee_max_devi_f_eV_A:.3g} (max {a.committee_max_devi_f_max_eV_A:.3g})"
                + (f"; per atom {a.committee_avg_devi_f_eV_A:.3g}" if a.committee_avg_devi_f_eV_A else "")
                for T, a in sorted(d.analyses.items()) if a.committee_max_devi_f_eV_A is not None},
            "atoms with a committee force deviation beyond the trust level by T": {
                f"{T:g} K": f"> {a.committee_untrusted_above_eV_A:g} eV/Å: " + ", ".join(
                    f"{s} {100 * f:.2g} %" for s, f in a.committee_untrusted_fraction.items())
                for T, a in sorted(d.analyses.items()) if a.committee_untrusted_fraction},
            "PS4 reorientation by T": {
                f"{T:g} K": (f"{a.ps4_flipped_fraction:.2f} of units flipped, "
                             f"{a.ps4_flips_per_unit_per_ns:.3g} flips/unit/ns, "
                             f"C1({a.ps4_C1_lag_ps:.0f} ps) = {a.ps4_C1:.2f}")
                for T, a in sorted(d.analyses.items()) if a.ps4_flipped_fraction is not None},
            "softness test accuracy": _value(d.softness, "test_accuracy"),
            "mean softness": _value(d.softness, "mean_softness"),
            "fraction soft (S > 0)": _value(d.softness, "fraction_soft"),
            "structure at": f"{lowest:g} K" if lowest is not None else None,
        }
    potential = study.potential.path or study.potential.name or DEFAULT
    validation = None
    if potential in available_models():
        validation = model_card(potential)["validation"]["overall"]
    return {"systems": rows, "potential": {"name": potential, "validation_rmse": validation}}


def _structure_tables(results: StudyResults, name: str) -> dict[str, dict[str, np.ndarray]]:
    """The structure tables of each system at its lowest temperature: {system: columns}."""
    out = {}
    for n, d in results.systems.items():
        if d.analysis_dirs:
            path = d.analysis_dirs[min(d.analysis_dirs)] / Tables.STRUCTURE / name
            if path.exists():
                out[n] = read_csv(path)
    return out


def build_study_report(results: StudyResults, study, out_dir: str | Path) -> Path:
    """Figures, ``summary.json`` and ``index.html`` of the study ``results``, into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    systems = results.systems
    sections: list[tuple[str, list[dict]]] = []

    # structure, compared across systems at each system's lowest temperature
    structure = []
    rdf_curves = _structure_tables(results, Tables.RDF)
    if rdf_curves:
        for (a, b), text in ((("P", "S"), "P–S"), (("Li", "S"), "Li–S"), (("Li", "Li"), "Li–Li")):
            g, n_col = Tables.pair("g", a, b), Tables.pair("n", a, b)
            curves = {n: (c["r"], c[g]) for n, c in rdf_curves.items() if g in c}
            ncurves = {n: (c["r"], c[n_col]) for n, c in rdf_curves.items() if n_col in c}
            if curves:
                structure.append(_figure(out_dir, g, figs.overlay_figure, curves, "r (Å)",
                                         f"g(r) {text}", f"{text} pair distribution", xlim=(1, 8),
                                         x="r_A", y="g", extra=(ncurves, "n")))
        sq = _structure_tables(results, Tables.SQ)
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
        sps = Tables.angle(("S", "P", "S"))
        angles = _structure_tables(results, Tables.ANGLES)
        structure.append(_figure(out_dir, "angles_SPS", figs.overlay_figure,
                                 {n: (c["angle"], c[sps]) for n, c in angles.items() if sps in c},
                                 "S–P–S angle (°)", "P(θ) (1/°)", "S–P–S bond angles", xlim=(80, 140),
                                 x="angle_deg", y="p"))
        fractions = {n: d.analyses[min(d.analyses)].structure.anion_p_fractions
                     for n, d in systems.items()
                     if d.analyses and d.analyses[min(d.analyses)].structure is not None}
        fractions.update({f"{n}: DFT frames": {u: q.dft_mean for u, q in d.dft_reference.quantities.items()
                                               if u in UNITS}
                          for n, d in systems.items() if d.dft_reference is not None})
        path = out_dir / "anion_fractions.png"
        figs.fractions_figure(fractions, path)
        units = sorted({u for f in fractions.values() for u in f})
        _per_system_csv(out_dir / "anion_fractions.csv", ["system", *units],
                        [(n, *(f.get(u, 0.0) for u in units)) for n, f in fractions.items()])
        structure.append({"png": path.name, "csv": ["anion_fractions.csv"],
                          "caption": "Fraction of P in each thiophosphate unit (P–S 2.6 Å, P–P 2.6 Å)."})
    structure += _copy_per_system(results, out_dir, f"{Tables.STRUCTURE}/structure.png", "structure",
                                  "g(r), n(r), S(Q), bond angles, anion units and XRD")
    sections.append(("Structure", structure))

    # transport
    transport = []
    trans = {n: d.transport.fitted() for n, d in systems.items() if d.transport is not None}
    if trans:
        path = out_dir / "arrhenius.png"
        figs.arrhenius_figure(trans, path)
        _per_system_csv(out_dir / "arrhenius.csv", ["system", "T_K", "D_cm2_s", "D_err_cm2_s", "sigma_S_cm"],
                        [(n, *row) for n, t in trans.items()
                         for row in zip(t["T_K"], t["D_cm2_s"], t["D_err_cm2_s"], t["sigma_S_cm"])])
        transport.append({"png": path.name, "csv": ["arrhenius.csv"],
                          "caption": "Li diffusion coefficients (1σ: standard error of the full-run "
                                     "slope from the per-ion slopes) and weighted Arrhenius fits over "
                                     "the diffusive temperatures; open symbols: MSD not diffusive in the "
                                     "fit window (exponent < 0.9 or MSD < 4 Å²), not fitted; dashed: "
                                     "extrapolation; band: 1σ of the fit."})
        path = out_dir / "sigma.png"
        figs.sigma_figure(trans, path)
        _per_system_csv(out_dir / "sigma.csv",
                        ["system", "T_K", "sigma_S_cm", "sigma_err_S_cm", "Ea_eV", "Ea_err_eV"],
                        [(n, *(t[k] for k in ("sigma_T_K", "sigma_extrapolated_S_cm",
                                              "sigma_extrapolated_err_S_cm", "Ea_eV", "Ea_err_eV")))
                         for n, t in trans.items() if "sigma_extrapolated_S_cm" in t])
        transport.append({"png": path.name, "csv": ["sigma.csv"],
                          "caption": "Nernst–Einstein conductivity extrapolated along the Arrhenius fit."})
        path = out_dir / "conductivity.png"
        figs.conductivity_figure(trans, path)
        keys = ("T_K", "sigma_S_cm", "sigma_err_S_cm", "sigma_collective_S_cm",
                "sigma_collective_err_S_cm", "haven_ratio", "haven_ratio_err")
        _per_system_csv(out_dir / "conductivity.csv", ["system", *keys],
                        [(n, *row) for n, t in trans.items() for row in zip(*(t[k] for k in keys))])
        transport.append({"png": path.name, "csv": ["conductivity.csv"],
                          "caption": "σ from Nernst–Einstein (self D) beside σ from the collective "
                                     "(charge) MSD, which keeps ion–ion correlations, and the Haven "
                                     "ratio D*/D_σ; 1σ errors (the collective MSD is one trajectory "
                                     "of the summed displacement: its error is large)."})
    transport += _reorientation_figures(results, out_dir)
    transport += _copy_per_system(results, out_dir, "dynamics.png", "dynamics",
                                  "MSD and α₂ against lag (τ_ngp dotted), self van Hove G_s, Li VDOS",
                                  every_T=True)
    sections.append(("Transport", transport))
    regions = _copy_per_system(results, out_dir, "regions.png", "regions",
                               "F(Z) and composition profiles, region-resolved MSD and Li fractions",
                               every_T=True)
    if regions:
        sections.append(("Glass-ceramic regions", regions))

    # softness
    soft = []
    values, profiles = {}, {}
    for n, d in systems.items():
        if d.softness_dir is None:
            continue
        if (d.softness_dir / Tables.SOFTNESS).exists():
            c = read_csv(d.softness_dir / Tables.SOFTNESS)
            if "region" in c:
                for k, region in enumerate(("glass", "interface", "crystal")):
                    sel = c["region"] == k
                    if sel.sum() >= 5:
                        values[f"{n}: {region}"] = c["softness"][sel]
            else:
                values[n] = c["softness"]
        if (d.softness_dir / Tables.PROFILES).exists():
            profiles[n] = read_csv(d.softness_dir / Tables.PROFILES)
    hyperplane = results.softness_model
    if values:
        path = out_dir / "softness_distributions.png"
        figs.softness_figure(values, path)
        _per_system_csv(out_dir / "softness_distributions.csv", ["system", "softness"],
                        [(n, x) for n, v in values.items() for x in v])
        csvs = ["softness_distributions.csv"]
        if hyperplane is not None and (results.softness_model_dir / Tables.SCAN).exists():
            shutil.copyfile(results.softness_model_dir / Tables.SCAN, out_dir / "softness_scan.csv")
            csvs.append("softness_scan.csv")
        soft.append({"png": path.name, "csv": csvs,
                     "caption": "Softness of every Li (hyperplane distance; > 0: predicted mobile)"
                                + (" from one hyperplane, " + _hyperplane_text(hyperplane)
                                   if hyperplane is not None else "") + "."})
    if profiles:
        path = out_dir / "softness_q6.png"
        figs.softness_q6_figure(profiles, path)
        soft.append({"png": path.name, "csv": [], "caption": "Softness and q̄6 profiles along the "
                     "slab normal (data: per-system profiles.csv below)."})
    soft += _copy_per_system(results, out_dir, "softness.png", "softness",
                             "softness distribution of mobile/immobile Li and W(r) with g(r)",
                             softness=True)
    sections.append(("Softness", soft))

    summary = headline(results, study)
    summary["notes"] = study.notes
    summary["pressure"] = {"reference": study.md.pressure_reference,
                           "target_bar": study.md.pressure_bar,
                           "correction_GPa": {name: {f"{T:g}": rec.correction_GPa
                                                     for T, rec in d.pressure.items()}
                                              for name, d in systems.items()}}
    if hyperplane is not None:
        summary["softness"] = hyperplane.model_dump()
    comparisons = literature.compare(results, study)
    summary["literature"] = literature.as_rows(comparisons)
    summary["transport_basis"] = literature.transport_basis(results, study)
    summary["dft_reference"] = literature.dft_reference_rows(results)
    for name in ("literature", "transport_basis", "dft_reference"):
        if summary[name]:
            write_csv(out_dir / f"{name}.csv", list(summary[name][0]),
                      [np.asarray([r[k] for r in summary[name]], str) for k in summary[name][0]])
    write_json(out_dir / "summary.json", {"summary": summary, "provenance": provenance(
        inputs=results.sources, parameters={"study": study.model_dump()})})
    return _write_html(out_dir, study, summary, sections)


def _reorientation_figures(results: StudyResults, out_dir: Path) -> list[dict]:
    """Per system, the PS4 rotational correlation C_1(t) at every temperature
    (``reorientation.csv`` of the analyses): flat near 1 while the tetrahedra only librate."""
    items = []
    for name, d in results.systems.items():
        curves = {}
        for T, folder in sorted(d.analysis_dirs.items()):
            if (folder / Tables.REORIENTATION).exists():
                c = read_csv(folder / Tables.REORIENTATION)
                curves[f"{T:g} K"] = (c["time_ps"], c["C1"])
        if curves:
            items.append(_figure(out_dir, f"ps4_reorientation_{name}", figs.overlay_figure, curves,
                                 "lag (ps)", "C₁(t) = ⟨û(0)·û(t)⟩ of P–S bonds",
                                 f"{name}: PS4 rotational correlation", x="time_ps", y="C1"))
            items[-1]["caption"] = (f"{name}: rotational correlation of the P–S bonds of the PS4 "
                                    "units at each temperature; near 1 while the tetrahedra only "
                                    "librate, → 0 once they flip freely (the fractions of units "
                                    "that flipped are in the headline table).")
    return items


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


def _hyperplane_text(h: SoftnessModelSummary) -> str:
    """The softness hyperplane in a sentence: reference, thresholds, C and accuracies."""
    t = h.thresholds
    return (f"trained on the Li of {', '.join(h.systems)} (D_cum over {h.window_ps:g} ps "
            f"windows: mobile > {t['high']:.3g} Å ({t['high_quantile']:g} quantile), immobile < "
            f"{t['low']:.3g} Å ({t['low_quantile']:g} quantile); C = {h.C:g}; thresholds and C "
            f"by grouped cross-validation, data: softness_scan.csv) and applied to every system: "
            f"accuracy {h.train_accuracy:.2f} on {h.n_train} training samples, "
            f"{h.test_accuracy:.2f} on {h.n_test} samples of {h.n_li_test} held-out Li "
            f"(chance {h.chance:.2f})")


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


def _copy_per_system(results: StudyResults, out_dir: Path, name: str, kind: str, caption: str,
                     every_T=False, softness=False) -> list[dict]:
    """Copy each system's figure with the CSV files and parameters of its folder into the report:
    from its analysis folders (the lowest temperature, or ``every_T``) or its softness folder."""
    items = []
    for n, d in results.systems.items():
        if softness:
            sources = [(d.softness_dir, "")] if d.softness_dir is not None else []
        else:
            temps = sorted(d.analysis_dirs) if every_T else sorted(d.analysis_dirs)[:1]
            sources = [(d.analysis_dirs[T], f"-{T:g}K") for T in temps]
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


_LITERATURE_COLUMNS = ("quantity", "system", "ionscope", "published", "source", "verdict", "context")


def _rows_table(rows: list[dict], columns, classed: tuple[str, ...] = ()) -> str:
    """An HTML table with a row per dict of ``rows`` and the given ``columns``; a cell of a
    ``classed`` column carries its value as CSS class (the verdicts' colours)."""
    def cell(c, value) -> str:
        attr = f" class='{str(value).replace(' ', '-')}'" if c in classed else ""
        return f"<td{attr}>{html.escape(str(value))}</td>"

    return ("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>"
            + "".join("<tr>" + "".join(cell(c, r[c]) for c in columns) + "</tr>" for r in rows)
            + "</table>")


def _literature_table(rows: list[dict], basis: list[dict]) -> str:
    """The headline numbers beside the published ones, with the verdict of each
    (:mod:`ionscope.report.literature`), and what the transport numbers rest on."""
    table = ("<h2>Compared with the literature</h2><p>Verdicts use ±2 standard errors; "
             "'within errors' means the study cannot tell the two apart. The context of an "
             "ordering gives the gap in combined standard errors and, for σ, the ratio measured at "
             "the simulated temperatures, before any extrapolation. Data: "
             "<a href='literature.csv'>literature.csv</a>.</p>"
             + _rows_table(rows, _LITERATURE_COLUMNS, classed=("verdict",)))
    if basis:
        table += ("<h3>What the transport numbers rest on</h3><p>Per system: the protocol (the "
                  "temperatures fitted, those left out as sub-diffusive, how far σ is extrapolated "
                  "beyond the fitted range of 1/T), the statistics (standard errors), the "
                  "potential (committee force deviation on the production frames) and the "
                  "framework (PS4 units that flipped: a fit across the onset of PS4 rotation "
                  "joins two phases). A verdict that turns on a long extrapolation or a large "
                  "deviation says more about the chain than about the physics. Data: "
                  "<a href='transport_basis.csv'>transport_basis.csv</a>.</p>"
                  + _rows_table(basis, list(basis[0])))
    return table


def _dft_reference_table(rows: list[dict]) -> str:
    """The structure of each system's MD beside DFT-labelled frames of the same material
    (:func:`ionscope.report.literature.dft_reference_rows`); empty without such frames."""
    if not rows:
        return ""
    return ("<h3>The structure against DFT frames</h3><p>The MD of the lowest temperature beside "
            "DFT-labelled frames of the same material (bonds: pairs within "
            f"{BondEnvironments().cutoff:g} Å). A quantity of the MD outside the DFT frames' range "
            "(verdict 'higher' or 'lower', ±2 block standard errors) is chemistry the potential "
            "made that DFT was not shown, unless the compositions differ (below): the potential's "
            "part of the chain, which carries into every transport number of that system. Data: "
            "<a href='dft_reference.csv'>dft_reference.csv</a>.</p>"
            + _rows_table(rows, ["system", "quantity", "MD", "DFT frames", "verdict"],
                          classed=("verdict",))
            + "<p>DFT frames: " + "; ".join(sorted({html.escape(f"{r['system']}: {r['DFT frames are']}")
                                                  for r in rows})) + ".</p>")


def _write_html(out_dir: Path, study, summary: dict, sections) -> Path:
    pot = summary["potential"]
    body = [f"<p>Potential: <code>{html.escape(str(pot['name']))}</code>"
            + (f" (validation RMSE: {_fmt(pot['validation_rmse'])})" if pot["validation_rmse"] else "")
            + ". Machine-readable numbers: <a href='summary.json'>summary.json</a>.</p>",
            f"<p>{_pressure_text(summary['pressure'], study.md)}</p>",
            headline_table(summary["systems"]),
            _literature_table(summary["literature"], summary["transport_basis"]),
            _dft_reference_table(summary["dft_reference"])]
    for title, items in sections:
        if items:
            body.append(f"<h2>{html.escape(title)}</h2>")
            body += [figure(item["png"], item["caption"], item["csv"], item.get("params"))
                     for item in items]
    body.append("<h2>Study file</h2><pre>" + html.escape(json.dumps(study.model_dump(), indent=1)) +
                "</pre>")
    return write_page(out_dir / "index.html", study.name, body, [study.notes] if study.notes else [])
