"""A small content-addressed task graph: what ``ionscope run study.toml`` executes.

Every task has a key (its folder below the run directory, e.g. ``beta/md-600K``), the parameters
that define it, its input files and the tasks it depends on. Its hash is the SHA-256 of its kind,
parameters, the *content* of its input files and the hashes of its dependencies, so changing a
temperature, or editing a CIF, reruns what it touches and nothing else.

A task works in ``KEY.partial/``; only when it has finished is ``ionscope-task.json`` (with the
hash) written and the folder renamed to ``KEY/`` — a finished result is never replaced by a partial
one. A rerun skips tasks whose finished hash matches, continues an interrupted MD task in its
``.partial`` folder from the newest LAMMPS restart file, and starts afresh where the hash changed.
One ``ionscope run`` at a time works in a run directory, and a ``.partial`` folder that a
(left-over) LAMMPS still holds is neither reused nor deleted (:mod:`ionscope.md.guard`).

A task starts as soon as its dependencies are done. MD tasks (LAMMPS) go through an executor,
most urgent (earliest in the task list) first: in this process (``local``), a Dask cluster, or
dpdispatcher (local shell, SLURM, PBS, LSF; the stages ready together go as one submission).
Analysis tasks run in this process — while the executor's MD runs, so a finished temperature is
analysed and published while the others still run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from ..md import run_stage
from ..md.guard import Interrupted, folder_lock, request_stop, settle_runs
from ..provenance import atomic_write, sha256_file

MARKER = "ionscope-task.json"


@dataclass
class Task:
    """One task. Its dependencies are ``deps`` (keys), or ``roles`` (role → key, or role →
    {label: key}); then ``deps`` lists their keys in order and ``run`` / ``prepare`` get the
    finished folders under the same roles. Roles are names for the runner only: the hash sees
    the dependencies' hashes, in order."""

    key: str
    kind: str
    params: dict
    deps: list[str] = field(default_factory=list)
    run: Callable | None = None          # run(work_dir, deps) for in-process tasks
    prepare: Callable | None = None      # MD tasks: prepare(work_dir, deps) writes a stage folder
                                         # (or, resumed, points it at the potential's files)
    mpi_ranks: int = 1
    inputs: dict[str, Path] = field(default_factory=dict)   # files hashed by content
    roles: dict[str, str | dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.roles:
            if self.deps:
                raise ValueError(f"task {self.key}: give its dependencies as deps or roles, not both")
            self.deps = [k for key in self.roles.values()
                         for k in (key.values() if isinstance(key, dict) else [key])]


def map_roles(roles: dict[str, str | dict], folder: Callable[[str], Path]) -> dict:
    """``roles`` with every key replaced by ``folder(key)``."""
    return {role: ({label: folder(k) for label, k in key.items()} if isinstance(key, dict)
                   else folder(key)) for role, key in roles.items()}


def task_hashes(tasks: dict[str, Task]) -> dict[str, str]:
    hashes: dict[str, str] = {}

    def visit(key: str) -> str:
        if key not in hashes:
            t = tasks[key]
            content = {"kind": t.kind, "params": t.params, "deps": [visit(d) for d in t.deps]}
            if t.inputs:
                content["inputs"] = {name: sha256_file(f) for name, f in t.inputs.items()}
            payload = json.dumps(content, sort_keys=True, default=str)
            hashes[key] = hashlib.sha256(payload.encode()).hexdigest()
        return hashes[key]

    for key in tasks:
        visit(key)
    return hashes


def finished_hash(folder: Path) -> str | None:
    marker = folder / MARKER
    return json.loads(marker.read_text())["hash"] if marker.exists() else None


class Pipeline:
    """Run ``tasks`` in dependency order below ``run_dir`` with ``executor`` for MD tasks."""

    def __init__(self, run_dir: str | Path, tasks: list[Task], executor=None, log=print) -> None:
        self.run_dir = Path(run_dir)
        self.tasks = {t.key: t for t in tasks}
        missing = {d for t in tasks for d in t.deps} - set(self.tasks)
        if missing:
            raise ValueError(f"tasks depend on unknown tasks: {sorted(missing)}")
        self.hashes = task_hashes(self.tasks)
        self.executor = executor or LocalExecutor()
        self.log = log
        self.status: dict[str, str] = {}

    def folder(self, key: str) -> Path:
        return self.run_dir / key

    def run(self) -> dict[str, str]:
        """Execute everything that is not up to date; returns {key: 'skipped'|'ran'}."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with folder_lock(self.run_dir, "ionscope run"):
            return self._run_all()

    def _run_all(self) -> dict[str, str]:
        """Tasks start as soon as their dependencies are done: MD tasks go to the executor (in
        the order of the task list), and while they run, the ready in-process tasks (analyses)
        run here; each MD task is published the moment it finishes."""
        for key in self.tasks:
            if finished_hash(self.folder(key)) == self.hashes[key]:
                self.status[key] = "skipped"
        done = set(self.status)
        pending = [k for k in self.tasks if k not in done]
        order = {k: i for i, k in enumerate(self.tasks)}
        running: dict[str, str] = {}                       # stage folder → key
        with self.executor.open() as runner:
            try:
                while pending or running:
                    ready = [k for k in pending if all(d in done for d in self.tasks[k].deps)]
                    for key in [k for k in ready if self.tasks[k].prepare is not None]:
                        pending.remove(key)
                        work = self._prepare_md(key)
                        runner.submit(work, self.tasks[key].mpi_ranks, priority=-order[key])
                        running[str(work)] = key
                    runner.start()          # before the analyses: no worker idles meanwhile
                    local = [k for k in ready if self.tasks[k].prepare is None]
                    if local:
                        pending.remove(local[0])
                        self._run_local(local[0])
                        done.add(local[0])
                    elif running:
                        for work in runner.wait():
                            key = running.pop(str(work))
                            self._finish_md(key, Path(work))
                            done.add(key)
                    elif pending:
                        raise RuntimeError(f"dependency cycle among {pending}")
            except KeyboardInterrupt as exc:      # an Interrupted names what it stopped
                if not running:
                    raise
                stopped = _stopped_message(running, runner.not_started())
                raise Interrupted(f"{exc}; {stopped}" if isinstance(exc, Interrupted) else stopped) from None
        return self.status

    def _work_dir(self, key: str) -> Path:
        """``KEY.partial`` for this hash: kept (to resume) if it was started with the same hash."""
        work = self.run_dir / f"{key}.partial"
        stamp = work / "ionscope-task.hash"
        if work.exists() and (not stamp.exists() or stamp.read_text() != self.hashes[key]):
            with folder_lock(work, "ionscope run"):      # not while a LAMMPS still works in it
                shutil.rmtree(work)
        work.mkdir(parents=True, exist_ok=True)
        stamp.write_text(self.hashes[key])
        return work

    def _deps(self, key: str) -> dict:
        """The finished folders of a task's dependencies: by role, else by key."""
        task = self.tasks[key]
        if task.roles:
            return map_roles(task.roles, self.folder)
        return {d: self.folder(d) for d in task.deps}

    def _run_local(self, key: str) -> None:
        task = self.tasks[key]
        work = self._work_dir(key)
        self.log(f"[{key}] {task.kind}")
        started = time.perf_counter()
        try:
            task.run(work, self._deps(key))
        except KeyboardInterrupt:
            raise Interrupted(f"task {key} ({task.kind}) stopped; the finished tasks are kept") from None
        except Exception as exc:
            raise RuntimeError(f"task {key} ({task.kind}) failed in {work}: {exc}") from exc
        self._publish(key, work, time.perf_counter() - started)
        self.status[key] = "ran"

    def _prepare_md(self, key: str) -> Path:
        work = self._work_dir(key)
        self.tasks[key].prepare(work, self._deps(key))
        self.log(f"[{key}] {self.tasks[key].kind} → {self.executor.name}")
        return work

    def _finish_md(self, key: str, work: Path) -> None:
        if not (work / "run.json").exists():
            raise RuntimeError(f"MD stage {work} did not finish (no run.json); rerun to "
                               "resume it from its restart files")
        record = json.loads((work / "run.json").read_text())
        self._publish(key, work, record.get("wall_seconds") or 0.0)
        self.status[key] = "ran"
        self.log(f"[{key}] finished")

    def _publish(self, key: str, work: Path, seconds: float) -> None:
        """Mark ``work`` finished and move it into place; the old result goes only now."""
        (work / "ionscope-task.hash").unlink(missing_ok=True)
        with atomic_write(work / MARKER) as handle:
            json.dump({"key": key, "kind": self.tasks[key].kind, "hash": self.hashes[key],
                       "params": self.tasks[key].params, "deps": self.tasks[key].deps,
                       "seconds": seconds}, handle, indent=1, default=str)
        final = self.folder(key)
        if final.exists():
            old = final.with_name(final.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
            work.rename(final)
            shutil.rmtree(old)
        else:
            work.rename(final)


def _stopped_message(running: dict[str, str], not_started: set[str]) -> str:
    """What an interrupt left: the MD tasks it stopped part-way and those still queued."""
    stopped = [key for work, key in running.items() if work not in not_started]
    queued = [key for work, key in running.items() if work in not_started]
    parts = []
    if stopped:
        parts.append(f"MD tasks {', '.join(stopped)} stopped; they resume from their restart files")
    if queued:
        parts.append(f"MD tasks {', '.join(queued)} had not started")
    return "; ".join(parts)


def _run_stage_dir(stage_dir: str, mpi_ranks: int) -> str:
    run_stage(stage_dir, mpi_ranks=mpi_ranks, progress=False)
    return stage_dir


class _Executor:
    """An executor runs MD stage folders: ``with executor.open() as runner``, then
    ``runner.submit(folder, mpi_ranks, priority)`` (queued; higher priority first),
    ``runner.start()`` (start what can run in the background now) and ``runner.wait()``, which
    returns the folders that have finished since the last call (at least one);
    ``runner.not_started()`` names the folders still queued."""

    name = "?"

    def open(self):
        raise NotImplementedError

    def run_stages(self, stage_dirs: list[Path], ranks: list[int]) -> None:
        """Run ``stage_dirs`` (each on ``ranks`` MPI ranks) to the end."""
        with self.open() as runner:
            for d, n in zip(stage_dirs, ranks):
                runner.submit(d, n)
            left = len(stage_dirs)
            while left:
                left -= len(runner.wait())


class _Queue:
    """Submitted stages by priority (then submission order); ``wait`` runs the next one (or,
    with ``batch``, all of them) with ``run_batch`` and returns their folders."""

    def __init__(self, run_batch: Callable[[list[tuple[Path, int]]], list[Path]] | None = None,
                 batch: bool = False) -> None:
        self.queued: list[tuple[float, int, Path, int]] = []
        self.run_batch, self.batch, self.count = run_batch, batch, itertools.count()

    def submit(self, stage_dir: Path, mpi_ranks: int, priority: float = 0) -> None:
        self.queued.append((-priority, next(self.count), Path(stage_dir), mpi_ranks))

    def pop(self) -> list[tuple[Path, int]]:
        """The next stage (or, with ``batch``, every queued one) as (folder, ranks), removed."""
        self.queued.sort(key=lambda q: q[:2])
        chosen = self.queued if self.batch else self.queued[:1]
        self.queued = self.queued[len(chosen):]
        return [(d, n) for _, _, d, n in chosen]

    def not_started(self) -> set[str]:
        """The folders of the stages still queued."""
        return {str(d) for _, _, d, _ in self.queued}

    def start(self) -> None:
        """Nothing: queued stages run in :meth:`wait`."""

    def wait(self) -> list[Path]:
        return self.run_batch(self.pop())


class LocalExecutor(_Executor):
    """MD stages one after the other in this process, with progress bars."""

    name = "local"

    @contextmanager
    def open(self):
        def run_one(stages):
            for d, n in stages:
                run_stage(d, mpi_ranks=n, progress=True)
            return [d for d, _ in stages]

        yield _Queue(run_one, batch=False)


class DaskExecutor(_Executor):
    """MD stages as Dask tasks: a scheduler address, or a local cluster of ``workers`` threads
    (each task runs LAMMPS as a subprocess, so threads are enough); at most ``workers`` stages
    are in Dask at a time, the most urgent first."""

    name = "dask"

    def __init__(self, workers: int = 1, scheduler: str | None = None) -> None:
        self.workers, self.scheduler = workers, scheduler

    @contextmanager
    def open(self):
        from distributed import Client, LocalCluster

        if self.scheduler:
            client, cluster = Client(self.scheduler), None
        else:
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=False,
                                   dashboard_address=None)
            client = Client(cluster)
        bar = tqdm(total=0, desc="MD stages (dask)", unit="stage", mininterval=0 if sys.stderr.isatty() else 60)
        try:
            yield _DaskRunner(client, bar, self.workers)
        except BaseException:         # Ctrl-C / SIGTERM reach this thread only: stop the workers' runs
            request_stop()
            raise
        finally:
            bar.close()
            try:
                client.close()
                if cluster is not None:
                    cluster.close()
            finally:
                settle_runs()


class _DaskRunner:
    """At most ``slots`` stages in Dask at a time, the rest in this runner's queue by priority:
    Dask's own priorities do not reorder tasks it has already handed to a worker, so a stage
    submitted later (a VDOS run that finishes a temperature) would wait behind a long quench."""

    def __init__(self, client, bar, slots: int) -> None:
        self.client, self.bar, self.slots = client, bar, slots
        self.futures, self.queue = [], _Queue()

    def submit(self, stage_dir: Path, mpi_ranks: int, priority: float = 0) -> None:
        self.queue.submit(stage_dir, mpi_ranks, priority)
        self.bar.total += 1
        self.bar.refresh()

    def not_started(self) -> set[str]:
        return self.queue.not_started()

    def start(self) -> None:
        """Hand the most urgent queued stages to Dask while it has free slots."""
        while self.queue.queued and len(self.futures) < self.slots:
            self.futures += [self.client.submit(_run_stage_dir, str(d), n, pure=False)
                             for d, n in self.queue.pop()]

    def wait(self) -> list[Path]:
        from distributed import wait

        self.start()
        finished = wait(self.futures, return_when="FIRST_COMPLETED").done
        self.futures = [f for f in self.futures if f not in finished]
        self.bar.update(len(finished))
        return [Path(f.result()) for f in finished]      # a failed stage raises its error here


class DPDispatcherExecutor(_Executor):
    """MD stages as dpdispatcher tasks (``ionscope md run STAGE --mpi N``): a local shell by
    default; any dpdispatcher ``machine`` / ``resources`` (SLURM, PBS, LSF over SSH) otherwise."""

    name = "dpdispatcher"

    def __init__(self, run_dir: str | Path, workers: int = 1, machine: dict | None = None,
                 resources: dict | None = None) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.workers, self.machine, self.resources = workers, machine, resources

    def submission(self, stage_dirs: list[Path], ranks: list[int]):
        from dpdispatcher import Machine, Resources, Submission
        from dpdispatcher import Task as DPTask

        machine = Machine.load_from_dict(self.machine or {
            "batch_type": "Shell", "context_type": "LazyLocalContext",
            "local_root": str(self.run_dir)})
        resources = Resources.load_from_dict(self.resources or {
            "number_node": 1, "cpu_per_node": max(ranks), "gpu_per_node": 0, "queue_name": "",
            "group_size": max(1, math.ceil(len(stage_dirs) / self.workers))})
        tasks = [DPTask(command=f"ionscope md run . --mpi {n}",
                        task_work_path=str(Path(d).resolve().relative_to(self.run_dir)),
                        forward_files=[], backward_files=[], outlog="md.out", errlog="md.err")
                 for d, n in zip(stage_dirs, ranks)]
        return Submission(work_base=".", machine=machine, resources=resources, task_list=tasks)

    @contextmanager
    def open(self):
        def run_all(stages):        # every queued stage as one submission
            self.submission([d for d, _ in stages], [n for _, n in stages]).run_submission(check_interval=2)
            return [d for d, _ in stages]

        yield _Queue(run_all, batch=True)


def make_executor(spec, run_dir: Path):
    """The executor a study's ``[dispatch]`` table asks for."""
    if spec.backend == "dask":
        return DaskExecutor(spec.workers, spec.scheduler)
    if spec.backend == "dpdispatcher":
        return DPDispatcherExecutor(run_dir, spec.workers, spec.machine, spec.resources)
    return LocalExecutor()
