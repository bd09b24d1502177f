"""DeePMD potential pipeline: the validation split, the input presets, and a real (tiny) training."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ionscope.potential import PRESETS, deepmd_input, find_systems, split_systems
from ionscope.potential.dataset import block_split


def test_block_split_holds_out_whole_blocks_with_a_gap():
    rng = np.random.default_rng(0)
    train, valid = block_split(1000, 0.1, 50, 5, rng)
    assert len(valid) >= 100
    assert not set(train) & set(valid)
    # every validation frame is at least `gap` frames away from every training frame
    distance = np.abs(train[:, None] - valid[None, :]).min()
    assert distance > 5
    # validation frames come in contiguous blocks of 50
    assert len(valid) % 50 == 0 and np.all(np.diff(valid)[np.diff(valid) != 1] > 1)
    again = block_split(1000, 0.1, 50, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(again[1], valid)


def test_short_series_still_gets_validation_frames():
    train, valid = block_split(30, 0.1, 50, 5, np.random.default_rng(1))
    assert len(valid) == 30 and len(train) == 0  # one block: honest, all of it validates
    train, valid = block_split(159, 0.1, 50, 5, np.random.default_rng(1))
    assert len(valid) >= 16 and len(train) > 0


def _fake_system(path, n_frames, n_atoms=6, seed=0):
    rng = np.random.default_rng(seed)
    (path / "set.000").mkdir(parents=True)
    np.savetxt(path / "type.raw", np.arange(n_atoms) % 3, fmt="%d")
    (path / "type_map.raw").write_text("Li\nP\nS\n")
    np.save(path / "set.000/coord.npy", rng.uniform(0, 8, (n_frames, n_atoms * 3)))
    np.save(path / "set.000/box.npy", np.tile(np.eye(3).ravel() * 8, (n_frames, 1)))
    np.save(path / "set.000/energy.npy", rng.normal(size=n_frames))
    np.save(path / "set.000/force.npy", rng.normal(size=(n_frames, n_atoms * 3)))
    np.save(path / "set.000/virial.npy", rng.normal(size=(n_frames, 9)))


def test_split_systems_is_per_system_and_stable(tmp_path):
    pytest.importorskip("dpdata")
    _fake_system(tmp_path / "data" / "a", 200, seed=1)
    _fake_system(tmp_path / "data" / "b", 120, seed=2)
    first = split_systems(tmp_path / "data", tmp_path / "s1", seed=3)
    assert [r["system"] for r in first.table] == ["a", "b"]
    for row in first.table:
        assert row["valid"] >= 0.1 * row["frames"]
    record = json.loads((tmp_path / "s1" / "split.json").read_text())
    coords = np.load(tmp_path / "data/a/set.000/coord.npy")
    valid = np.load(tmp_path / "s1/valid/a/set.000/coord.npy")
    np.testing.assert_allclose(valid, coords[record["systems"]["a"]["valid"]])
    # adding a system does not change the split of the others
    _fake_system(tmp_path / "data" / "c", 80, seed=4)
    second = split_systems(tmp_path / "data", tmp_path / "s2", seed=3)
    again = json.loads((tmp_path / "s2" / "split.json").read_text())
    assert again["systems"]["a"] == record["systems"]["a"]
    assert len(second.table) == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no DeePMD npy system"):
        find_systems(tmp_path / "empty")


def test_split_takes_several_folders_and_keeps_short_label_systems_for_training(tmp_path):
    """Curated data plus CP2K labels: systems are named by folder; a system of fewer than
    TRAIN_ONLY_BELOW frames (an equation of state, a loop's labels) goes to training whole."""
    pytest.importorskip("dpdata")
    from ionscope.potential.dataset import TRAIN_ONLY_BELOW

    _fake_system(tmp_path / "curated" / "a", 200, seed=1)
    _fake_system(tmp_path / "labels" / "eos", TRAIN_ONLY_BELOW - 3, seed=2)
    _fake_system(tmp_path / "labels" / "md", TRAIN_ONLY_BELOW, seed=3)
    split = split_systems([tmp_path / "curated", tmp_path / "labels"], tmp_path / "s", seed=3)
    rows = {r["system"]: r for r in split.table}
    assert set(rows) == {"curated__a", "labels__eos", "labels__md"}
    assert (rows["labels__eos"]["train"], rows["labels__eos"]["valid"]) == (TRAIN_ONLY_BELOW - 3, 0)
    assert rows["labels__md"]["valid"] > 0 and rows["curated__a"]["valid"] >= 20
    assert tmp_path / "s" / "train" / "labels__eos" in split.train_dirs
    assert not (tmp_path / "s" / "valid" / "labels__eos").exists()
    # one folder keeps the plain system names (the splits of the bundled models), and a system
    # holds out the same frames alone as beside others (the seed takes its own name)
    alone = split_systems(tmp_path / "curated", tmp_path / "t", seed=3)
    assert [r["system"] for r in alone.table] == ["a"]
    import json
    together = json.loads((tmp_path / "s" / "split.json").read_text())["systems"]["curated__a"]
    assert json.loads((tmp_path / "t" / "split.json").read_text())["systems"]["a"] == together


def test_paper_preset_is_the_published_architecture():
    config = deepmd_input(["t"], ["v"], preset="paper", steps=1000, seed=7)
    d, f = config["model"]["descriptor"], config["model"]["fitting_net"]
    assert d["type"] == "se_e2_a" and d["rcut"] == 6.5 and d["neuron"] == [25, 50, 100]
    assert f["neuron"] == [240, 240, 240]
    loss = config["loss"]
    assert (loss["start_pref_e"], loss["limit_pref_e"]) == (0.02, 2.0)
    assert (loss["start_pref_f"], loss["limit_pref_f"]) == (1000.0, 1.0)
    assert (loss["start_pref_v"], loss["limit_pref_v"]) == (0.02, 0.2)
    assert d["seed"] == f["seed"] == config["training"]["seed"] == 7
    assert config["model"]["type_map"] == ["Li", "P", "S"]
    assert set(PRESETS) >= {"paper", "small", "tiny"}
    with pytest.raises(ValueError, match="unknown DeePMD preset"):
        deepmd_input([], [], preset="huge")


@pytest.mark.deepmd
@pytest.mark.slow
def test_tiny_training_freeze_compress_and_test(tmp_path, shared_data):
    if shutil.which("dp") is None:
        pytest.skip("DeePMD-kit is not installed (pip install 'ionscope[deepmd]')")
    from ionscope.cli import main

    data = tmp_path / "data"
    data.mkdir()
    for name in ("P2S5", "beta-Li3PS4"):
        (data / name).symlink_to(shared_data / "lips-dft" / name)
    work = tmp_path / "work"
    assert main(["potential", "train", "--data", str(data), "--workdir", str(work), "--preset",
                 "tiny", "--steps", "40", "--skip-neighbor-stat"]) == 0
    for product in ("frozen.pth", "compressed.pth", "validation/table.md", "validation/parity.png",
                    "provenance.json", "split/split.json"):
        assert (work / product).exists(), product
    result = json.loads((work / "validation" / "validation.json").read_text())
    assert set(result["systems"]) == {"P2S5", "beta-Li3PS4"}
    assert np.isfinite(result["overall"]["force_rmse_meV_A"])
    # the compressed and the frozen model predict the same forces
    assert main(["potential", "test", str(work / "frozen.pth"), "--data", str(work / "split" / "valid"),
                 "--out", str(tmp_path / "t")]) == 0
    frozen = json.loads((tmp_path / "t" / "validation.json").read_text())["overall"]
    assert frozen["force_rmse_meV_A"] == pytest.approx(result["overall"]["force_rmse_meV_A"], rel=0.02)


def test_force_deviation_is_the_dpgen_definition():
    from ionscope.potential.ensemble import force_deviation

    rng = np.random.default_rng(0)
    forces = rng.normal(size=(4, 3, 10, 3))
    out = force_deviation(forces)
    # by hand for frame 1: per-atom RMS distance from the ensemble mean, max over atoms
    f = forces[:, 1]
    per_atom = np.sqrt(((f - f.mean(0)) ** 2).sum(-1).mean(0))
    assert out["max_devi_f"][1] == pytest.approx(per_atom.max())
    assert out["avg_devi_f"][1] == pytest.approx(per_atom.mean())
    identical = force_deviation(np.repeat(forces[:1], 3, axis=0))
    np.testing.assert_allclose(identical["max_devi_f"], 0.0, atol=1e-12)


@pytest.mark.deepmd
@pytest.mark.slow
def test_ensemble_of_two_seeds_deviates_most_far_from_the_data(tmp_path, shared_data, tiny_models):
    from ase.io import write

    from ionscope.io import open_trajectory
    from ionscope.potential.ensemble import model_deviation

    traj = open_trajectory(shared_data / "lips-dft" / "beta-Li3PS4")
    near = model_deviation(tiny_models, traj, stop=5)
    assert near["max_devi_f"].shape == (5,) and np.all(near["max_devi_f"] > 0)
    # a squeezed cell (atoms 30 % closer) is outside the training data: larger deviation
    squeezed = traj.atoms(0)
    squeezed.set_cell(squeezed.cell * 0.7, scale_atoms=True)
    write(tmp_path / "squeezed.extxyz", [squeezed])
    far = model_deviation(tiny_models, open_trajectory(tmp_path / "squeezed.extxyz"))
    assert far["max_devi_f"][0] > near["max_devi_f"].max()


def _write_npy_system(root, coords, boxes, types):
    """A labelled DeePMD npy system (zero labels) of the given frames."""
    (root / "set.000").mkdir(parents=True)
    (root / "type.raw").write_text("\n".join(map(str, types)) + "\n")
    (root / "type_map.raw").write_text("Li\nP\nS\n")
    n = len(coords)
    np.save(root / "set.000" / "coord.npy", coords.reshape(n, -1))
    np.save(root / "set.000" / "box.npy", boxes.reshape(n, 9))
    np.save(root / "set.000" / "energy.npy", np.zeros(n))
    np.save(root / "set.000" / "force.npy", np.zeros_like(coords).reshape(n, -1))


@pytest.mark.deepmd
def test_min_neighbor_distance_is_deepmds_and_counts_periodic_images(tmp_path):
    pytest.importorskip("deepmd")
    from deepmd.pt.utils.update_sel import UpdateSel
    from deepmd.utils.data_system import get_data

    from ionscope.potential.deepmd import min_neighbor_distance

    rng = np.random.default_rng(3)
    box = np.tile(np.diag([7.0, 7.5, 8.0]), (4, 1, 1))
    coords = rng.uniform(0, 7, size=(4, 12, 3))
    coords[2, 5] = coords[2, 4] + [1.3, 0.0, 0.0]           # the closest pair, inside the cell
    _write_npy_system(tmp_path / "random", coords, box, rng.integers(0, 3, 12))
    ours = min_neighbor_distance([tmp_path / "random"])
    data = get_data({"systems": [str(tmp_path / "random")], "batch_size": 1}, 0, ["Li", "P", "S"], None)
    assert ours == pytest.approx(UpdateSel().get_min_nbor_dist(data), abs=1e-9)
    assert ours <= 1.3 + 1e-12
    # one atom in a 2.9 Å cube: its only neighbours are its own periodic images
    _write_npy_system(tmp_path / "single", np.zeros((1, 1, 3)), np.diag([2.9] * 3)[None], [0])
    assert min_neighbor_distance([tmp_path / "single"]) == pytest.approx(2.9)


@pytest.mark.deepmd
@pytest.mark.slow
def test_the_bundled_deepmd_model_compresses_from_an_empty_cache(tmp_path, monkeypatch, shared_data):
    """Its training skipped DeePMD's neighbour statistics; the frozen file carries the minimum
    neighbour distance, so a fresh machine can compress it (CI once failed here)."""
    pytest.importorskip("deepmd")
    from deepmd.infer import DeepPot

    from ionscope.io.deepmd_npy import load_system
    from ionscope.potential.bundled import bundled_model, model_card

    monkeypatch.setenv("IONSCOPE_CACHE", str(tmp_path))
    compressed = bundled_model("deepmd-paper", compressed=True)
    assert compressed.parent == tmp_path and compressed.stat().st_size > 0
    frozen = bundled_model("deepmd-paper")
    import deepmd.pt.cxx_op  # noqa: F401  (registers DeePMD's TorchScript operators)
    import torch

    assert torch.jit.load(str(frozen)).get_min_nbor_dist() == pytest.approx(
        model_card("deepmd-paper")["min_nbor_dist"])
    data = load_system(shared_data / "lips-dft" / "beta-Li3PS4")
    types = data["types"]   # the data's type map is the model's (Li, P, S)
    e0, f0, _ = DeepPot(str(frozen)).eval(data["coord"][:2], data["box"][:2], types)
    e1, f1, _ = DeepPot(str(compressed)).eval(data["coord"][:2], data["box"][:2], types)
    assert np.allclose(e0, e1, atol=1e-6) and np.allclose(f0, f1, atol=1e-5)
