"""The softness study of one trajectory: rearrangements → labels → features → hyperplane →
softness of every Li and what it correlates with, written as CSV, JSON and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.softness import (RadialFeatures, SoftnessModel, correlate, cumulative_d2min,
                                 mobility_labels, train_softness, unit_environment)
from ..analysis.structure import RDF, voronoi_volumes
from ..provenance import provenance, write_json
from ..report.tables import write_csv


def softness_study(traj, out_dir: str | Path, increment_ps: float = 1.0, radius: float = 5.0,
                   high_quantile: float = 0.8, low_quantile: float = 0.4,
                   features: RadialFeatures | None = None, seed: int = 0,
                   model: SoftnessModel | None = None, stop: int | None = None,
                   axis: int | None = None, profile_bins: int = 20,
                   energy_model: str | Path | None = None) -> dict:
    """Label Li by D_cum over the trajectory (mobile above the ``high_quantile``, immobile below
    the ``low_quantile`` of D_cum), learn softness from the structure of the first frame
    (or apply a given ``model``), and relate it to anion units and Voronoi volume. With
    ``axis`` (a glass-ceramic), also the profiles of softness and q̄6 along it with their
    correlation, and softness per region (glass / interface / crystal from F(Z)). With a DeePMD
    ``energy_model``, also the correlation with the per-atom potential energy."""
    out_dir = Path(out_dir)
    features = features or RadialFeatures()
    rearr = cumulative_d2min(traj, "Li", radius=radius, increment_ps=increment_ps, stop=stop)
    first = traj.atoms(int(rearr.frames[0]))
    X = features.compute(first, rearr.indices)
    high, low = np.quantile(rearr.d_cum, high_quantile), np.quantile(rearr.d_cum, low_quantile)
    labels = mobility_labels(rearr.d_cum, high, low)
    summary: dict = {"n_li": len(rearr.indices), "thresholds": {"high": high, "low": low},
                     "n_mobile": int(np.sum(labels == 1)), "n_immobile": int(np.sum(labels == 0))}
    if model is None:
        fit = train_softness(X, labels, seed=seed)
        model = fit.model
        summary.update(train_accuracy=fit.train_accuracy, test_accuracy=fit.test_accuracy, C=fit.C,
                       n_train=fit.n_train, n_test=fit.n_test, chance=fit.chance)
        model.save(out_dir / "softness_model.joblib", features=vars(features))
    softness = model.decision_function(X)
    env = unit_environment(first, rearr.indices)
    volumes = voronoi_volumes(first.positions, first.cell.array)[rearr.indices]
    related = {**{f"S in {u}": v for u, v in env.items()}, "Voronoi volume": volumes,
               "D_cum": rearr.d_cum}
    if energy_model is not None:
        from ..analysis.softness import atomic_energies

        related["atomic energy"] = atomic_energies(energy_model, first)[rearr.indices]
    summary["correlations"] = correlate(softness, related)
    columns = {"atom": rearr.indices, "softness": softness, "d_cum": rearr.d_cum, "label": labels,
               "voronoi_volume": volumes, **{f"frac_S_{u}": v for u, v in env.items()}}
    if axis is not None:
        summary["along_axis"], columns["region"] = _axis_relations(
            first, rearr.indices, softness, axis, profile_bins, out_dir)
    write_csv(out_dir / "softness.csv", list(columns), list(columns.values()))
    weights = model.weights_by_species(features)
    rdf = RDF(r_max=features.r_cutoff, bins=len(features.grid),
              pairs=[("Li", s) for s in features.species]).compute(first)
    write_csv(out_dir / "weights.csv", ["r"] + [f"W_Li{s}" for s in weights] + [f"g_Li{s}" for s in weights],
              [features.grid] + list(weights.values()) +
              [np.interp(features.grid, rdf.results.r, rdf.results.g[("Li", s)]) for s in weights])
    write_json(out_dir / "summary.json", {"summary": summary, "provenance": provenance(
        inputs={"trajectory": traj.path}, parameters={"increment_ps": increment_ps, "radius": radius,
                                                     "high_quantile": high_quantile,
                                                     "low_quantile": low_quantile, "seed": seed,
                                                     "features": vars(features)})})
    _figure(softness, labels, features, weights, rdf.results, out_dir / "softness.png")
    return summary


def _axis_relations(atoms, li, softness, axis, bins, out_dir) -> dict:
    """Softness and q̄6 profiles along ``axis`` (Pearson r over slabs), softness by region, and
    the region code of every Li (0 glass, 1 interface, 2 crystal)."""
    from ..analysis.dynamics.regions import REGIONS, SlabRegions
    from ..analysis.softness import axis_profile, correlate
    from ..analysis.structure import Steinhardt, order_profile

    q6 = Steinhardt(l=6, r_cut=5.0, average=True).compute(atoms).results.qbar[6]
    cell = atoms.cell.array
    soft_profile = axis_profile(softness, atoms.positions[li], cell, axis, bins)
    q6_profile = axis_profile(q6, atoms.positions, cell, axis, bins)
    ok = np.isfinite(soft_profile.mean)
    r = correlate(soft_profile.mean[ok], {"q6bar": q6_profile.mean[ok]})["q6bar"]
    write_csv(out_dir / "profiles.csv", ["z", "softness", "q6bar"],
              [soft_profile.z, soft_profile.mean, q6_profile.mean])
    regions = SlabRegions.from_profile(order_profile(atoms, axis=axis), axis=axis)
    codes = regions.labels(atoms.positions[li][None], cell[None])[0]
    by_region = {name: {"n_li": int(np.sum(codes == k)),
                        "mean_softness": float(np.mean(softness[codes == k])) if np.any(codes == k) else None,
                        "fraction_soft": float(np.mean(softness[codes == k] > 0)) if np.any(codes == k) else None}
                 for k, name in enumerate(REGIONS)}
    histograms = {name: np.histogram(softness[codes == k], bins=20)[0].tolist()
                  for k, name in enumerate(REGIONS)}
    return {"profile_correlation_softness_q6bar": r, "regions": by_region,
            "histograms": histograms}, codes


def _figure(softness, labels, features, weights, rdf, path) -> None:
    from ..report.figures import _pyplot, save

    plt = _pyplot()
    fig, (ax_d, ax_w) = plt.subplots(1, 2, figsize=(11, 4.2))
    bins = np.linspace(softness.min(), softness.max(), 40)
    ax_d.hist(softness, bins=bins, color="0.7", label="all Li")
    ax_d.hist(softness[labels == 1], bins=bins, histtype="step", lw=2, label="mobile (D_cum)")
    ax_d.hist(softness[labels == 0], bins=bins, histtype="step", lw=2, label="immobile (D_cum)")
    ax_d.set(xlabel="softness", ylabel="Li count", title="softness distribution")
    ax_d.legend(fontsize=8)
    for s, w in weights.items():
        ax_w.plot(features.grid, w, label=f"W(r), Li–{s}")
    twin = ax_w.twinx()
    for s in weights:
        twin.plot(rdf.r, rdf.g[("Li", s)], ls=":", lw=1)
    twin.set_ylabel("g(r) (dotted)")
    ax_w.axhline(0, color="k", lw=0.5)
    ax_w.set(xlabel="r (Å)", ylabel="hyperplane weight", title="W(r) with g(r)")
    ax_w.legend(fontsize=8)
    fig.tight_layout()
    save(fig, path)
