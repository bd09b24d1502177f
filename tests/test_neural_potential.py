"""NN-SNAP: duplicate descriptors, the network's energies, forces and virials against
``pair_style mliap`` and finite differences, the model file round trip, and training."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ionscope.io.deepmd_npy import load_system
from ionscope.potential.linear import Snap, design_matrix
from ionscope.potential.neural import (NetworkParameters, NeuralModel, NeuralSnap,
                                       descriptor_orbits, fit_network, frame_features, predict)

pytestmark = pytest.mark.skipif(shutil.which("lmp") is None, reason="LAMMPS is not installed")


def torch_tensor(value):
    import torch

    return torch.as_tensor(value, dtype=torch.float64)


def _write_system(path, symbols, coords, boxes):
    from test_linear_potential import _write_system as write

    return write(path, symbols, coords, boxes)


def test_orbits_group_exactly_the_identical_descriptors(shared_data):
    """The orbit groups of chem SNAP hold equal numbers on real frames (per-element sums of
    ``compute snap``), and columns of different orbits differ."""
    assert len(descriptor_orbits(Snap(twojmax=2, chem=True))) == 74
    assert descriptor_orbits(Snap(twojmax=4)) == [[k] for k in range(14)]
    snap = Snap(twojmax=4, chem=True)
    orbits = descriptor_orbits(snap)
    assert sorted(c for o in orbits for c in o) == list(range(snap.n_descriptors))
    rows = design_matrix(snap, shared_data / "lips-dft" / "Li7P3S11", [0, 500])
    for r in rows:
        per_element = r.energy.reshape(3, 1 + snap.n_descriptors)[:, 1:]
        for o in orbits:
            np.testing.assert_allclose(per_element[:, o], per_element[:, o[:1]].repeat(len(o), 1),
                                       rtol=1e-12, atol=1e-12)
        distinct = per_element[0, [o[0] for o in orbits]]
        assert len(np.unique(distinct.round(9))) > 0.9 * len(orbits)


def _displaced(tmp_path, shared_data, h=1e-4, atom=3):
    """A P2S5 frame in a rotated (general triclinic) cell, then the same with one atom moved by
    ±h along x, y, z."""
    data = load_system(shared_data / "lips-dft" / "P2S5")
    symbols = [data["type_map"][t] for t in data["types"]]
    rot = Rotation.from_euler("zyx", [30, 20, 10], degrees=True).as_matrix()
    pos0 = data["coord"][300].reshape(-1, 3) @ rot.T
    box0 = data["box"][300].reshape(3, 3) @ rot.T
    coords = [pos0]
    for c in range(3):
        for sign in (1, -1):
            p = pos0.copy()
            p[atom, c] += sign * h
            coords.append(p)
    return _write_system(tmp_path / "P2S5-moved", symbols, coords, [box0] * 7)


def test_network_is_what_pair_style_mliap_runs_and_its_forces_are_conservative(tmp_path,
                                                                                 shared_data):
    """A briefly trained 2J=2 chem network, saved as ML-IAP files: LAMMPS gives the PyTorch
    network's energies, forces and virials on a rotated triclinic frame, its forces are minus
    the finite differences of its energy (they are not unless duplicate descriptors carry equal
    weights), and the model file reads back to the same parameters."""
    from ionscope.potential import resolve_potential
    from ionscope.potential.lammps_eval import evaluate_lammps

    root = shared_data / "lips-dft"
    net = NeuralSnap(hidden=(8, 8))
    train = frame_features(net, [(str(root / "P2S5"), [0, 100, 200]),
                                 (str(root / "beta-Li3PS4"), [0, 500])], tmp_path / "cache")
    assert train[0].B.shape[1] == net.n_inputs == 74
    params, info = fit_network(net, train, epochs=3, seed=2)
    assert len(info["loss"]) == 3
    out = NeuralModel(net, params, [params], {"note": "test"}).save(tmp_path / "nn")
    for line in (out / "model.mliap.model").read_text().splitlines():
        assert len(line.split()) <= 30 and len(line) < 1024   # what mliap_model_nn.cpp reads
    loaded = NeuralModel.load(out)
    assert loaded.net == net and len(loaded.committee) == 1
    # a training batch (frames joined) gives each frame what it gives alone
    from ionscope.potential.neural import _Batch, _Network
    network = _Network(net, params.mean, params.std, np.zeros(3), 0)
    for e in range(3):
        for w, value in zip(network.weights[e] + network.biases[e],
                            params.weights[e] + params.biases[e]):
            w.data[:] = torch_tensor(value)
    joined = network(_Batch.join([_Batch([f]) for f in train]), create_graph=False)
    alone = [network(_Batch([f]), create_graph=False) for f in train]
    np.testing.assert_allclose(joined[0].detach(), [float(a[0][0].detach()) for a in alone], rtol=1e-12)
    np.testing.assert_allclose(joined[1].detach(), np.concatenate([a[1].detach() for a in alone]),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(joined[2].detach(), np.concatenate([a[2].detach() for a in alone]),
                               rtol=1e-9, atol=1e-9)
    for a, b in zip(loaded.params.weights[1] + loaded.params.biases[2],
                    params.weights[1] + params.biases[2]):
        np.testing.assert_allclose(a, b, rtol=1e-14)

    potential = resolve_potential(out)
    assert potential.kind == "mliap" and potential.species == ["Li", "P", "S"]
    moved = _displaced(tmp_path, shared_data)
    lammps = evaluate_lammps(potential, [moved])["systems"]["P2S5-moved"]["parity"]
    ours = predict(net, params, frame_features(net, [(str(moved), list(range(7)))],
                                               tmp_path / "cache"))
    n = 28
    np.testing.assert_allclose(lammps["energy_pred"] * n, [e for e, _, _ in ours], rtol=0, atol=1e-6)
    force = lammps["force_pred"].reshape(7, n, 3)
    np.testing.assert_allclose(force[0], ours[0][1], atol=2e-5)
    voigt = lammps["virial_pred"][0].reshape(3, 3)[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    np.testing.assert_allclose(voigt, ours[0][2], rtol=1e-5, atol=1e-4)
    energy = lammps["energy_pred"] * n
    for c in range(3):
        fd = -(energy[1 + 2 * c] - energy[2 + 2 * c]) / 2e-4
        assert force[0, 3, c] == pytest.approx(fd, abs=2e-5 + 1e-4 * abs(fd))


def test_model_file_spreads_the_first_layer_over_duplicates():
    """Every column of an orbit gets 1/|orbit| of the network's input weight, and equal scales."""
    net = NeuralSnap(hidden=(3,))
    rng = np.random.default_rng(0)
    k = net.n_inputs
    params = NetworkParameters([rng.normal(size=k)] * 3, [rng.uniform(1, 2, k)] * 3,
                               [[rng.normal(size=(3, k)), rng.normal(size=(1, 3))]] * 3,
                               [[rng.normal(size=3), rng.normal(size=1)]] * 3)
    numbers = [float(x) for line in net.model_text(params).splitlines()[2:] for x in line.split()]
    first = np.array(numbers[2 * net.n_descriptors:2 * net.n_descriptors + 3 * (net.n_descriptors + 1)])
    w = first.reshape(3, -1)[:, 1:]
    for o, columns in enumerate(net.orbits):
        expected = params.weights[0][0][:, [o]].repeat(len(columns), 1) / len(columns)
        np.testing.assert_allclose(w[:, columns], expected)
    parsed = NetworkParameters.from_text(net.model_text(params), net)
    np.testing.assert_allclose(parsed.weights[0][0], params.weights[0][0], rtol=1e-14)
    np.testing.assert_allclose(parsed.std[2], params.std[2])
    with pytest.raises(ValueError, match="activation"):
        NeuralSnap(activation="gelu")


