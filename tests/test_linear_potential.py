"""SNAP and POD design rows from LAMMPS, the weighted ridge fit, the committee, and pair_style
snap / pod running the fits."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ionscope.io.deepmd_npy import load_system
from ionscope.potential.linear import (LinearModel, Pod, Snap, Weights, bootstrap_multiplicities,
                                       committee_deviation, design_matrix, fit_linear,
                                       lammps_frame, n_bispectrum, read_coefficients,
                                       ridge_solve)

pytestmark = pytest.mark.skipif(shutil.which("lmp") is None, reason="LAMMPS is not installed")


def _write_system(path, symbols, coords, boxes, energy=None, force=None, virial=None):
    """A DeePMD npy system (float64) from per-frame arrays; labels default to zeros."""
    n_frames, n = len(coords), len(symbols)
    (path / "set.000").mkdir(parents=True)
    type_map = ["Li", "P", "S"]
    (path / "type.raw").write_text("\n".join(str(type_map.index(s)) for s in symbols) + "\n")
    (path / "type_map.raw").write_text("\n".join(type_map) + "\n")
    arrays = {"coord": np.reshape(coords, (n_frames, 3 * n)),
              "box": np.reshape(boxes, (n_frames, 9)),
              "energy": np.zeros(n_frames) if energy is None else energy,
              "force": np.zeros((n_frames, 3 * n)) if force is None else force,
              "virial": np.zeros((n_frames, 9)) if virial is None else virial}
    for key, value in arrays.items():
        np.save(path / "set.000" / f"{key}.npy", np.asarray(value, float))
    return path


def test_bispectrum_count_and_files():
    assert [n_bispectrum(j) for j in (2, 4, 6, 8)] == [5, 14, 30, 55]  # pyramidal numbers
    snap = Snap(twojmax=6, quadratic=True)
    assert snap.n_descriptors == 30 + 30 * 31 // 2 and snap.n_coefficients == 3 * 496
    beta = np.arange(snap.n_coefficients, dtype=float)
    text = snap.coeff_text(beta)
    assert text.splitlines()[1] == "3 496" and "quadraticflag 1" in snap.param_text()
    with pytest.raises(ValueError, match="radii"):
        Snap(radii=(0.5, 0.5))


def test_lammps_frame_is_a_rotation_to_lower_triangular(rng):
    cell = rng.normal(size=(3, 3)) + 5 * np.eye(3)
    lower, q = lammps_frame(cell)
    np.testing.assert_allclose(cell @ q, lower, atol=1e-12)
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-12)
    assert np.allclose(np.triu(lower, 1), 0) and np.all(np.diag(lower) > 0)


@pytest.mark.parametrize("descriptors", [Snap(twojmax=4, quadratic=True, rcutfac=4.0),
                                         Pod(rcut=4.0, fourbody=(2, 1))], ids=["snap", "pod"])
def test_rows_are_derivatives_of_the_energy_row(tmp_path, shared_data, rng, descriptors):
    """Force rows = −∂E/∂r and virial rows W_ab = −∂E/∂ε_ab (r → r(1 + ε)ᵀ, cell alike) by
    central differences, on a P2S5 frame turned to a general (not lower-triangular) cell, so the
    rotation into and out of LAMMPS' frame is exercised too (POD's virial rows are themselves
    symmetric-strain differences in LAMMPS' frame: here they meet non-symmetric strains of the
    rotated cell)."""
    data = load_system(shared_data / "lips-dft" / "P2S5")
    symbols = [data["type_map"][t] for t in data["types"]]
    rot = Rotation.from_euler("zyx", [30, 20, 10], degrees=True).as_matrix()
    pos0 = data["coord"][0].reshape(-1, 3).astype(float) @ rot.T
    box0 = data["box"][0].reshape(3, 3).astype(float) @ rot.T
    h, atom = 1e-4, 5
    coords, boxes = [pos0], [box0]
    for c in range(3):  # atom displaced along x, y, z
        for sign in (1, -1):
            p = pos0.copy()
            p[atom, c] += sign * h
            coords.append(p)
            boxes.append(box0)
    strains = [(0, 1), (2, 2), (1, 0)]
    for a, b in strains:
        for sign in (1, -1):
            m = np.eye(3)
            m[a, b] += sign * h
            coords.append(pos0 @ m.T)
            boxes.append(box0 @ m.T)
    system = _write_system(tmp_path / "P2S5", symbols, coords, boxes)
    rows = design_matrix(descriptors, system)
    beta = rng.normal(size=len(rows[0].energy))
    energy = np.array([r.energy @ beta for r in rows])
    force = rows[0].force @ beta
    virial = (rows[0].virial @ beta).reshape(3, 3)
    for c in range(3):
        fd = -(energy[1 + 2 * c] - energy[2 + 2 * c]) / (2 * h)
        assert force[3 * atom + c] == pytest.approx(fd, rel=1e-5, abs=1e-6 * np.abs(force).max())
    for k, (a, b) in enumerate(strains):
        fd = -(energy[7 + 2 * k] - energy[8 + 2 * k]) / (2 * h)
        assert virial[a, b] == pytest.approx(fd, rel=1e-5, abs=1e-6 * np.abs(virial).max())
    np.testing.assert_allclose(virial, virial.T, atol=1e-8 * np.abs(virial).max())
    # translation invariance: the forces of the descriptor sum vanish
    np.testing.assert_allclose(force.reshape(-1, 3).sum(axis=0), 0, atol=1e-8 * np.abs(force).max())


def test_fit_is_what_pair_style_snap_runs(tmp_path, shared_data):
    """A quadratic fit with a committee, saved as .snapcoeff/.snapparam: LAMMPS' pair_style snap
    (through the ASE LAMMPSlib path of the validation) gives the fit's own energies, forces and
    virials on a triclinic system; the committee has distinct members and a force deviation."""
    root = shared_data / "lips-dft"
    selection = [(str(root / "beta-Li3PS4"), [0, 40, 80, 120]), (str(root / "P2S5"), [0, 50, 100])]
    snap = Snap(twojmax=2, quadratic=True, rcutfac=4.0)
    model = fit_linear(snap, selection, Weights(energy=30, force=1, virial=3), members=3, seed=1)
    assert model.committee.shape == (3, snap.n_coefficients)
    assert not np.allclose(model.committee[0], model.committee[1])
    out = model.save(tmp_path / "snap")
    loaded = LinearModel.load(out)
    assert loaded.descriptors == snap
    np.testing.assert_array_equal(loaded.beta, model.beta)
    np.testing.assert_array_equal(read_coefficients(out / "committee" / "member-2.snapcoeff"),
                                  model.committee[2])

    from ionscope.potential import resolve_potential
    from ionscope.potential.lammps_eval import evaluate_lammps

    potential = resolve_potential(out)
    assert potential.kind == "snap" and potential.species == ["Li", "P", "S"]
    result = evaluate_lammps(potential, [root / "P2S5"])["systems"]["P2S5"]
    rows = design_matrix(snap, root / "P2S5", range(result["frames"]))
    pred = [model.predict(r) for r in rows]
    parity = result["parity"]
    np.testing.assert_allclose(parity["energy_pred"] * 28, [p["energy"] for p in pred], atol=1e-7)
    np.testing.assert_allclose(parity["force_pred"], np.concatenate([p["force"] for p in pred]),
                               atol=1e-7)
    np.testing.assert_allclose(parity["virial_pred"], [p["virial"] for p in pred], atol=1e-5)

    deviation = committee_deviation(out, [root / "P2S5"])["P2S5"]
    assert deviation["max_devi_f"].shape == (result["frames"],)
    assert np.all(deviation["max_devi_f"] > 0)
    assert np.all(deviation["max_devi_f"] >= deviation["avg_devi_f"])


def test_pod_fit_with_virials_is_what_pair_style_pod_runs(tmp_path, shared_data):
    """A POD fit to energies, forces and virials with a committee, saved as param.pod +
    coefficients.pod: LAMMPS' pair_style pod gives the fit's own energies and forces exactly
    and its virials (analytic there, strain differences here) to 1e-6 relative; a committee
    member runs as its own pair_style pod."""
    from ionscope.potential import resolve_potential
    from ionscope.potential.lammps_eval import evaluate_lammps

    root = shared_data / "lips-dft"
    selection = [(str(root / "beta-Li3PS4"), [0, 40, 80, 120]), (str(root / "P2S5"), [0, 50, 100])]
    pod = Pod(rcut=4.0)
    model = fit_linear(pod, selection, Weights(energy=30, force=1, virial=3), members=3, seed=1)
    assert model.committee.shape == (3, len(model.beta))
    out = model.save(tmp_path / "pod")
    loaded = LinearModel.load(out)
    assert loaded.descriptors == pod
    np.testing.assert_allclose(loaded.beta, model.beta, rtol=1e-15)
    potential = resolve_potential(out)
    assert potential.kind == "pod" and potential.species == ["Li", "P", "S"]
    data = load_system(root / "P2S5")
    few = _write_system(tmp_path / "P2S5", [data["type_map"][t] for t in data["types"]],
                        data["coord"][300:900:150], data["box"][300:900:150])   # 4 unfitted frames
    result = evaluate_lammps(potential, [few])["systems"]["P2S5"]
    rows = design_matrix(pod, few)
    pred = [model.predict(r) for r in rows]
    parity = result["parity"]
    np.testing.assert_allclose(parity["energy_pred"] * 28, [p["energy"] for p in pred], atol=1e-7)
    np.testing.assert_allclose(parity["force_pred"], np.concatenate([p["force"] for p in pred]),
                               atol=1e-7)
    virial = np.array([p["virial"] for p in pred])
    np.testing.assert_allclose(parity["virial_pred"], virial, atol=1e-6 * np.abs(virial).max())
    member = evaluate_lammps(model.potential(out, member=2), [few])["systems"]["P2S5"]
    member_pred = [model.predict(r, model.committee[2])["force"] for r in rows]
    np.testing.assert_allclose(member["parity"]["force_pred"], np.concatenate(member_pred), atol=1e-7)


def test_ridge_recovers_coefficients_and_shrinks(rng):
    """Noise-free rows: the ridge solve returns the generating β; λ shrinks ‖Dβ‖ (D² = diag XᵀX)."""
    x = rng.normal(size=(200, 12)) * np.logspace(0, 3, 12)
    beta = rng.normal(size=12)
    gram, rhs = x.T @ x, x.T @ (x @ beta)
    np.testing.assert_allclose(ridge_solve(gram, rhs, 1e-12), beta, rtol=1e-6)
    d = np.sqrt(np.diag(gram))
    assert np.linalg.norm(d * ridge_solve(gram, rhs, 10.0)) < 0.9 * np.linalg.norm(d * beta)


def test_bootstrap_resamples_within_each_system():
    selection = [("/x/a", [0, 3, 6, 9]), ("/x/b", [1, 2])]
    draws = bootstrap_multiplicities(selection, members=5, seed=2)
    for name, frames in (("a", [0, 3, 6, 9]), ("b", [1, 2])):
        counts = np.array([draws[(name, f)] for f in frames])
        np.testing.assert_array_equal(counts.sum(axis=0), len(frames))
    assert draws == bootstrap_multiplicities(selection, members=5, seed=2)


def test_unknown_species_names_the_system(tmp_path):
    system = _write_system(tmp_path / "LiX", ["Li", "S"], np.zeros((1, 2, 3)) + [[0, 0, 0], [2, 2, 2]],
                           [np.eye(3) * 8])
    with pytest.raises(ValueError, match="LiX.*'S'"):
        design_matrix(Snap(species=("Li", "P"), radii=(0.5, 0.5), weights=(1, 1)), system)


def test_committee_deviation_in_lammps_md_matches_python(tmp_path, shared_data):
    """The committee deviation logged by LAMMPS itself (compute snad/atom + atom variables) on
    a frame equals the one from evaluating every member: types in another order than the model."""
    import subprocess

    from ase.io import write

    from ionscope.io import open_trajectory
    from ionscope.md.engine import lammps_command
    from ionscope.potential.linear import committee_lammps_lines

    root = shared_data / "lips-dft"
    snap = Snap(twojmax=2, quadratic=True, rcutfac=4.0)
    model = fit_linear(snap, [(str(root / "P2S5"), [0, 100, 200, 300])], members=4, seed=3)
    out = model.save(tmp_path / "snap")
    frame = _write_system(tmp_path / "one", *_frame_of(root / "P2S5", 500))
    expected = committee_deviation(out, [frame])["one"]

    atoms = open_trajectory(frame).atoms(0)
    order = ["S", "Li", "P"]
    write(tmp_path / "data.lmp", atoms, format="lammps-data", specorder=order)
    masses = "\n".join(f"mass {k + 1} {m}" for k, m in enumerate((32.06, 6.94, 30.97)))
    lines = committee_lammps_lines(out, order, every=1, out_file="devi.txt")
    potential = model.potential(out)
    (tmp_path / "in.lmp").write_text("\n".join(
        ["units metal", "atom_style atomic", "read_data data.lmp", masses,
         *potential.lammps_lines(order), *lines, "run 0"]) + "\n")
    subprocess.run([*lammps_command(), "-in", "in.lmp", "-log", "none", "-screen", "none"],
                   cwd=tmp_path, check=True)
    logged = np.loadtxt(tmp_path / "devi.txt", ndmin=2)
    assert logged[0, 1] == pytest.approx(expected["max_devi_f"][0], rel=1e-6)


def _frame_of(system, k):
    data = load_system(system)
    symbols = [data["type_map"][t] for t in data["types"]]
    return symbols, data["coord"][k:k + 1], data["box"][k:k + 1]


def test_snap_potential_errors_name_the_file(tmp_path):
    from ionscope.potential import snap_potential

    with pytest.raises(FileNotFoundError, match="missing.snapcoeff"):
        snap_potential(tmp_path / "missing.snapcoeff", tmp_path / "x.snapparam")
    (tmp_path / "bad.snapcoeff").write_text("# nothing useful\n3\n")
    (tmp_path / "x.snapparam").write_text(Snap().param_text())
    with pytest.raises(ValueError, match="bad.snapcoeff.*not a SNAP coefficient file"):
        snap_potential(tmp_path / "bad.snapcoeff", tmp_path / "x.snapparam")


def test_explicit_multi_element_fit_is_what_pair_style_snap_runs(tmp_path, shared_data):
    """chem SNAP (one bispectrum per element triplet): pair_style snap gives the fit's energies,
    forces and virials. The fit averages the coefficients of identical descriptors
    (``symmetrize``): pair_style snap's force code assumes it, and was off by ~1e-4 eV/Å on this
    fit (and by up to 2 eV/Å for random coefficients) before."""
    from ionscope.potential.lammps_eval import evaluate_lammps

    root = shared_data / "lips-dft"
    snap = Snap(twojmax=2, chem=True, weights=(0.5, 0.75, 1.0))
    assert snap.n_coefficients == 3 * (1 + 5 * 27) and "chemflag 1" in snap.param_text()
    model = fit_linear(snap, [(str(root / "beta-Li3PS4"), [0, 40, 80]),
                            (str(root / "P2S5"), [0, 50, 100, 150])], members=2)
    out = model.save(tmp_path / "chem")
    frames = _write_system(tmp_path / "P2S5", *_frame_of(root / "P2S5", 700))
    result = evaluate_lammps(model.potential(out), [frames])["systems"]["P2S5"]
    pred = model.predict(design_matrix(snap, frames)[0])
    assert result["parity"]["energy_pred"][0] * 28 == pytest.approx(pred["energy"], abs=1e-7)
    np.testing.assert_allclose(result["parity"]["force_pred"], pred["force"], atol=1e-7)
    np.testing.assert_allclose(result["parity"]["virial_pred"][0], pred["virial"], atol=1e-5)


def test_pod_training_weights_the_label_systems_and_ships_a_committee(tmp_path, shared_data):
    """``ionscope potential train --kind pod`` (ridge): an AIMD system thinned by the stride
    beside a CP2K equation of state (7 frames, never thinned); weighting the label frames makes
    the fit follow the equation of state's virials more closely; the work directory holds a
    4-member committee that LAMMPS runs."""
    import json

    from ionscope.cli import main
    from ionscope.data import data_path
    from ionscope.potential import resolve_potential
    from ionscope.potential.linear import train_linear

    data = tmp_path / "data"
    data.mkdir()
    (data / "Li2S").symlink_to(shared_data / "lips-dft" / "Li2S")
    (data / "eos-Li2S").symlink_to(data_path("dft/eos-Li2S"))
    (data / "P2S5").symlink_to(shared_data / "lips-dft" / "P2S5")
    work = tmp_path / "weighted"
    assert main(["potential", "train", "--kind", "pod", "--data", str(data), "--workdir",
                 str(work), "--stride", "60", "--stride-of", "Li2S=45", "--label-weight", "100",
                 "--exclude", "P2S5"]) == 0
    record = json.loads((work / "provenance.json").read_text())
    assert record["parameters"]["label_weight"] == 100
    assert record["parameters"]["strides"] == {"Li2S": 45}
    li2s_train = sum(len(np.load(f)) for f in (work / "split" / "train").glob("*Li2S/set.*/energy.npy")
                     if "eos" not in str(f))
    assert record["fit"]["systems"]["eos-Li2S"] == 7
    assert record["fit"]["systems"]["Li2S"] == len(range(0, li2s_train, 45)) < 30
    assert record["fit"]["weights"]["systems"] == {"eos-Li2S": 100}
    assert "P2S5" not in record["fit"]["systems"] and record["parameters"]["exclude"] == ["P2S5"]
    assert "P2S5" not in json.loads((work / "validation" / "validation.json").read_text())["systems"]
    with pytest.raises(ValueError, match="no system named.*'P4S3'"):
        train_linear(data, tmp_path / "bad", exclude=["P4S3"])
    with pytest.raises(ValueError, match="strides: no system named.*'glass'"):
        train_linear(data, tmp_path / "bad", strides={"glass": 2})
    assert sorted(p.name for p in (work / "committee").iterdir()) == [f"member-{k}.pod" for k in range(4)]
    assert resolve_potential(work).kind == "pod"
    unweighted = train_linear(data, tmp_path / "unweighted", stride=60, label_weight=0.0, members=2,
                              exclude=["P2S5"])
    weighted = json.loads((work / "validation" / "validation.json").read_text())
    # the label system goes to training whole: compare both fits on it
    errors = {}
    for name, folder in (("weighted", work), ("unweighted", tmp_path / "unweighted")):
        result = resolve_potential(folder).evaluate([data / "eos-Li2S"])
        errors[name] = result["systems"]["eos-Li2S"]["virial_rmse_meV_atom"]
    assert errors["weighted"] < 0.5 * errors["unweighted"]
    assert weighted["overall"]["force_rmse_meV_A"] > 0 and unweighted["overall"]["force_rmse_meV_A"] > 0


def test_ridge_gives_a_numerically_empty_column_no_weight():
    """A descriptor column at 10⁻²⁰ of the others (POD's P–P columns at a 4.5 Å cutoff on
    β-Li3PS4 and Li2S frames) must not get a coefficient of order 1/scale."""
    from ionscope.potential.linear import ridge_solve

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[:, 2] = 1e-20 * rng.normal(size=200)
    y = X[:, 0] - 2 * X[:, 1] + 1e-3 * rng.normal(size=200)
    beta = ridge_solve(X.T @ X, X.T @ y, 1e-8)
    np.testing.assert_allclose(beta[:2], [1, -2], atol=1e-3)
    assert abs(beta[2] * 1e-20) < 1e-6 and abs(beta[2]) < 1e6
