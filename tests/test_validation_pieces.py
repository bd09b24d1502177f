"""``validation/study/pieces.py``: the finished pieces of the validation study survive a move
to a new machine without their bulk (dumps, restarts, logs, trajectories no task reads)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

PIECES_PY = Path(__file__).resolve().parents[1] / "validation" / "study" / "pieces.py"


def _load(tmp_path):
    spec = importlib.util.spec_from_file_location("pieces", PIECES_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.PIECES = tmp_path / "pieces"
    return module


def _task(folder: Path, files: dict[str, str], finished: bool = True) -> None:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    if finished:
        (folder / "ionscope-task.json").write_text(json.dumps({"hash": folder.name}))


def test_save_drops_the_bulk_and_restore_brings_back_every_finished_piece(tmp_path):
    pieces = _load(tmp_path)
    run = tmp_path / "run"
    T = pieces.load_study(pieces.STUDY).analysis.softness_T
    md = {"run.json": "{}", "final.data": "x", "dump.lammpstrj": "big", "log.lammps": "big",
          "restart.1000": "big", "trajectory.h5": "frames"}
    _task(run / "glass" / f"md-{T:g}K", md)                      # read by the softness tasks
    _task(run / "glass" / "md-900K", md)                         # analysed: trajectory dropped
    _task(run / "glass" / "analysis-900K", {"summary.json": "{}", "msd.csv": "t,msd"})
    _task(run / "glass" / "md-1000K.partial", md, finished=False)       # no stage.json yet
    _task(run / "glass" / "vdos-800K", md)                       # not analysed yet: kept
    _task(run / "glass" / "prepare", md)                         # the quench: no task reads it
    running = {"stage.json": "{}", "data.lmp": "start", "in.lammps": "run",
               "ionscope-task.hash": "h", "restart.1000": "old", "restart.2000": "new",
               "dump.lammpstrj": "frames so far", "log.lammps": "thermo so far"}
    _task(run / "beta" / "md-700K.partial", running, finished=False)
    saved = pieces.save(run)
    assert len(saved) == 6
    assert (pieces.PIECES / "glass" / "vdos-800K" / "trajectory.h5").exists()
    assert not (pieces.PIECES / "glass" / "prepare" / "trajectory.h5").exists()
    partial = pieces.PIECES / "beta" / "md-700K.partial"
    assert sorted(p.name for p in partial.iterdir()) == [
        "data.lmp", "dump.lammpstrj.gz", "in.lammps", "ionscope-task.hash", "log.lammps.gz",
        "restart.2000", "stage.json"]
    kept = pieces.PIECES / "glass" / f"md-{T:g}K"
    assert sorted(p.name for p in kept.iterdir()) == ["final.data", "ionscope-task.json",
                                                      "run.json", "trajectory.h5"]
    assert not (pieces.PIECES / "glass" / "md-900K" / "trajectory.h5").exists()
    assert (pieces.PIECES / "glass" / "analysis-900K" / "msd.csv").read_text() == "t,msd"

    fresh = tmp_path / "new-machine"
    _task(fresh / "glass" / "md-900K", {"run.json": "{}", "trajectory.h5": "newer"})
    restored = pieces.restore(fresh)
    assert sorted(p.relative_to(fresh).as_posix() for p in restored) == [
        "beta/md-700K.partial", "glass/analysis-900K", f"glass/md-{T:g}K", "glass/prepare",
        "glass/vdos-800K"]
    resumed = fresh / "beta" / "md-700K.partial"
    assert (resumed / "dump.lammpstrj").read_text() == "frames so far"
    assert (resumed / "restart.2000").read_text() == "new" and not list(resumed.glob("*.gz"))
    assert (fresh / "glass" / "md-900K" / "trajectory.h5").read_text() == "newer"   # left alone
    assert (fresh / "glass" / f"md-{T:g}K" / "ionscope-task.json").read_text() == \
        (run / "glass" / f"md-{T:g}K" / "ionscope-task.json").read_text()


def test_a_saved_partial_stage_goes_once_its_piece_has_finished(tmp_path):
    pieces = _load(tmp_path)
    run = tmp_path / "run"
    _task(run / "beta" / "md-700K.partial", {"stage.json": "{}", "data.lmp": "", "in.lammps": "",
                                             "ionscope-task.hash": "h", "restart.10": "state"},
          finished=False)
    pieces.save(run)
    assert (pieces.PIECES / "beta" / "md-700K.partial").exists()
    (run / "beta" / "md-700K.partial").rename(run / "beta" / "md-700K")
    (run / "beta" / "md-700K" / "ionscope-task.json").write_text("{}")
    pieces.save(run)
    assert not (pieces.PIECES / "beta" / "md-700K.partial").exists()
    assert (pieces.PIECES / "beta" / "md-700K" / "ionscope-task.json").exists()


def test_every_committed_md_piece_is_still_the_studys(shared_data):
    """The committed MD pieces (hours of CPU each) carry the hashes that the study file and this
    code give their tasks: a change that re-hashed them would make the next run start the
    validation study's MD again. (The glass's dft-reference task hashes ../shared's frames.)"""
    from ionscope.workflow.pipeline import task_hashes
    from ionscope.workflow.run import build_tasks

    pieces = _load(Path("unused"))
    tasks = {t.key: t for t in build_tasks(pieces.load_study(pieces.STUDY))}
    hashes = task_hashes(tasks)
    root = PIECES_PY.parent / "pieces"
    finished = {str(m.parent.relative_to(root)): json.loads(m.read_text())["hash"]
                for m in root.rglob("ionscope-task.json")}
    started = {str(m.parent.relative_to(root)).removesuffix(".partial"): m.read_text()
               for m in root.rglob("ionscope-task.hash")}
    md = {key: h for key, h in {**finished, **started}.items() if tasks[key].prepare is not None}
    assert len(md) >= 20
    assert {key for key, h in md.items() if hashes[key] != h} == set()
