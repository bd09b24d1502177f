"""The softness study: rearrangements → labels → features → hyperplane → softness of every Li
and what it correlates with, written as CSV, JSON and figures. In a study one hyperplane is
trained on reference trajectories (:func:`train_reference`) and applied to every system
(:func:`softness_study` with its ``model`` and ``thresholds``, :func:`held_out_accuracy`), so
that the softness of different systems is measured against the same plane (Schoenholz et al.,
Nat. Phys. 12, 469 (2016); Chen et al., Nat. Commun. 16, 1057 (2025))."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from ..analysis.dynamics._access import frame_times
from ..analysis.dynamics.regions import REGIONS, SlabRegions
from ..analysis.softness import (
    RadialFeatures,
    SoftnessModel,
    atomic_energies,
    axis_profile,
    correlate,
    cumulative_d2min,
    mobility_labels,
    select_softness,
    train_softness,
    unit_environment,
)
from ..analysis.structure import RDF, Steinhardt, order_profile, voronoi_volumes
from ..io.tables import write_csv
from ..provenance import provenance
from ..report.figures import _pyplot, save
from ..report.summaries import SoftnessModelSummary, SoftnessSummary, Tables


def window_frames(traj, increment_ps: float, window_ps: float) -> int:
    """Frames spanned by a D_cum window of ``window_ps`` (whole increments of ``increment_ps``)."""
    times, dt = frame_times(traj, 0, None, 1)
    lag = int(round(increment_ps / dt))
    per_window = int(round(window_ps / increment_ps))
    if lag < 1 or per_window < 1 or per_window * lag >= len(times):
        raise ValueError(f"{traj.path}: a {window_ps:g} ps window of {increment_ps:g} ps increments "
                         f"does not fit the {times[-1] - times[0]:.3g} ps run (frames every {dt:g} ps)")
    return per_window * lag


def window_samples(traj, features: RadialFeatures, increment_ps: float, radius: float,
                   window_ps: float) -> list[SimpleNamespace]:
    """Li environments of consecutive windows of ``window_ps`` (as many as the run holds): the
    radial features of each window's first frame and D_cum over the window, so every Li gives
    one sample per window with the same D_cum time span in every system."""
    span = window_frames(traj, increment_ps, window_ps)
    out = []
    for start in range(0, len(traj) - span, span):
        rearr = cumulative_d2min(traj, "Li", radius=radius, increment_ps=increment_ps,
                                 start=start, stop=start + span + 1)
        atoms = traj.atoms(start)
        out.append(SimpleNamespace(frame=start, indices=rearr.indices, d_cum=rearr.d_cum,
                                   X=features.compute(atoms, rearr.indices)))
    return out


def _accuracy(model: SoftnessModel, X: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy, balanced accuracy, chance (majority class) and count of labelled samples."""
    if len(y) == 0:
        return {"accuracy": None, "balanced_accuracy": None, "chance": None, "n": 0}
    predicted = model.predict(X)
    both = len(np.unique(y)) == 2
    return {"accuracy": float(np.mean(predicted == y)),
            "balanced_accuracy": float(balanced_accuracy_score(y, predicted)) if both else None,
            "chance": float(max(np.mean(y), 1 - np.mean(y))), "n": int(len(y))}


