"""MD stages in LAMMPS with the DeePMD plugin: input generation, conservation, thermostat and
barostat, frozen regions, restart/resume after a kill, and MPI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ionscope.data import crystal
from ionscope.md import Stage, protocols, render_input, run_stage
from ionscope.potential import Potential


def test_render_input_schedule_and_resume():
    pot = Potential("lj", "lj/cut 5.0", ["Li", "P", "S"])
    stage = Stage(protocols.nvt(300, 1.0) + protocols.melt_quench(1500, 1.0, 1200.0, 300, 1.0,
                                                                  ensemble="npt"),
                  timestep_fs=0.5, seed=7)
    text = render_input(stage, pot, ["Li", "P", "S"], None, has_frozen=False)
    assert "velocity mobile create 300 7 dist gaussian" in text
    assert "run 2000 upto start 0 stop 2000" in text
    assert "fix integrate all npt temp 1500 300" in text and "aniso 1.0 1.0" in text
    assert stage.total_steps == 2000 + 2000 + 2000 + 2000
    resumed = render_input(stage, pot, ["Li", "P", "S"], (__import__("pathlib").Path("restart.3000"), 3000),
                           has_frozen=False)
    assert "read_restart restart.3000" in resumed and "velocity" not in resumed
    assert "run 2000 upto" not in resumed and "run 4000 upto start 2000 stop 4000" in resumed
    frozen = render_input(Stage(protocols.glass_ceramic(1500, 1.0, 1200.0, 300, 1.0)), pot,
                          ["Li", "P", "S"], None, has_frozen=True)
    assert "group frozen id <= ${n_frozen}" in frozen
    assert "fix integrate mobile nvt" in frozen and "fix freeze frozen setforce 0.0 0.0 0.0" in frozen
    assert "fix integrate all npt" in frozen



def test_one_timestep_default_unit_and_json_round_trip():
    """The timestep has one default (fs) shared by stages, studies, exploration and the physics
    checks, one conversion to ps, and a stage survives its JSON round trip unchanged."""
    import inspect

    from ionscope.md import DEFAULT_TIMESTEP_FS
    from ionscope.workflow.potential_checks import validate_physics
    from ionscope.workflow.learn import LearnSettings
    from ionscope.workflow.study import MDSpec

    defaults = {Stage([]).timestep_fs, MDSpec(temperatures=[600], production_ps=1).timestep_fs,
                LearnSettings().timestep_fs,
                inspect.signature(validate_physics).parameters["timestep_fs"].default}
    assert defaults == {DEFAULT_TIMESTEP_FS}
    stage = Stage(protocols.nvt(np.float64(300), 0.2) + protocols.npt(300, 1.0, P=(1.0, 2.0, 3.0)),
                  timestep_fs=0.5, seed=np.int64(3))
    assert stage.timestep_ps == 0.0005 and stage.steps(1.0) == 2000
    assert stage.ns_per_day(2000, 86400.0) == pytest.approx(1e-3)
    again = Stage.from_json(json.loads(json.dumps(stage.to_json())))
    assert again == stage and again.segments[1]["P"] == [1.0, 2.0, 3.0]
    pot = Potential("lj", "lj/cut 5.0", ["Li", "P", "S"])
    assert "timestep 0.0005\n" in render_input(again, pot, ["Li", "P", "S"], None, has_frozen=False)
    with pytest.raises(ValueError, match="stage.json: not a stage .*'timestep'"):
        Stage.from_json({"segments": [], "timestep": 0.5}, source="stage.json")
    with pytest.raises(ValueError, match="timestep_fs must be a positive number, got 0"):
        Stage([], timestep_fs=0)


def test_a_stage_that_differs_from_its_stage_json_is_refused(tmp_path):
    """A Stage given for a folder prepared (or half run, or finished) with another one is an
    error naming stage.json and the settings that differ, never silently preferred."""
    from ionscope.md import prepare_stage
    from ionscope.potential import bundled_potential
    from ionscope.potential.lammps_eval import find_executable
    from ionscope.structures import crystal_supercell

    pot, atoms = bundled_potential("pod-fast"), crystal_supercell("beta-Li3PS4", target_atoms=64)
    stage = Stage(protocols.npt(600, 0.02, P=(1.0, 1.0, 1.0)), timestep_fs=1.0, seed=5,
                  dump_every_ps=0.01, thermo_every_ps=0.01)
    other = Stage(protocols.npt(600, 0.02, P=(1.0, 1.0, 1.0)), timestep_fs=0.5, seed=5,
                  dump_every_ps=0.01, thermo_every_ps=0.01)
    folder = prepare_stage(tmp_path / "s", stage, pot, atoms)
    with pytest.raises(ValueError, match=r"s/stage.json: the Stage given differs .* in timestep_fs"):
        run_stage(folder, other, progress=False)
    (folder / "restart.10").write_bytes(b"a restart file of a killed run")
    with pytest.raises(ValueError, match="differs from the one this folder was prepared with"):
        run_stage(folder, other, pot, atoms, progress=False)
    (folder / "restart.10").unlink()
    if find_executable("lmp") is None:
        pytest.skip("LAMMPS is not installed")
    done = run_stage(folder, stage, pot, progress=False)    # the same stage (its P a tuple) runs
    from ionscope.io import open_trajectory

    np.testing.assert_allclose(open_trajectory(done.trajectory).times(), [0.0, 0.01, 0.02])
    with pytest.raises(ValueError, match="in timestep_fs"):
        run_stage(folder, other, progress=False)
    assert run_stage(folder, stage, progress=False).record == done.record


@pytest.fixture(scope="module")
def small_crystal():
    return crystal("beta-Li3PS4").repeat((1, 2, 2))  # 128 atoms


@pytest.mark.deepmd
def test_nve_conserves_energy(tmp_path, potential):
    cell = crystal("beta-Li3PS4").repeat((1, 1, 2))     # 64 atoms: DeePMD costs ~1 ms/atom/step
    stage = Stage(protocols.nvt(300, 0.05) + protocols.nve(0.3), timestep_fs=0.5,
                  thermo_every_ps=0.005, dump_every_ps=0.1)
    res = run_stage(tmp_path / "nve", stage, potential, cell, progress=False)
    t, e = res.thermo["time"], res.thermo["toteng"]
    nve = t > 0.05 + 1e-9
    drift = np.polyfit(t[nve], e[nve], 1)[0] / len(cell)   # eV/atom/ps
    assert abs(drift) < 1e-3, f"NVE drift {drift:.2e} eV/atom/ps"
    assert np.std(e[nve]) / len(cell) < 1e-3


def test_nvt_and_npt_reach_their_targets(tmp_path, fast_potential, small_crystal):
    """Thermostat and barostat on the fastest potential (the DeePMD plugin's MD is exercised by
    the NVE and MPI tests here and by test_potential_physics.py; on it this test took 170 s of CI)."""
    potential = fast_potential
    stage = Stage(protocols.nvt(500, 1.0) + protocols.npt(500, 2.0, P=1.0), timestep_fs=1.0,
                  thermo_every_ps=0.01, seed=3)
    res = run_stage(tmp_path / "npt", stage, potential, small_crystal, progress=False)
    t, temp, press = res.thermo["time"], res.thermo["temp"], res.thermo["press"]
    nvt = (t > 0.3) & (t <= 1.0)
    npt = t > 1.5
    assert np.mean(temp[nvt]) == pytest.approx(500, rel=0.1)
    assert np.mean(temp[npt]) == pytest.approx(500, rel=0.1)
    # small-cell pressure fluctuates by kbar; its mean must be near 1 bar, within them
    assert abs(np.mean(press[npt]) - 1.0) < 2.5 * np.std(press[npt])
    record = json.loads((tmp_path / "npt" / "run.json").read_text())
    assert record["potential"]["sha256"] == potential.sha256
    assert record["parameters"]["seed"] == 3 and record["software"]["ionscope"]


def test_frozen_region_does_not_move(tmp_path, fast_potential):
    from ionscope.structures import glass_ceramic_cell

    potential = fast_potential

    gc = glass_ceramic_cell("beta-Li3PS4", crystal_fraction=0.5, repeat=(1, 1, 4))
    stage = Stage([dict(s, ps=0.1) for s in protocols.glass_ceramic(1500, 0.1, 1e6, 300, 0.0)[:1]],
                  timestep_fs=0.5, dump_every_ps=0.05)
    res = run_stage(tmp_path / "gc", stage, potential, gc, progress=False)
    from ionscope.io import open_trajectory

    traj = open_trajectory(res.trajectory)
    n_frozen = int(gc.arrays["frozen"].sum())
    first, last = traj.unwrapped()[[0, -1]]
    np.testing.assert_allclose(last[:n_frozen], first[:n_frozen], atol=1e-9)
    assert np.abs(last[n_frozen:] - first[n_frozen:]).max() > 0.05


def test_resume_after_kill_continues_the_trajectory(tmp_path, fast_potential, small_crystal):
    """Resuming is the stage machinery's, whatever the potential: the fastest one runs it."""
    potential = fast_potential
    stage = Stage(protocols.nvt(400, 0.6), timestep_fs=1.0, dump_every_ps=0.02,
                  restart_every_ps=0.1, seed=11)
    reference = run_stage(tmp_path / "ref", stage, potential, small_crystal, progress=False)
    # the same stage, killed after its second restart file, then resumed
    script = (f"from ionscope.md import Stage, run_stage, protocols\n"
              f"from ionscope.potential import bundled_potential\n"
              f"from ionscope.data import crystal\n"
              f"run_stage({str(tmp_path / 'cut')!r}, Stage(protocols.nvt(400, 0.6), timestep_fs=1.0,"
              f" dump_every_ps=0.02, restart_every_ps=0.1, seed=11),"
              f" bundled_potential('pod-fast'), crystal('beta-Li3PS4').repeat((1, 2, 2)),"
              f" progress=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and not (tmp_path / "cut" / "restart.200").exists():
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "cut" / "run.json").exists(), "the run finished before it was killed"
    resumed = run_stage(tmp_path / "cut", stage, potential, None, progress=False)
    assert resumed.record["resumed_from_step"] >= 200
    from ionscope.io import open_trajectory

    a, b = open_trajectory(reference.trajectory), open_trajectory(resumed.trajectory)
    assert len(a) == len(b) == 31
    np.testing.assert_array_equal(a.reader.steps, b.reader.steps)
    np.testing.assert_allclose(b.unwrapped(), a.unwrapped(), atol=1e-4)


