"""The standard structure analysis of one system: g(r), n(r), S(Q), bond angles, anion units,
Voronoi volumes, Steinhardt order and XRD crystallinity, written as CSV, JSON and a figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.structure import (
    RDF,
    AnionSpeciation,
    BondAngles,
    DirectStructureFactor,
    Steinhardt,
    VoronoiVolume,
    coordination_number,
    crystallinity,
    mean_bond_length,
    structure_factors,
    xrd_pattern,
)
from ..io.tables import write_csv
from ..provenance import provenance
from ..report.figures import structure_figure
from ..report.summaries import StructureSummary, Tables

DEFAULTS = {"r_max": 8.0, "dr": 0.02, "ps_cutoff": 2.6, "pp_cutoff": 2.6, "lis_cutoff": 3.0,
            "q6_species": "S", "q6_r_cut": 5.0, "sq_method": "direct", "q_max": 15.0}


def analyse_structure(source, name: str, out_dir: str | Path, start: int = 0,
                      stop: int | None = None, step: int = 1, progress: bool = False,
                      **params) -> dict:
    """Run every structure analysis on ``source`` (an ASE ``Atoms`` or a ``Trajectory``,
    averaged over frames ``start:stop:step``) and write ``out_dir/name/``. Returns the summary
    (a :class:`~ionscope.report.summaries.StructureSummary` as a dict)."""
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
    summary = StructureSummary(
        system=name, atoms=len(last), frames=analyses["rdf"].n_frames,
        density_g_cm3=float(last.get_masses().sum() / last.get_volume() * 1.66053906660),
        p_s_bond_length_A=mean_bond_length(rdf, ("P", "S"), p["ps_cutoff"]),
        li_s_coordination=coordination_number(rdf, ("Li", "S"), p["lis_cutoff"]),
        li_s_cutoff_A=p["lis_cutoff"],
        sps_angle_peak_deg=ang.peak[("S", "P", "S")],
        sps_angle_mean_deg=float(ang.mean[("S", "P", "S")]),
        anion_p_fractions={k: float(v) for k, v in units.mean_p_fraction.items()},
        other_units=units.other_formulas,
        voronoi_volume_A3={k: float(v) for k, v in analyses["voronoi"].results.mean.items()},
        q6_species=p["q6_species"],
        q6=float(analyses["q6"].results.ql[6].mean()),
        q6bar=float(analyses["q6"].results.qbar[6].mean()),
        xrd_crystallinity=cryst.crystallinity,
        sq_method=sq.method,
    )
    pairs = list(rdf.g)
    write_csv(out / Tables.RDF, ["r"] + [Tables.pair("g", a, b) for a, b in pairs]
              + [Tables.pair("n", a, b) for a, b in pairs],
              [r] + [rdf.g[k] for k in pairs] + [rdf.n[k] for k in pairs])
    write_csv(out / Tables.SQ, ["Q", "S_neutron", "S_xray", "I_neutron", "I_xray"]
              + [Tables.pair("S", a, b) for a, b in sq.partial],
              [sq.q, sq.neutron, sq.xray, sq.neutron_intensity, sq.xray_intensity] + list(sq.partial.values()))
    write_csv(out / Tables.ANGLES, ["angle"] + [Tables.angle(t) for t in ang.p],
              [ang.angles] + list(ang.p.values()))
    write_csv(out / Tables.XRD, ["two_theta", "intensity", "background"],
              [xrd.two_theta, xrd.intensity, cryst.background])
    record = summary.write(out, provenance(
        inputs={"source": getattr(source, "path", None)}, parameters={**p, "start": start,
                                                                     "stop": stop, "step": step}))
    structure_figure(name, rdf, sq, ang, units, xrd, cryst, out / "structure.png")
    return record