def train_reference(trajs: dict, out_dir: str | Path, features: RadialFeatures | None = None,
                    increment_ps: float = 1.0, radius: float = 5.0, windows: int = 3,
                    seed: int = 0, reference: str = "all") -> dict:
    """Train one hyperplane on the Li of the reference trajectories ``trajs`` ({system: traj},
    pooled) with thresholds and C chosen by :func:`select_softness` on training Li only, and
    score it on held-out Li (per system too). Each run is cut into ``windows`` D_cum windows
    (the length is set by the shortest run). Writes ``softness_model.joblib`` (with the absolute
    D_cum thresholds, window and held-out Li in its metadata), ``scan.csv`` and ``summary.json``."""
    out_dir = Path(out_dir)
    features = features or RadialFeatures()
    durations = [frame_times(t, 0, None, 1)[0] for t in trajs.values()]
    window_ps = min(float(t[-1] - t[0]) for t in durations) / windows
    window_ps = max(1, int(window_ps / increment_ps + 1e-6)) * increment_ps
    samples = {name: window_samples(traj, features, increment_ps, radius, window_ps)
               for name, traj in trajs.items()}
    rows = [(name, s) for name, ws in samples.items() for s in ws]
    X = np.vstack([s.X for _, s in rows])
    d_cum = np.concatenate([s.d_cum for _, s in rows])
    system = np.concatenate([[name] * len(s.indices) for name, s in rows])
    atom = np.concatenate([s.indices for _, s in rows])
    groups = np.array([f"{n}:{a}" for n, a in zip(system, atom)])
    fit = select_softness(X, d_cum, groups, seed=seed)
    per_system, held_out = {}, {}
    for name in trajs:
        test = fit.test_rows[system[fit.test_rows] == name]
        per_system[name] = _accuracy(fit.model, X[test], fit.labels[test])
        held_out[name] = sorted({int(g.split(":")[1]) for g in fit.test_groups
                                 if g.split(":")[0] == name})
    summary = {"reference": reference, "systems": list(trajs), "window_ps": window_ps,
               "windows": {n: len(ws) for n, ws in samples.items()}, "n_li_samples": len(d_cum),
               "thresholds": {"high": fit.high, "low": fit.low, "high_quantile": fit.high_quantile,
                              "low_quantile": fit.low_quantile},
               "C": fit.C, "cv_balanced_accuracy": fit.cv_balanced_accuracy,
               "train_accuracy": fit.train_accuracy, "test_accuracy": fit.test_accuracy,
               "test_balanced_accuracy": fit.test_balanced_accuracy, "chance": fit.chance,
               "n_train": fit.n_train, "n_test": fit.n_test,
               "n_li_train": len(fit.train_groups), "n_li_test": len(fit.test_groups),
               "test_by_system": per_system}
    parameters = {"increment_ps": increment_ps, "radius": radius, "window_ps": window_ps,
                  "seed": seed, "reference": reference, "features": vars(features)}
    fit.model.save(out_dir / "softness_model.joblib", features=vars(features),
                   thresholds={"high": fit.high, "low": fit.low}, C=fit.C, held_out_li=held_out,
                   **{k: v for k, v in parameters.items() if k != "features"})
    keys = list(fit.scan[0])
    write_csv(out_dir / Tables.SCAN, keys, [[r[k] for r in fit.scan] for k in keys])
    return SoftnessModelSummary(**summary).write(out_dir, provenance(
        inputs={n: t.path for n, t in trajs.items()}, parameters=parameters))


def held_out_accuracy(model: SoftnessModel, meta: dict, traj, system: str) -> dict:
    """Accuracy of a reference ``model`` on the Li of ``system`` never seen in its training: every
    Li of a system outside the reference, the held-out Li of a reference system; labelled with
    the model's absolute D_cum thresholds over windows of its length."""
    features = RadialFeatures(**meta["features"])
    samples = window_samples(traj, features, meta["increment_ps"], meta["radius"], meta["window_ps"])
    held = meta["held_out_li"].get(system)
    X, y = [], []
    for s in samples:
        labels = mobility_labels(s.d_cum, meta["thresholds"]["high"], meta["thresholds"]["low"])
        keep = (labels >= 0) & (np.isin(s.indices, held) if held is not None else True)
        X.append(s.X[keep])
        y.append(labels[keep])
    out = _accuracy(model, np.vstack(X), np.concatenate(y))
    out["li"] = "held-out Li of a reference system" if held is not None else "every Li (not a reference)"
    return out


