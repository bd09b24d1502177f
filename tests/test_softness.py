"""Softness: D²min against matscipy, and the classifier on data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from ionscope.analysis.softness import (RadialFeatures, SoftnessModel, d2min, mobility_labels,
                                        scan, select_softness, train_softness)


def _disordered(rng, n=300, length=15.0):
    symbols = np.array(["Li"] * (n // 2) + ["S"] * (n - n // 2))
    return Atoms(symbols=symbols, positions=rng.uniform(0, length, (n, 3)),
                 cell=np.eye(3) * length, pbc=True)


def test_d2min_matches_matscipy(rng):
    pytest.importorskip("matscipy")
    from matscipy.atomic_strain import atomic_strain
    from matscipy.neighbours import neighbour_list

    old = _disordered(rng)
    new = old.copy()
    new.positions += rng.normal(0, 0.15, new.positions.shape)
    ours = d2min(old.positions, new.positions, old.cell.array, old.symbols, radius=4.0)
    i, j = neighbour_list("ij", old, 4.0)  # neighbours of the reference frame, as ours
    _, ref = atomic_strain(new, old, neighbours=(i, j))
    ok = np.isfinite(ours)
    np.testing.assert_allclose(ours[ok], ref[ok], rtol=1e-8, atol=1e-10)


def test_affine_deformation_has_no_d2min(rng):
    old = _disordered(rng)
    strain = np.array([[1.03, 0.02, 0.0], [0.0, 0.98, 0.01], [0.0, 0.0, 1.01]])
    new_positions = old.positions @ strain.T
    out = d2min(old.positions, new_positions, old.cell.array, old.symbols, radius=4.0,
                new_cell=old.cell.array @ strain.T)
    np.testing.assert_allclose(out[np.isfinite(out)], 0.0, atol=1e-20)
    assert np.all(mobility_labels(np.array([0.1, 0.5, 0.9]), high=0.8, low=0.2) == [0, -1, 1])
    with pytest.raises(ValueError):
        mobility_labels(np.zeros(3), high=0.1, low=0.2)


def _density_mobility_data(rng, frames=6):
    """Mobility is, by construction, low local density: Li with fewer atoms within 3 Å are
    'mobile'. Returns features, labels and the feature builder."""
    feats = RadialFeatures(species=("Li", "S"), centre="Li", r_cutoff=6.0, dr=0.25)
    X, counts = [], []
    for _ in range(frames):
        atoms = _disordered(rng, n=400, length=16.0)
        li = np.flatnonzero(atoms.symbols == "Li")
        X.append(feats.compute(atoms, li))
        d = atoms.get_all_distances(mic=True)[li]
        counts.append(((d < 3.0) & (d > 0)).sum(axis=1))
    X, counts = np.vstack(X), np.concatenate(counts)
    d_cum = -counts + rng.normal(0, 0.3, len(counts))  # sparser environment, more motion
    labels = mobility_labels(d_cum, np.quantile(d_cum, 0.6), np.quantile(d_cum, 0.4))
    return X, labels, feats


def test_softness_learns_density_controlled_mobility(rng):
    X, labels, feats = _density_mobility_data(rng)
    fit = train_softness(X, labels, seed=1)
    assert fit.test_accuracy > 0.85 and fit.n_test > 100
    w = fit.model.weights_by_species(feats)
    near = feats.grid < 2.8
    # more neighbours at short range → less mobile: negative weights there
    assert w["Li"][near].sum() < 0 and w["S"][near].sum() < 0
    softness = fit.model.decision_function(X[labels >= 0])
    y = labels[labels >= 0]
    assert softness[y == 1].mean() > 0 > softness[y == 0].mean()


def _system(rng, kind: str, frames: int, feats: RadialFeatures):
    """Li environments of ``frames`` configurations of a 'glass' (random, 400 atoms in 16 Å) or a
    'crystal' (fcc, nearest neighbours 2.1 Å, denser, small thermal noise), with a D_cum that is
    by construction minus the number of atoms within 3 Å (plus noise): sparse means mobile."""
    X, d_cum, groups = [], [], []
    for k in range(frames):
        if kind == "glass":
            atoms = _disordered(rng, n=400, length=16.0)
        else:
            grid = np.stack(np.meshgrid(*[np.arange(5)] * 3, indexing="ij"), -1).reshape(-1, 3)
            basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
            a = 2.1 * np.sqrt(2)
            positions = ((grid[:, None] + basis[None]).reshape(-1, 3) * a
                         + rng.normal(0, 0.08, (500, 3)))
            symbols = rng.permutation(np.array(["Li", "S"] * 250))
            atoms = Atoms(symbols=symbols, positions=positions, cell=np.eye(3) * 5 * a, pbc=True)
        li = np.flatnonzero(atoms.symbols == "Li")
        d = atoms.get_all_distances(mic=True)[li]
        X.append(feats.compute(atoms, li))
        d_cum.append(-((d < 3.0) & (d > 0)).sum(axis=1) + rng.normal(0, 0.3, len(li)))
        groups += [f"{kind}{k}:{i}" for i in li]
    return np.vstack(X), np.concatenate(d_cum), np.array(groups)


def test_one_hyperplane_separates_mobile_and_immobile_li_of_another_system(rng):
    """Thresholds and C chosen by the scan on training Li only; the plane trained on one glass
    labels a second, never seen glass by the same absolute D_cum thresholds well above chance."""
    feats = RadialFeatures(species=("Li", "S"), centre="Li", r_cutoff=6.0, dr=0.25)
    X, d_cum, groups = _system(rng, "glass", 4, feats)
    fit = select_softness(X, d_cum, groups, Cs=(0.01, 1.0), seed=1)
    assert not set(fit.train_groups) & set(fit.test_groups)
    assert len(fit.test_groups) == pytest.approx(0.25 * len(set(groups)), abs=1)
    assert len(fit.scan) == 9 * 2 and fit.C in (0.01, 1.0)
    best = max(fit.scan, key=lambda r: r["cv_balanced_accuracy"])
    assert (fit.high, fit.low, fit.C) == (best["high"], best["low"], best["C"])
    train = np.isin(groups, fit.train_groups)
    assert fit.high == pytest.approx(np.quantile(d_cum[train], fit.high_quantile))
    assert fit.test_accuracy > fit.chance + 0.1 and fit.train_accuracy >= fit.test_accuracy - 0.05
    X2, d_cum2, _ = _system(rng, "glass", 2, feats)            # the second system
    y2 = mobility_labels(d_cum2, fit.high, fit.low)
    keep = y2 >= 0
    accuracy = np.mean(fit.model.predict(X2[keep]) == y2[keep])
    chance = max(np.mean(y2[keep]), 1 - np.mean(y2[keep]))
    assert accuracy > 0.8 and accuracy > chance + 0.15


def test_pooled_hyperplane_puts_a_crystal_below_zero_and_a_glass_above(rng):
    """One plane trained on a dense ordered 'crystal' and a 'glass' pooled, applied to fresh
    configurations of both: crystal Li mostly hard (S < 0), glass Li mostly soft (S > 0)."""
    feats = RadialFeatures(species=("Li", "S"), centre="Li", r_cutoff=6.0, dr=0.25)
    parts = [_system(rng, "crystal", 2, feats), _system(rng, "glass", 3, feats)]
    X, d_cum, groups = (np.concatenate(p) for p in zip(*parts))
    fit = select_softness(X, d_cum, groups, seed=2)
    assert fit.test_accuracy > 0.8
    crystal = fit.model.decision_function(_system(rng, "crystal", 1, feats)[0])
    glass = fit.model.decision_function(_system(rng, "glass", 1, feats)[0])
    assert np.mean(crystal < 0) > 0.8 and np.mean(glass > 0) > 0.6   # 1.0 and 0.84 here
    assert np.median(crystal) < 0 < np.median(glass)


def test_shuffled_labels_give_chance_accuracy(rng):
    X, labels, _ = _density_mobility_data(rng)
    shuffled = labels.copy()
    mask = labels >= 0
    shuffled[mask] = rng.permutation(labels[mask])
    fit = train_softness(X, shuffled, seed=2)
    assert abs(fit.test_accuracy - fit.chance) < 0.1


def test_model_roundtrip_and_sklearn_api(tmp_path, rng):
    X, labels, feats = _density_mobility_data(rng, frames=3)
    keep = labels >= 0
    model = SoftnessModel(cv=3).fit(X[keep], labels[keep])
    path = model.save(tmp_path / "softness.joblib", features=vars(feats))
    again, meta = SoftnessModel.load(path)
    np.testing.assert_allclose(again.decision_function(X), model.decision_function(X))
    assert meta["features"]["dr"] == 0.25
    assert model.transform(X).shape == (len(X), 1)
    assert set(model.predict(X)) <= {0, 1}
    with pytest.raises(ValueError, match="labels must be 0"):
        SoftnessModel().fit(X, labels)  # contains the unlabelled −1


def test_scan_returns_one_row_per_setting(rng):
    structures, d_cum = [], []
    for _ in range(3):
        atoms = _disordered(rng, n=300, length=14.0)
        li = np.flatnonzero(atoms.symbols == "Li")
        d = atoms.get_all_distances(mic=True)[li]
        structures.append((atoms, li))
        d_cum.append(-((d < 3.0) & (d > 0)).sum(axis=1) + rng.normal(0, 0.3, len(li)))
    rows = scan(structures, np.concatenate(d_cum), {"dr": [0.2, 0.4], "r_cutoff": [5.0]})
    assert len(rows) == 2 and {r["dr"] for r in rows} == {0.2, 0.4}
    assert all(0.5 <= r["test_accuracy"] <= 1.0 for r in rows)


def test_cumulative_d2min_on_aimd(shared_data):
    from ionscope.analysis.softness import cumulative_d2min
    from ionscope.io import open_trajectory

    traj = open_trajectory(shared_data / "lips-dft" / "glass-iter0-002", frame_interval=0.001)
    out = cumulative_d2min(traj, "Li", radius=5.0, increment_ps=0.02, stop=101)
    assert out.d2min.shape == (5, 91) and out.d_cum.shape == (91,)
    assert np.all(out.d_cum >= 0) and out.d_cum.max() > out.d_cum.min()
    # D_cum is the sum of √D²min over the increments
    np.testing.assert_allclose(out.d_cum, np.sqrt(out.d2min).sum(axis=0))


def test_unit_environment_correlation_and_profiles(shared_data):
    from ase.io import read

    from ionscope.analysis.softness import axis_profile, correlate, unit_environment

    crystal = read(shared_data / "crystals" / "beta-Li3PS4.cif").repeat((1, 1, 2))
    env = unit_environment(crystal, radius=5.0)
    np.testing.assert_allclose(env["PS4"], 1.0)
    np.testing.assert_allclose(env["P2S6"], 0.0)
    x = np.linspace(0, 1, 50)
    out = correlate(x, {"same": 2 * x + 1, "opposite": -x, "flat": np.ones(50)})
    assert out["same"]["pearson_r"] == pytest.approx(1.0)
    assert out["opposite"]["pearson_r"] == pytest.approx(-1.0)
    assert np.isnan(out["flat"]["pearson_r"])
    z = crystal.get_scaled_positions()[:, 2]
    prof = axis_profile(z, crystal.positions, crystal.cell.array, axis=2, bins=4)
    assert np.all(np.diff(prof.mean) > 0) and prof.counts.sum() == len(crystal)


@pytest.mark.deepmd
def test_atomic_energies_and_neb_barrier(tiny_models, shared_data):
    from ase.io import read
    from deepmd.calculator import DP

    from ionscope.analysis.softness import atomic_energies, migration_barrier

    crystal = read(shared_data / "crystals" / "beta-Li3PS4.cif")
    energies = atomic_energies(tiny_models[0], crystal)
    crystal.calc = DP(model=str(tiny_models[0]))
    assert energies.sum() == pytest.approx(crystal.get_potential_energy(), abs=1e-6)
    li = np.flatnonzero(crystal.symbols == "Li")
    d = crystal.get_distances(li[0], li[1:], mic=True)
    target = li[1:][np.argmin(d)]
    neb = migration_barrier(crystal, li[0], target, DP(model=str(tiny_models[0])), n_images=3,
                            fmax=0.2, steps=60)
    assert neb.energies[0] == 0.0 and len(neb.energies) == 5
    assert neb.barrier >= 0 and np.isfinite(neb.barrier)
    assert neb.distance == pytest.approx(d.min())


def test_softness_study_end_to_end_and_reapplied(tmp_path, shared_data, capsys):
    from ionscope.cli import main

    traj = shared_data / "lips-dft" / "glass-iter0-000"
    assert main(["softness", str(traj), "--frame-interval", "0.001", "--increment", "0.05",
                 "--r-cutoff", "6", "--out", str(tmp_path / "s"), "--axis", "2"]) == 0
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "softness vs S in PS4" in out
    for name in ("softness.csv", "weights.csv", "summary.json", "softness.png",
                 "softness_model.joblib", "profiles.csv"):
        assert (tmp_path / "s" / name).exists(), name
    import json

    along = json.loads((tmp_path / "s" / "summary.json").read_text())["summary"]["along_axis"]
    assert sum(r["n_li"] for r in along["regions"].values()) == 82
    table = np.genfromtxt(tmp_path / "s" / "softness.csv", delimiter=",", names=True)
    assert set(np.unique(table["region"])) <= {0, 1, 2}
    assert -1 <= along["profile_correlation_softness_q6bar"]["pearson_r"] <= 1
    # the saved hyperplane applied to another glass
    assert main(["softness", str(shared_data / "lips-dft" / "glass-iter0-001"), "--frame-interval",
                 "0.001", "--increment", "0.05", "--model", str(tmp_path / "s" / "softness_model.joblib"),
                 "--out", str(tmp_path / "applied")]) == 0
    table = np.loadtxt(tmp_path / "applied" / "softness.csv", delimiter=",", skiprows=1)
    assert table.shape[0] == 82 and np.isfinite(table[:, 1]).all()


@pytest.mark.deepmd
@pytest.mark.slow
def test_barrier_distributions_and_energy_correlation(tmp_path, tiny_models, shared_data):
    from deepmd.calculator import DP

    from ionscope.analysis.softness import barrier_distributions
    from ionscope.workflow.softness import softness_study
    from ionscope.io import open_trajectory

    traj = open_trajectory(shared_data / "lips-dft" / "glass-iter0-000", frame_interval=0.001)
    summary = softness_study(traj, tmp_path, increment_ps=0.05, energy_model=tiny_models[0],
                             features=RadialFeatures(r_cutoff=5.0))
    assert "atomic energy" in summary["correlations"]
    atoms = traj.atoms(0)
    li = np.flatnonzero(atoms.symbols == "Li")
    softness = np.linspace(-1, 1, len(li))
    out = barrier_distributions(atoms, li, softness, DP(model=str(tiny_models[0])), n_moves=1,
                                n_images=3, fmax=0.5, steps=5)
    assert set(out) == {"soft->hard", "hard->soft"}
    assert all(len(v) == 1 and np.isfinite(v).all() for v in out.values())


def test_reference_hyperplane_scores_only_li_never_seen_in_training(tmp_path, shared_data):
    """``train_reference`` on one AIMD glass, applied to it and to a second glass: the accuracy of
    the reference system counts only its held-out Li, the other system's every labelled Li, both
    labelled with the model's absolute D_cum thresholds over windows of the model's length."""
    import json

    from ionscope.io import open_trajectory
    from ionscope.workflow.softness import held_out_accuracy, train_reference, window_samples

    trajs = {name: open_trajectory(shared_data / "lips-dft" / f"glass-iter0-00{k}", frame_interval=0.001)
             for k, name in enumerate(("a", "b"))}
    feats = RadialFeatures(r_cutoff=5.0, dr=0.5)
    summary = train_reference({"a": trajs["a"]}, tmp_path, features=feats, increment_ps=0.02,
                              windows=2, seed=0, reference="a")
    model, meta = SoftnessModel.load(tmp_path / "softness_model.joblib")
    assert json.loads((tmp_path / "summary.json").read_text())["summary"] == summary
    assert summary["windows"] == {"a": 2} and meta["window_ps"] == summary["window_ps"]
    held = meta["held_out_li"]["a"]
    assert len(held) == summary["n_li_test"] and 0 < len(held) < 82
    for name, li in (("a", held), ("b", None)):
        out = held_out_accuracy(model, meta, trajs[name], name)
        samples = window_samples(trajs[name], feats, 0.02, 5.0, meta["window_ps"])
        labelled = sum(int(np.sum((mobility_labels(s.d_cum, meta["thresholds"]["high"],
                                                   meta["thresholds"]["low"]) >= 0)
                                  & (np.isin(s.indices, li) if li is not None else True)))
                       for s in samples)
        assert out["n"] == labelled > 0 and 0 <= out["accuracy"] <= 1
    assert held_out_accuracy(model, meta, trajs["a"], "a")["n"] == summary["test_by_system"]["a"]["n"]