@pytest.mark.deepmd
def test_two_mpi_ranks_agree_with_one(tmp_path, potential, small_crystal):
    if shutil.which("mpirun") is None:
        pytest.skip("no mpirun")
    stage = Stage(protocols.nvt(300, 0.02), timestep_fs=1.0, thermo_every_ps=0.005, seed=5)
    one = run_stage(tmp_path / "one", stage, potential, small_crystal, progress=False)
    two = run_stage(tmp_path / "two", stage, potential, small_crystal, mpi_ranks=2, progress=False)
    assert two.record["mpi_ranks"] == 2
    np.testing.assert_allclose(one.thermo["poteng"][0], two.thermo["poteng"][0], atol=1e-6)
    np.testing.assert_allclose(one.thermo["poteng"], two.thermo["poteng"], atol=1e-3)


def test_prepared_stage_and_slurm_script(tmp_path, capsys):
    from ionscope.cli import main
    from ionscope.md import prepare_stage
    from ionscope.md.stage import load_stage_spec

    pot = Potential("model", "deepmd /models/frozen.pth", ["Li", "P", "S"], [tmp_path / "m.pth"])
    stage = Stage(protocols.melt_quench(1500, 10, 2.5, 300, 10), seed=9)
    prepare_stage(tmp_path / "mq", stage, pot, crystal("beta-Li3PS4"))
    again, pot2, n_frozen = load_stage_spec(tmp_path / "mq")
    assert again == stage and pot2.pair_style == pot.pair_style and n_frozen == 0
    assert main(["md", "slurm", str(tmp_path / "mq"), "--ranks", "4", "--gpus", "4", "--time",
                 "12:00:00", "--partition", "gpu", "--setup", "module load cuda"]) == 0
    script = (tmp_path / "mq" / "job.sbatch").read_text()
    assert script.startswith("#!/bin/bash\n")
    for line in ("#SBATCH --ntasks=4", "#SBATCH --gpus-per-task=1", "#SBATCH --time=12:00:00",
                 "#SBATCH --partition=gpu", "module load cuda",
                 f"ionscope md run {(tmp_path / 'mq').resolve()} --mpi 4"):
        assert line in script
    if shutil.which("bash"):
        assert subprocess.run(["bash", "-n", str(tmp_path / "mq" / "job.sbatch")]).returncode == 0
    assert main(["md", "slurm", str(tmp_path / "nothing")]) == 2
    assert "no stage.json" in capsys.readouterr().err


