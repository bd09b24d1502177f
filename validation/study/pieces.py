"""Keep the finished pieces of the validation study in git, and put them back on a new machine.

    ionscope run validation/study/study.toml --out runs/validation     # runs until stopped
    python validation/study/pieces.py save runs/validation              # before a session ends
    python validation/study/pieces.py restore runs/validation           # on a new machine

A piece is a task folder whose marker (``ionscope-task.json``) says it finished. ``save``
copies every finished task folder into ``validation/study/pieces/``, leaving out what no later
task reads: LAMMPS dumps, restart files and logs. It keeps the H5MD trajectories of the
production runs at the softness temperature, because the softness model and its application
read them; every other trajectory (production or VDOS run) is dropped once the analysis at
its temperature has finished, and kept until then.

An MD stage still running (``KEY.partial``) is saved too, so that it resumes on another machine:
its small files (inputs, settings, the task's hash stamp), its newest restart file, and its
dump and log so far (gzipped). Stop ``ionscope run`` before ``save`` (SIGTERM; a
background job ignores SIGINT), so that no restart file is being written.

``restore`` copies the pieces back into a run folder (unzipping dumps and logs). The pipeline
finds the finished ones by their markers (content hashes of the study, potential and code
settings) and skips them, and resumes a partial stage from its restart file. A piece whose
hash no longer matches is run again, from its start.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
from pathlib import Path

from ionscope.md.lammps import newest_restart
from ionscope.workflow.layout import StudyLayout
from ionscope.workflow.pipeline import MARKER
from ionscope.workflow.study import load_study

HERE = Path(__file__).resolve().parent
PIECES = HERE / "pieces"
STUDY = HERE / "study.toml"
#: never needed again once a stage has finished (``run.json``, ``thermo.csv``, ``final.data``)
BULK = ("dump.lammpstrj", "log.lammps", "restart.*", ".ionscope.lock")
#: an unfinished stage's files that are saved gzipped (besides them: its newest restart file
#: and its small files, stage.json, data.lmp, in.lammps, the task's hash stamp)
ZIPPED = ("dump.lammpstrj", "log.lammps")


def _finished(run_dir: Path) -> list[Path]:
    return sorted(m.parent for m in run_dir.rglob(MARKER) if not m.parent.name.endswith(".partial"))


def _running(run_dir: Path) -> list[Path]:
    """Unfinished MD stages that have written a restart file."""
    return sorted(f.parent for f in run_dir.rglob("ionscope-task.hash")
                  if f.parent.name.endswith(".partial") and (f.parent / "stage.json").exists()
                  and newest_restart(f.parent) is not None)


def kept_trajectories(run_dir: Path) -> set[Path]:
    """The production runs that tasks read after their analysis: the softness tasks (every
    system at softness_T) and the DFT-reference tasks (their system at the lowest temperature)."""
    study = load_study(STUDY)
    T = study.analysis.softness_T or study.md.temperatures[0]
    return ({run_dir / StudyLayout.md(s.name, T) for s in study.systems}
            | {run_dir / StudyLayout.md(s.name, min(study.md.temperatures)) for s in study.systems
               if s.dft_reference is not None})


def _awaits_analysis(folder: Path) -> bool:
    """Whether a production or VDOS run's trajectory (``X/md-500K``, ``X/vdos-500K``) is still
    to be read by its analysis (``X/analysis-500K``, not finished yet)."""
    kind, _, tag = folder.name.partition("-")
    return kind in ("md", "vdos") and not (folder.parent / f"analysis-{tag}" / MARKER).exists()


def save(run_dir: Path) -> list[Path]:
    """Copy the finished task folders of ``run_dir`` into :data:`PIECES` (without bulk), and
    the unfinished MD stages with what they resume from."""
    keep = kept_trajectories(run_dir)
    saved = []
    for folder in _finished(run_dir):
        target = PIECES / folder.relative_to(run_dir)
        ignore = [*BULK] if folder in keep or _awaits_analysis(folder) else [*BULK, "trajectory.h5"]
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns(*ignore))
        shutil.rmtree(target.with_name(target.name + ".partial"), ignore_errors=True)
        saved.append(target)
    for folder in _running(run_dir):
        target = PIECES / folder.relative_to(run_dir)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns(*BULK))
        restart, _ = newest_restart(folder)
        shutil.copyfile(restart, target / restart.name)
        for name in ZIPPED:
            if (folder / name).exists():
                with open(folder / name, "rb") as src, gzip.open(target / f"{name}.gz", "wb") as dst:
                    shutil.copyfileobj(src, dst)
        saved.append(target)
    return saved


def restore(run_dir: Path) -> list[Path]:
    """Copy the saved pieces into ``run_dir`` where it holds neither the finished task nor an
    unfinished stage of its own."""
    restored = []
    for piece in _finished(PIECES):
        target = run_dir / piece.relative_to(PIECES)
        if (target / MARKER).exists():
            continue
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(piece, target)
        restored.append(target)
    for piece in _running(PIECES):
        target = run_dir / piece.relative_to(PIECES)
        finished = target.with_name(target.name.removesuffix(".partial"))
        if (finished / MARKER).exists() or target.exists():
            continue
        shutil.copytree(piece, target, ignore=shutil.ignore_patterns("*.gz"))
        for name in ZIPPED:
            if (piece / f"{name}.gz").exists():
                with gzip.open(piece / f"{name}.gz", "rb") as src, open(target / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        restored.append(target)
    return restored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["save", "restore"])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    done = (save if args.action == "save" else restore)(args.run_dir)
    for folder in done:
        print(folder)
    print(f"{args.action}: {len(done)} task folders", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