def softness_study(traj, out_dir: str | Path, increment_ps: float = 1.0, radius: float = 5.0,
                   high_quantile: float = 0.8, low_quantile: float = 0.4,
                   features: RadialFeatures | None = None, seed: int = 0,
                   model: SoftnessModel | None = None, stop: int | None = None,
                   axis: int | None = None, profile_bins: int = 20,
                   energy_model: str | Path | None = None,
                   thresholds: tuple[float, float] | None = None) -> dict:
    """Label Li by D_cum over the trajectory up to frame ``stop`` (mobile above the
    ``high_quantile``, immobile below the ``low_quantile`` of D_cum, or above / below the absolute
    ``thresholds`` (high, low) of a reference model), learn softness from the structure of the
    first frame (or apply a given ``model``), and relate it to anion units and Voronoi volume. With
    ``axis`` (a glass-ceramic), also the profiles of softness and q̄6 along it with their
    correlation, and softness per region (glass / interface / crystal from F(Z)). With a DeePMD
    ``energy_model``, also the correlation with the per-atom potential energy."""
    out_dir = Path(out_dir)
    features = features or RadialFeatures()
    rearr = cumulative_d2min(traj, "Li", radius=radius, increment_ps=increment_ps, stop=stop)
    first = traj.atoms(int(rearr.frames[0]))
    X = features.compute(first, rearr.indices)
    high, low = thresholds or (np.quantile(rearr.d_cum, high_quantile),
                               np.quantile(rearr.d_cum, low_quantile))
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
    summary.update(mean_softness=float(np.mean(softness)),
                   fraction_soft=float(np.mean(softness > 0)))
    env = unit_environment(first, rearr.indices)
    volumes = voronoi_volumes(first.positions, first.cell.array)[rearr.indices]
    related = {**{f"S in {u}": v for u, v in env.items()}, "Voronoi volume": volumes,
               "D_cum": rearr.d_cum}
    if energy_model is not None:
        related["atomic energy"] = atomic_energies(energy_model, first)[rearr.indices]
    summary["correlations"] = correlate(softness, related)
    columns = {"atom": rearr.indices, "softness": softness, "d_cum": rearr.d_cum, "label": labels,
               "voronoi_volume": volumes, **{f"frac_S_{u}": v for u, v in env.items()}}
    if axis is not None:
        summary["along_axis"], columns["region"] = _axis_relations(
            first, rearr.indices, softness, axis, profile_bins, out_dir)
    write_csv(out_dir / Tables.SOFTNESS, list(columns), list(columns.values()))
    weights = model.weights_by_species(features)
    rdf = RDF(r_max=features.r_cutoff, bins=len(features.grid),
              pairs=[("Li", s) for s in features.species]).compute(first)
    write_csv(out_dir / "weights.csv", ["r"] + [f"W_Li{s}" for s in weights] + [f"g_Li{s}" for s in weights],
              [features.grid] + list(weights.values()) +
              [np.interp(features.grid, rdf.results.r, rdf.results.g[("Li", s)]) for s in weights])
    summary = SoftnessSummary(**summary).write(out_dir, provenance(
        inputs={"trajectory": traj.path}, parameters={"increment_ps": increment_ps, "radius": radius,
                                                     "high_quantile": high_quantile,
                                                     "low_quantile": low_quantile, "seed": seed,
                                                     "features": vars(features)}))
    _figure(softness, labels, features, weights, rdf.results, out_dir / "softness.png")
    return summary


def _axis_relations(atoms, li, softness, axis, bins, out_dir) -> dict:
    """Softness and q̄6 profiles along ``axis`` (Pearson r over slabs), softness by region, and
    the region code of every Li (0 glass, 1 interface, 2 crystal)."""
    q6 = Steinhardt(l=6, r_cut=5.0, average=True).compute(atoms).results.qbar[6]
    cell = atoms.cell.array
    soft_profile = axis_profile(softness, atoms.positions[li], cell, axis, bins)
    q6_profile = axis_profile(q6, atoms.positions, cell, axis, bins)
    ok = np.isfinite(soft_profile.mean)
    r = correlate(soft_profile.mean[ok], {"q6bar": q6_profile.mean[ok]})["q6bar"]
    write_csv(out_dir / Tables.PROFILES, ["z", "softness", "q6bar"],
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