def test_temperature_series_prepares_independent_stages(tmp_path):
    from ionscope.md import prepare_temperature_series
    from ionscope.md.stage import load_stage_spec

    pot = Potential("model", "deepmd /m.pth", ["Li", "P", "S"], [tmp_path / "m.pth"])
    dirs = prepare_temperature_series(tmp_path, crystal("beta-Li3PS4"), pot, [500, 600, 700],
                                      equilibrate_ps=5, production_ps=50, seed=10, timestep_fs=1.0)
    assert [d.name for d in dirs] == ["T500K", "T600K", "T700K"]
    seeds = []
    for d, T in zip(dirs, (500, 600, 700)):
        stage, _, _ = load_stage_spec(d)
        assert [s["ensemble"] for s in stage.segments] == ["npt", "nvt"]
        assert stage.segments[1]["T"] == T and stage.segments[1]["dump"] is True
        assert stage.segments[0]["dump"] is False
        seeds.append(stage.seed)
        assert (d / "data.lmp").exists()
    from ionscope.provenance import task_seed

    assert seeds == [task_seed(10, "series", f"{T}") for T in (500, 600, 700)]
    assert len(set(seeds)) == 3
    fewer = prepare_temperature_series(tmp_path / "two", crystal("beta-Li3PS4"), pot, [500, 700],
                                       equilibrate_ps=5, production_ps=50, seed=10)
    assert [load_stage_spec(d)[0].seed for d in fewer] == [seeds[0], seeds[2]]  # T's own seed