def test_training_through_the_cli_ships_a_committee_and_learns(tmp_path, shared_data):
    """``ionscope potential train --kind nnsnap``: a committee of two, a validation through
    ``pair_style mliap``, a provenance record; the loss falls during training, and the cached
    descriptors are reused when nothing changed."""
    from ionscope.cli import main
    from ionscope.potential import resolve_potential

    data = tmp_path / "data"
    data.mkdir()
    for name in ("Li2S", "P2S5"):
        (data / name).symlink_to(shared_data / "lips-dft" / name)
    work = tmp_path / "nn"
    args = ["potential", "train", "--kind", "nnsnap", "--data", str(data), "--workdir", str(work),
            "--stride", "100", "--epochs", "40", "--hidden", "8", "--members", "2"]
    assert main(args) == 0
    record = json.loads((work / "provenance.json").read_text())
    assert record["parameters"]["kind"] == "nnsnap" and record["parameters"]["members"] == 2
    assert sorted(p.name for p in (work / "committee").iterdir()) == \
        ["member-0.mliap.model", "member-1.mliap.model"]
    info = json.loads((work / "neural.json").read_text())["info"]
    for member in info["members"]:
        assert member["loss"][-1] < 0.8 * member["loss"][0]
    validation = json.loads((work / "validation" / "validation.json").read_text())
    assert len(validation["systems"]) == 2
    assert validation["overall"]["force_rmse_meV_A"] < 2000
    assert resolve_potential(work).kind == "mliap"
    cached = sorted((work / "features").iterdir())
    stamps = [p.stat().st_mtime_ns for p in cached]
    assert main(args[:-2] + ["--members", "1"]) == 0
    assert [p.stat().st_mtime_ns for p in sorted((work / "features").iterdir())] == stamps


