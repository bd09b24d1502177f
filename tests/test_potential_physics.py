"""The bundled DeePMD model (deepmd-paper) in LAMMPS: the physical checks it must pass, on a
128-atom cell at 300 K (as the checks of the default potential in test_default_potential.py)."""

from __future__ import annotations

import pytest

from conftest import TEST_MPI_RANKS


@pytest.fixture(scope="module")
def beta_checks(tmp_path_factory, potential):
    """2 ps of NPT at 1 bar and 300 K on 128-atom β-Li3PS4, and a 0.5 ps melt at 1500 K, on
    two MPI ranks when there are two cores."""
    from ionscope.workflow.potential_checks import validate_physics

    folder = tmp_path_factory.mktemp("deepmd-physics")
    return folder, validate_physics(potential, folder, temperatures=(300.0,), npt_ps=2.0,
                                    melt_ps=0.5, mpi_ranks=TEST_MPI_RANKS)


@pytest.mark.deepmd
@pytest.mark.slow
def test_bundled_model_keeps_the_pbe_d3_volume_and_bonds(beta_checks):
    _, result = beta_checks
    for name, run in result["runs"].items():
        if "lattice_deviation" in run:
            assert abs(run["volume_vs_dft"] - 1) <= 0.03, (name, run["lattice_lengths"])
            assert 2.03 <= run["ps_bond"] <= 2.10, (name, run["ps_bond"])
            assert 107 <= run["sps_peak"] <= 112, (name, run["sps_peak"])
        else:
            assert run["min_distance"] >= 1.2
    assert result["passed"]


@pytest.mark.deepmd
@pytest.mark.slow
def test_bundled_model_keeps_beta_a_crystal_of_ps4_at_300k(beta_checks):
    """Sheared (below) but still a crystal of PS4 tetrahedra: a thermal snapshot of the perfect
    crystal scores ~0.7, glasses < 0.35."""
    from ionscope.analysis.structure import classify_units, crystallinity, xrd_pattern
    from ionscope.md import load_stage

    folder, _ = beta_checks
    cold = load_stage(folder / "beta-npt-300K").atoms
    pattern = xrd_pattern(cold)
    assert crystallinity(pattern.two_theta, pattern.intensity).crystallinity > 0.5
    assert classify_units(cold)["p_fraction"]["PS4"] == 1.0


@pytest.mark.deepmd
@pytest.mark.slow
@pytest.mark.xfail(reason="the retrained deepmd-paper keeps PBE-D3's volume but shears β-Li3PS4 "
                          "(a +5 %, b -8 % against the CIF at 300 K; XRD crystallinity 0.58-0.66 "
                          "at 300 K, 0.40 at 600 K: its card, README.md)", strict=True)
def test_bundled_model_keeps_beta_crystalline(beta_checks):
    from ionscope.analysis.structure import crystallinity, xrd_pattern
    from ionscope.md import load_stage

    folder, _ = beta_checks
    cold = xrd_pattern(load_stage(folder / "beta-npt-300K").atoms)
    assert crystallinity(cold.two_theta, cold.intensity).crystallinity > 0.7


@pytest.mark.deepmd
def test_bundled_model_card_and_validation_table():
    from ionscope.potential.bundled import DEEPMD_DEFAULT as DEFAULT
    from ionscope.potential.bundled import MODELS, model_card

    try:
        card = model_card(DEFAULT)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    assert card["type_map"] == ["Li", "P", "S"]
    assert "ionscope potential train" in card["command"]
    assert (MODELS / DEFAULT / "validation.md").exists()
    overall = card["validation"]["overall"]
    last_row = (MODELS / DEFAULT / "validation.md").read_text().strip().splitlines()[-1]
    assert f"{overall['force_rmse_meV_A']:.1f}" in last_row
    assert f"{overall['energy_rmse_meV_atom']:.2f}" in last_row
    from ionscope.provenance import sha256_file

    assert card["frozen_sha256"] == sha256_file(MODELS / DEFAULT / "frozen.pth")
    # retrained on the curated data (#14 §3): better than the first model's 378 meV/Å
    assert "curated" in card["command"] and overall["force_rmse_meV_A"] < 378