@pytest.mark.slow
def test_short_melt_quench_makes_a_glass(tmp_path, fast_potential, small_crystal):
    """128-atom β-Li3PS4 melted at 1500 K and quenched fast on the default potential:
    amorphous (no Bragg peaks), with PS4 still the majority unit."""
    potential = fast_potential
    from ionscope.analysis.structure import classify_units, crystallinity, xrd_pattern

    stage = Stage(protocols.melt_quench(T_high=1500, hold_ps=3.0, cool_rate=600.0, T_low=300,
                                        relax_ps=1.0, ensemble="nvt"), timestep_fs=1.0, seed=2,
                  dump_every_ps=0.5)
    res = run_stage(tmp_path / "mq", stage, potential, small_crystal, progress=False)
    glass = res.atoms
    pattern = xrd_pattern(glass)
    before = xrd_pattern(small_crystal)
    assert crystallinity(pattern.two_theta, pattern.intensity).crystallinity < 0.35
    assert crystallinity(before.two_theta, before.intensity).crystallinity > 0.8
    assert classify_units(glass)["p_fraction"]["PS4"] > 0.5


def test_a_moved_potential_is_repointed_and_another_one_refused(tmp_path, small_crystal):
    """A stage folder copied to another checkout resumes with the same model's files there; a
    different model is refused, naming the stage file."""
    from ionscope.md import prepare_stage, repoint_potential
    from ionscope.md.stage import load_stage_spec
    from ionscope.potential import bundled_potential

    pod = bundled_potential("pod-fast")
    stage = prepare_stage(tmp_path / "stage", Stage(protocols.nvt(600, 0.1)), pod, small_crystal)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for f in pod.files:
        shutil.copy(f, moved / f.name)
    spec = stage / "stage.json"
    spec.write_text(spec.read_text().replace(str(pod.files[0].parent), "/gone"))
    same = type(pod)(pod.name, pod.pair_style, pod.species, [moved / f.name for f in pod.files],
                     [a.replace(str(pod.files[0].parent), str(moved)) for a in pod.coeff_args])
    repoint_potential(stage, same)
    assert load_stage_spec(stage)[1].files == same.files
    with pytest.raises(ValueError, match=r"stage\.json: prepared with potential 'pod-fast'"):
        repoint_potential(stage, bundled_potential("nnsnap"))