def test_an_interrupted_training_resumes_to_the_same_network(tmp_path, shared_data):
    """A fit stopped after its epoch-10 checkpoint and run again with the same settings
    continues from there and ends with the network an uninterrupted fit gives."""
    net = NeuralSnap(hidden=(4,))
    features = frame_features(net, [(str(shared_data / "lips-dft" / "Li7PS6"), [0, 300, 600])],
                              tmp_path / "cache")
    whole, _ = fit_network(net, features, epochs=15, seed=3)

    def stop_at_ten(message):
        if message.startswith("epoch 10"):
            raise KeyboardInterrupt

    checkpoint = tmp_path / "member.pt"
    with pytest.raises(KeyboardInterrupt):
        fit_network(net, features, epochs=15, seed=3, checkpoint=checkpoint, log=stop_at_ten)
    messages = []
    resumed, info = fit_network(net, features, epochs=15, seed=3, checkpoint=checkpoint,
                                log=messages.append)
    assert messages[0] == f"resumed from {checkpoint} at epoch 10" and len(info["loss"]) == 15
    for a, b in zip(resumed.weights[0] + resumed.biases[1], whole.weights[0] + whole.biases[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_fit_beside_d3_runs_it_in_lammps_as_the_analytic_d3(tmp_path, shared_data):
    """``NeuralSnap(dispersion=rc)``: the network is fitted to the labels minus D3(0) to rc, and
    the saved potential runs that D3 beside it (``hybrid/overlay … dispersion/d3``). LAMMPS' D3
    term equals the dftd3 library's at the same cutoff (energy, forces, virial), and the whole
    potential is the network alone plus that term."""
    pytest.importorskip("dftd3")
    from ionscope.dft import d3_terms
    from ionscope.potential import resolve_potential
    from ionscope.potential.lammps_eval import pair_terms
    from ionscope.potential.model import (Potential, d3_pair_style, mliap_potential,
                                          potential_from_dict)
    from ionscope.potential.neural import train_neural

    data = tmp_path / "data"
    data.mkdir()
    system = data / "Li7PS6"
    system.symlink_to(shared_data / "lips-dft" / "Li7PS6")
    train_neural(data, tmp_path / "nn", NeuralSnap(hidden=(4,), dispersion=6.0), stride=200,
                 epochs=3, members=1)
    model = resolve_potential(tmp_path / "nn")
    assert model.dispersion == 6.0 and potential_from_dict(model.as_dict()) == model
    assert model.lammps_lines(["Li", "P", "S"])[0].endswith("dispersion/d3 ZERO pbe 6 6")
    network = mliap_potential(tmp_path / "nn" / "model.mliap.model",
                              tmp_path / "nn" / "model.mliap.descriptor")
    assert network.dispersion == 0 and network.sha256 != model.sha256

    frames = [(str(system), [0, 400])]
    d3 = pair_terms(Potential("d3", d3_pair_style(6.0), ["Li", "P", "S"]), frames)
    whole, alone = pair_terms(model, frames), pair_terms(network, frames)
    raw = load_system(system)
    symbols = [raw["type_map"][t] for t in raw["types"]]
    for k in (0, 400):
        key = (system.name, k)
        ref = d3_terms(symbols, raw["coord"][k].reshape(-1, 3), raw["box"][k].reshape(3, 3),
                       cutoff=6.0)
        energy, forces, virial = d3[key]
        assert energy == pytest.approx(ref.energy, abs=2e-4 * len(symbols))
        np.testing.assert_allclose(forces, ref.forces, atol=2e-4)
        np.testing.assert_allclose(virial, ref.virial, atol=5e-3)
        assert whole[key][0] == pytest.approx(alone[key][0] + energy, abs=1e-6)
        np.testing.assert_allclose(whole[key][1], alone[key][1] + forces, atol=1e-8)
        np.testing.assert_allclose(whole[key][2], alone[key][2] + virial, atol=1e-6)
