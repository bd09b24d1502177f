"""The standard structure analysis of one system: g(r), n(r), S(Q), bond angles, anion units,
Voronoi volumes, Steinhardt order and XRD crystallinity, written as CSV, JSON and a figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.structure import (RDF, AnionSpeciation, BondAngles, DirectStructureFactor, Steinhardt,
                                  VoronoiVolume, coordination_number, crystallinity,
                                  mean_bond_length, structure_factors, xrd_pattern)
from ..provenance import provenance, write_json
from ..report.tables import write_csv

DEFAULTS = {"r_max": 8.0, "dr": 0.02, "ps_cutoff": 2.6, "pp_cutoff": 2.6, "lis_cutoff": 3.0,
            "q6_species": "S", "q6_r_cut": 5.0, "sq_method": "direct", "q_max": 15.0}


def analyse_structure(source, name: str, out_dir: str | Path, start: int = 0,
                      stop: int | None = None, step: int = 1, progress: bool = False,
                      **params) -> dict:
    """Run every structure analysis on ``source`` (an ASE ``Atoms`` or a ``Trajectory``,
    averaged over frames ``start:stop:step``) and write ``out_dir/name/``. Returns the summary."""
    p = {**DEFAULTS, **params}
    if p["sq_method"] not in ("direct", "g(r)"):
        raise ValueError(f"sq_method must be 'direct' or 'g(r)', got {p['sq_method']!r}")
    out = Path(out_dir) / name
    is_structure = hasattr(source, "get_chemical_symbols")
    analyses = {
        "rdf": RDF(r_max=p["r_max"], dr=p["dr"]),
        "angles": BondAngles([("S", "P", "S"), ("S", "Li", "S"), ("Li", "S", "Li")],
                             cutoffs={("P", "S"): p["ps_cutoff"], ("Li", "S"): p["lis_cutoff"]}),
        "units": AnionSpeciation(ps_cutoff=p["ps_cutoff"], pp_cutoff=p["pp_cutoff"]),
        "voronoi": VoronoiVolume(),
        "q6": Steinhardt(l=[4, 6], r_cut=p["q6_r_cut"], average=True, species=p["q6_species"]),
    }
    if p["sq_method"] == "direct":   # S(Q) from the reciprocal lattice of the cell: no truncation
        analyses["sq"] = DirectStructureFactor(q_max=p["q_max"])
    for analysis in analyses.values():
        if is_structure:
            analysis.compute(source)
        else:
            analysis.run(source, start=start, stop=stop, step=step, progress=progress)
    last = source if is_structure else source.atoms(range(len(source))[start:stop:step][-1])
    rdf = analyses["rdf"].results
    if p["sq_method"] == "direct":
        sq = analyses["sq"].results
    else:  # below 2π/r_max the truncated g(r) carries no information
        sq = structure_factors(rdf, q=np.linspace(2 * np.pi / p["r_max"], p["q_max"], 500))
    xrd = xrd_pattern(last)
    cryst = crystallinity(xrd.two_theta, xrd.intensity)
    ang = analyses["angles"].results
    units = analyses["units"].results
    r = rdf.r
    summary = {
        "system": name, "atoms": int(len(last)), "frames": analyses["rdf"].n_frames,
        "density_g_cm3": float(last.get_masses().sum() / last.get_volume() * 1.66053906660),
        "P-S bond length (Å)": mean_bond_length(rdf, ("P", "S"), p["ps_cutoff"]),
        "Li-S coordination": coordination_number(rdf, ("Li", "S"), p["lis_cutoff"]),
        "Li-S cutoff (Å)": p["lis_cutoff"],
        "S-P-S angle peak (deg)": ang.peak[("S", "P", "S")],
        "S-P-S angle mean (deg)": float(ang.mean[("S", "P", "S")]),
        "anion P fractions": {k: float(v) for k, v in units.mean_p_fraction.items()},
        "other units": units.other_formulas,
        "Voronoi volume (Å3)": {k: float(v) for k, v in analyses["voronoi"].results.mean.items()},
        f"q6 ({p['q6_species']})": float(analyses["q6"].results.ql[6].mean()),
        f"q6bar ({p['q6_species']})": float(analyses["q6"].results.qbar[6].mean()),
        "XRD crystallinity": cryst.crystallinity,
        "S(Q) method": sq.method,
    }
    pairs = list(rdf.g)
    write_csv(out / "rdf.csv", ["r"] + [f"g_{a}{b}" for a, b in pairs] + [f"n_{a}{b}" for a, b in pairs],
              [r] + [rdf.g[k] for k in pairs] + [rdf.n[k] for k in pairs])
    write_csv(out / "sq.csv", ["Q", "S_neutron", "S_xray", "I_neutron", "I_xray"]
              + [f"S_{a}{b}" for a, b in sq.partial],
              [sq.q, sq.neutron, sq.xray, sq.neutron_intensity, sq.xray_intensity] + list(sq.partial.values()))
    write_csv(out / "angles.csv", ["angle"] + ["-".join(t) for t in ang.p],
              [ang.angles] + list(ang.p.values()))
    write_csv(out / "xrd.csv", ["two_theta", "intensity", "background"],
              [xrd.two_theta, xrd.intensity, cryst.background])
    write_json(out / "summary.json", {"summary": summary, "provenance": provenance(
        inputs={"source": getattr(source, "path", None)}, parameters={**p, "start": start,
                                                                     "stop": stop, "step": step})})
    from ..report.figures import structure_figure

    structure_figure(name, rdf, sq, ang, units, xrd, cryst, out / "structure.png")
    return summary
